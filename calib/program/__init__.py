"""The calibration program on a schedule: a program file per team and an idempotent tick.

* :mod:`~calib.program.spec` — :class:`Program` (``parameters/programs/<team>.yaml``) and its
  calendar of cycles;
* :mod:`~calib.program.ledger` — every step of every cycle, recorded in the store;
* :mod:`~calib.program.steps` — what each step does (select, create, status, reveal, report);
* :mod:`~calib.program.tick` — one tick of one team, under the team's store lock;
* :mod:`~calib.program.rotation` — who holds the calibrator (expert evaluator) role each cycle:
  the file's schedule and the rotations applied in the store;
* :mod:`~calib.program.review` — the quarterly calibration of calibrators as the report step
  of a ``quarterly_review`` program, recording rotation proposals;
* :mod:`~calib.program.teams` — a tick of every team of a folder, and the calendar view.
"""

from calib.program.spec import (CADENCES, REVEAL_POLICIES, Cycle, Program, check_program,
                                program_files, read_program)
from calib.program.tick import Action, TickResult, due_steps, lock_name, next_due, tick

__all__ = ["Program", "Cycle", "read_program", "check_program", "program_files", "CADENCES",
           "REVEAL_POLICIES", "Action", "TickResult", "tick", "due_steps", "next_due",
           "lock_name"]
