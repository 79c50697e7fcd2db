"""The quarterly calibration of calibrators as a cycle of the leadership team's program.

A program of ``kind: quarterly_review`` (``parameters/programs/leadership.yaml``) runs like a
team's: each quarter it selects and creates the leadership calibrations (the teams'
calibrators and the QM leads score the same calls), lists who is late, reveals at the deadline.
Its report step is this review instead of the monthly report:

1. sync the quarter (the cycle's month and the two before) of the leadership team and of every
   team its ``review_programs`` name, into the store;
2. :func:`calib.quarterly.quarter_review` over the store's open scores, the calibrators under
   review being the experts who hold each team's role now (file, schedule or rotation);
3. for each flagged calibrator, a rotation **proposal** recorded in the store
   (:func:`calib.program.rotation.propose`): the reviewed team's next expert is the member the
   review names. Nothing changes until ``calib program rotate <team's file> --yes`` applies it;
4. ``review.html`` (the review's section) and ``review.md`` (the proposal in words) in the
   cycle's folder.

On the sandbox the leadership team is the org's team ``leadership`` (Morgan Lee calibrator,
Priya Nair expert, the demo and north calibrators on the panel): ``team: leadership`` in the
program file names it, as any team is named.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from calib.program.rotation import applied_rotations, cycle_for, propose
from calib.program.spec import Program, read_program
from calib.program.steps import CycleRun, _write_atomically
from calib.quarterly import quarter_review, section_html
from calib.sessions.plan import user_ids_by_email
from calib.sessions.steps import people
from calib.sync import sync_months

__all__ = ["review", "reviewed_programs", "quarter_months"]


def quarter_months(month: str) -> list[str]:
    """The quarter a review cycle of ``month`` covers: that month and the two before."""
    last = pd.Period(month, freq="M")
    return [str(last - k) for k in (2, 1, 0)]


def reviewed_programs(program: Program) -> list[Program]:
    """The team programs ``review_programs`` names (paths relative to the program's file)."""
    folder = Path(program.source).parent
    found = []
    for name in program.review_programs:
        path = Path(name) if Path(name).is_absolute() else folder / name
        if not path.is_file():
            raise ValueError(f"{program.source}: review_programs names {name!r}, which is not a "
                             f"file next to it ({path}); list the teams' program files.")
        found.append(read_program(path))
    kinds = [p.source for p in found if p.kind != "team"]
    if kinds:
        raise ValueError(f"{program.source}: review_programs lists {', '.join(kinds)}, which "
                         f"is not a team's program.")
    return found


def review(run: CycleRun, calibration_ids: list[str]) -> tuple[str, str, dict[str, Any]]:
    """The calibration of calibrators of this quarter; records its rotation proposal(s)."""
    p, cycle, store = run.program, run.cycle, run.store
    client = run.backend.client
    months = quarter_months(run.plan.month)
    teams = reviewed_programs(p)
    sync_months(client, store, team=p.team, months=months, calibrators=[cycle.calibrator_email])
    # expert id -> the teams whose role they hold now (one person may hold two teams' roles)
    experts: dict[str, list[tuple[Program, str]]] = {}
    for team in teams:
        sync_months(client, store, team=team.team, months=months,
                    calibrators=[team.calibrator_email])
        now_index = team.cycle_index(run.now) or 0
        email = cycle_for(team, now_index, applied_rotations(store, team.team)).expert_email
        [expert_id] = user_ids_by_email(client, [email])
        experts.setdefault(expert_id, []).append((team, email))
    scores = store.scores()
    lead = scores[(scores["team"] == p.team) & scores["month"].isin(months)
                  & (scores["status"] == "FINISHED")]
    reviewed = [i for i in experts if i in set(lead["evaluator_id"].astype(str))]
    absent = [experts[i][0][1] for i in experts if i not in reviewed]
    note = (f" Not reviewed (no finished leadership evaluation this quarter): "
            f"{', '.join(absent)}." if absent else "")
    if not reviewed:
        text = (f"No calibrator of {', '.join(t.team for t in teams)} finished a leadership "
                f"calibration in {', '.join(months)}; no review and no proposal.{note}")
        _write_atomically(run.folder / "review.md", text + "\n")
        return "done", text, {"months": months, "proposals": [], "absent": absent}
    result = quarter_review(scores, months=months, leadership_team=p.team,
                            calibrator_ids=reviewed, threshold=p.review_threshold)
    proposals = []
    if result.next_calibrator is not None:
        who = people(client, [result.next_calibrator]).iloc[0]
        for flagged in result.flagged_ids:
            for team, old in experts[flagged]:
                rotation_id, created = propose(
                    store, team.team, str(who["email"]), expert_name=str(who["name"]),
                    source=f"{p.team} quarterly review {cycle.label}", reason=result.rotation)
                proposals.append({"rotation_id": rotation_id, "team": team.team, "from": old,
                                  "to": str(who["email"]), "to_name": str(who["name"]),
                                  "new": created, "file": team.source})
    title = f"{p.team} quarterly review {cycle.label} ({', '.join(months)})"
    _write_atomically(run.folder / "review.html",
                      f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
                      + section_html(result, title=f"Calibration of calibrators: {title}"))
    lines = [f"# {title}", "", result.rotation]
    lines += [f"- Proposal #{r['rotation_id']}: team {r['team']}'s expert {r['from']} → "
              f"{r['to_name']} <{r['to']}>; apply with `calib program rotate {r['file']} "
              f"--yes`." for r in proposals]
    _write_atomically(run.folder / "review.md", "\n".join(lines) + "\n")
    flagged = ", ".join(experts[f][0][1] for f in result.flagged_ids) or "nobody"
    said = "; ".join(f"#{r['rotation_id']} {r['team']}: {r['from']} → {r['to']}"
                     for r in proposals)
    return ("done", f"Reviewed {len(reviewed)} calibrator(s) over {', '.join(months)}; flagged: "
                    f"{flagged}. " + (f"Rotation proposed ({said}); apply it with calib "
                                      f"program rotate --yes." if proposals else
                                      "No rotation proposed.") + note,
            {"months": months, "flagged": [experts[f][0][1] for f in result.flagged_ids],
             "rotation": result.rotation, "proposals": proposals, "absent": absent,
             "html": str(run.folder / "review.html")})
