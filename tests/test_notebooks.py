"""The notebooks run: each with its defaults, and the report with the fixture parameter sets.

The report's summary JSON is checked against the statistics functions run on the same store, so
a number in the summary can only be right if the report used calib's statistics on the data the
gate let through. Rendering the report is the expensive part (a kernel, a sandbox, a sync, the
figures), so the four fixture sets render once, two at a time, for the whole module.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from calib.render.html import offline_problems
from calib.render.runner import render_many
from calib.verdicts import build_verdicts

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "tests" / "params"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

REPORT = ROOT / "notebooks" / "04_monthly_report.ipynb"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Render the four fixture parameter sets in one parallel call, into a store of their own."""
    import os

    outputs = tmp_path_factory.mktemp("outputs")
    names = ["complete", "gate-closed", "single-calibration", "missing-history"]
    saved = os.environ["CALIB_STORE_URL"]
    os.environ["CALIB_STORE_URL"] = f"sqlite:///{outputs / 'calib.sqlite'}"
    try:
        results = render_many([PARAMS / f"{n}.yaml" for n in names], jobs=2, notebook=REPORT,
                              outputs_root=outputs)
    finally:
        os.environ["CALIB_STORE_URL"] = saved
    return {"outputs": outputs, **{n: r for n, r in zip(names, results)}}


def store_for(rendered: dict, clock=None):
    from calib.store import Store

    return Store(f"sqlite:///{rendered['outputs'] / 'calib.sqlite'}", clock=clock)


def summary(result) -> dict:
    return json.loads(result.summary.read_text())


def test_complete_month_summary_matches_the_statistics(rendered):
    from calib import stats
    from calib.stats.variance import calibration_variance

    s = summary(rendered["complete"])
    assert s["gate"] == "open" and s["team"] == "demo" and s["month"] == "2026-10"
    with store_for(rendered) as store:
        scores = store.scores("demo", "2026-10")
    finished = scores[scores["status"] == "FINISHED"]
    icc = stats.icc(finished, missing="drop_interactions").set_index("type")
    for label in ("ICC(A,1)", "ICC(C,1)"):
        assert s["reliability"][label]["value"] == pytest.approx(icc.loc[label, "icc"])
        assert s["reliability"][label]["ci_low"] == pytest.approx(icc.loc[label, "ci_low"])
    alpha = stats.krippendorff_alpha(finished, n_boot=1000, seed=0)
    assert s["reliability"]["alpha"]["value"] == pytest.approx(alpha.alpha)
    assert s["reliability"]["alpha"]["ci_low"] == pytest.approx(alpha.ci_low)
    tiers = calibration_variance(scores).table["tier"].value_counts()
    assert s["tiers"] == {t: int(tiers.get(t, 0)) for t in ("aligned", "discuss", "full_session")}
    with store_for(rendered) as store:
        window = store.scores("demo", s["months"])
    verdicts = build_verdicts(window, month="2026-10", bias_threshold=3.0, drift_threshold=10.0)
    flagged = {(v.evaluator_id, "consensus") for v in verdicts.evaluators if v.flagged}
    flagged |= {(e.expert_id, e.reference) for e in verdicts.experts if e.flagged}
    assert flagged, "the demo month has lenient and harsh evaluators to list"
    assert {(f["evaluator_id"], f["reference"]) for f in s["flagged_evaluators"]} == flagged
    assert s["completion"] == {"assigned": 42, "finished": 42, "overdue": 0}


def test_complete_month_html_has_every_section_in_order_and_works_offline(rendered):
    page = rendered["complete"].html.read_text()
    assert offline_problems(page) == []
    order = ["Calibration report — demo, 2026-10", "Headline", "Who scores high or low", "Calls",
             "Questions that split the panel", "Discussion agenda", "Appendix"]
    positions = [page.find(f">{title}</h") for title in order]
    assert all(p > 0 for p in positions), dict(zip(order, positions))
    assert positions == sorted(positions), "sections must come in the report's order"
    assert page.count('src="data:image/png;base64,') >= 6
    assert "load_month" not in page, "no code in the report"


def test_gate_closed_shows_completion_only(rendered):
    s = summary(rendered["gate-closed"])
    assert s["gate"] == "closed"
    assert s["reliability"] == {} and s["tiers"] == {} and s["flagged_evaluators"] == []
    with store_for(rendered, clock=lambda: datetime(2026, 11, 9, 9, tzinfo=timezone.utc)) as store:
        status = store.status("demo", "2026-11")
    assert s["completion"]["assigned"] == len(status)
    assert s["completion"]["finished"] == int((status["status"] == "finished").sum())
    page = rendered["gate-closed"].html.read_text()
    assert "Completion by evaluator" in page
    assert "<img" not in page and ">Calls</h" not in page, "no score may leak while sealed"


def test_single_calibration_reports_what_cannot_be_computed(rendered):
    s = summary(rendered["single-calibration"])
    assert s["n_calibrations"] == 1 and s["gate"] == "open"
    assert any(k.startswith("icc") for k in s["problems"]), s["problems"]
    page = rendered["single-calibration"].html.read_text()
    assert "Not computed" in page and offline_problems(page) == []


def test_missing_history_is_reported_not_fatal(rendered):
    s = summary(rendered["missing-history"])
    assert len(s["months"]) == 9 and s["months"][-1] == "2026-10"
    page = rendered["missing-history"].html.read_text()
    assert "No open calibration in 3 of the 9 history month(s)" in page
    assert s["reliability"]["ICC(A,1)"]["n_calls"] == 5


def test_complete_fixture_is_the_report_notebooks_defaults():
    """So the 'complete' render above is also the report notebook's run with its defaults."""
    from calib.render.contract import load, notebook_parameters

    report = ROOT / "notebooks" / "04_monthly_report.ipynb"
    defaults = {k: p.default for k, p in notebook_parameters(report).items()}
    assert load(PARAMS / "complete.yaml", report) == defaults


@pytest.mark.parametrize("notebook", [n for n in NOTEBOOKS if n.name != "04_monthly_report.ipynb"],
                         ids=lambda p: p.name)
def test_notebook_runs_with_its_defaults(notebook, tmp_path, monkeypatch):
    import papermill

    monkeypatch.setenv("CALIB_STORE_URL", f"sqlite:///{tmp_path / 'calib.sqlite'}")
    out = tmp_path / notebook.name
    papermill.execute_notebook(str(notebook), str(out), kernel_name="python3",
                               progress_bar=False, cwd=str(notebook.parent))
    executed = nbformat.read(out, as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
