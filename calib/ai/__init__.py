"""Genesys AI scoring, calibrated like one more evaluator (issue 15).

* :mod:`calib.ai.tables` — the tidy ``ai_runs`` and ``ai_answers`` tables (what the store, the
  sync, the sandbox and the interchange files exchange);
* :mod:`calib.ai.analysis` — per AI-enabled question: agreement with the expert and the panel,
  kept versus overrode, the AI's total-score bias, failures, the trend and a verdict in words.

Importing this package is cheap; the analysis imports the statistics only when used.
"""
