"""The session steps from parameters and a backend: select, plan, create, follow. Shared by the ``calib select``,
``calib create`` and ``calib status`` verbs, notebooks 01 and 02 and the session-setup widget.

Backends and stores come from :mod:`calib.context`; this module adds what the steps need on top:
the selection parameters, where plans live (``parameters/sessions/``, one folder for the
command line, the notebooks and the widget), and the names behind the ids a person reads.

>>> with open_backend("sandbox") as backend:                                 # doctest: +SKIP
...     selection, plan = select_session(backend, read_select_params(path))
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from calib.context import Backend, open_backend, project_path
from calib.selection import (CANDIDATE_COLUMNS, FUNNEL_COLUMNS, MIN_AGENTS, Selection,
                             select_candidates)
from calib.sessions.include import included_candidates
from calib.sessions.plan import SessionPlan, plan_file_name, published_form_id, user_ids_by_email
from calib.values import ParameterError, check_month, check_team, read_yaml

__all__ = ["SELECT_KEYS", "PLANS_DIR", "check_select_params", "read_select_params",
           "select_session", "store_history", "plan_path", "open_backend", "people", "with_people",
           "late_evaluators", "candidate_table", "reasons_table"]

#: Where session plans live, for the command line, notebooks 01 and 02 and the widget alike.
PLANS_DIR = "parameters/sessions"

# Selection parameters: name → type. parameters/select-demo.yaml documents each one.
SELECT_KEYS: Mapping[str, type] = {
    "team": str, "month": str, "backend": str, "sandbox_seed": int, "start": str, "end": str,
    "n": int, "focus": str, "seed": int, "calibrator_email": str, "expert_email": str,
    "panel_emails": list, "form_name": str, "deadline": str, "session_name": str,
    "profiles": str, "out": str,
}


def check_select_params(params: Mapping[str, Any], *, source: str = "the parameters"
                        ) -> dict[str, Any]:
    """Check selection parameters: every key of :data:`SELECT_KEYS`, no other, right types.

    Raises
    ------
    ParameterError
        Naming unknown and missing keys, a key of the wrong type, a bad team or month.
    """
    unknown = sorted(set(params) - set(SELECT_KEYS))
    missing = sorted(set(SELECT_KEYS) - set(params))
    if unknown or missing:
        raise ParameterError(f"{source}: unknown key(s) {unknown} and missing key(s) {missing}; "
                             f"see parameters/select-demo.yaml for the keys.")
    for key, kind in SELECT_KEYS.items():
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ParameterError(f"{source}: {key} must be a {kind.__name__}, not "
                                 f"{type(value).__name__} (quote dates and months).")
    if params["backend"] not in ("genesys", "sandbox"):
        raise ParameterError(f"{source}: backend must be 'genesys' or 'sandbox', not "
                             f"{params['backend']!r}.")
    check_team(params["team"], source=source)
    check_month(params["month"], source=source)
    return dict(params)


def check_notebook_parameters(params: Mapping[str, Any], source: str = "the parameters") -> None:
    """The rules of ``01_select_interactions.ipynb``: its selection keys (``overwrite`` aside)."""
    check_select_params({k: v for k, v in params.items() if k in SELECT_KEYS}, source=source)


def read_select_params(path: str | Path) -> dict[str, Any]:
    """Read and check a selection parameters YAML file (dates stay strings)."""
    return check_select_params(read_yaml(path, what="Selection parameters"), source=str(path))


def plan_path(params_or_name: Mapping[str, Any] | str) -> Path:
    """Where a plan is written: the ``out`` parameter, else ``parameters/sessions/<name>.yaml``;
    relative paths are read from the project root."""
    if isinstance(params_or_name, Mapping):
        if params_or_name.get("out"):
            return project_path(params_or_name["out"])
        params_or_name = session_name(params_or_name)
    return project_path(Path(PLANS_DIR) / plan_file_name(params_or_name))


def session_name(params: Mapping[str, Any]) -> str:
    """``session_name``, else ``"<team> <month> <focus>"``."""
    return params.get("session_name") or f"{params['team']} {params['month']} {params['focus']}"


def store_history(store: Any, *, end: str) -> pd.DataFrame | None:
    """The store's finished scores (every team, sealed calibrations left out) of the months up to
    the month of ``end``, for the gray-area priors; None when the store holds none.

    Every team's history counts: an agent calibrated by another team is as gray or as clear-cut
    for this one. Months after ``end`` are left out so that a selection redone later for an old
    range sees what was known then.
    """
    scores = store.scores()
    if scores.empty:
        return None
    last = str(end)[:7]
    scores = scores[scores["month"].astype(str) <= last]
    return scores.reset_index(drop=True) if len(scores) else None


def select_session(backend: Backend, params: Mapping[str, Any], *, store: Any = None,
                   include: Sequence[str] = ()) -> tuple[Selection, SessionPlan]:
    """Select candidates and build the session plan described by ``params``.

    People are named by email. On the sandbox an empty ``panel_emails`` takes the team's own
    panel, and the team and its calibrator must be the org's (:meth:`Backend.check_team`).

    Parameters
    ----------
    backend : Backend
        The open backend.
    params : mapping
        Selection parameters (:data:`SELECT_KEYS`).
    store : calib.store.Store, optional
        The history store: its scores steer the gray-area preference on every backend
        (:func:`store_history`) and its calibrated conversations are not picked again. Without a
        store, or while it holds no scores, the in-process demo org supplies its own history.
    include : sequence of str
        Conversations (``CONVERSATION_ID``) or evaluations to calibrate
        (``CONVERSATION_ID/EVALUATION_ID``) named by hand; they go first and count towards
        ``n`` (see :func:`select_plan`).

    Returns
    -------
    (Selection, SessionPlan)
    """
    p = check_select_params(params)
    client = backend.client
    if backend.name != p["backend"]:
        raise ParameterError(f"The parameters ask for backend {p['backend']!r} but the open "
                             f"backend is {backend.name!r}; open the one they name.")
    backend.check_team(p["team"], [p["calibrator_email"]])
    if backend.sandbox is not None and not p["panel_emails"]:
        team = backend.sandbox.teams()[p["team"]]
        calibrator, expert = team["calibrator_id"], team["expert_id"]
        panel = list(team["panel_ids"])
    else:
        calibrator, expert = user_ids_by_email(client, [p["calibrator_email"],
                                                        p["expert_email"]])
        panel = user_ids_by_email(client, p["panel_emails"])
    history = store_history(store, end=p["end"]) if store is not None else None
    if history is None:
        # The in-process demo org knows its score history (a served one does not say it): it
        # stands in for the store's until the store holds some.
        org = getattr(backend.sandbox, "org", None)
        history = org.tidy_scores() if org is not None else None
    return select_plan(
        client, team=p["team"], month=p["month"], focus=p["focus"], start=p["start"],
        end=p["end"], n=p["n"], seed=p["seed"], calibrator_id=calibrator, expert_id=expert,
        panel_ids=panel, form_id=published_form_id(client, p["form_name"] or None),
        deadline=p["deadline"], name=session_name(p), history=history,
        profiles=project_path(p["profiles"]) if p["profiles"] else None,
        backend=p["backend"], sandbox_seed=int(p["sandbox_seed"]), include=include)


def select_plan(client: Any, *, team: str, month: str, focus: str, start: str, end: str, n: int,
                seed: int, calibrator_id: str, expert_id: str, panel_ids: Iterable[str],
                form_id: str, deadline: str, name: str, history: pd.DataFrame | None = None,
                profiles: Any = None, backend: str = "genesys", sandbox_seed: int = 7,
                include: Sequence[str] = ()) -> tuple[Selection, SessionPlan]:
    """Select candidates and build their plan, people given by id: the one step the command line,
    notebook 01 and the session-setup widget share.

    ``include`` names conversations or evaluations to calibrate (``CONVERSATION_ID`` or
    ``CONVERSATION_ID/EVALUATION_ID``, :mod:`calib.sessions.include`): they go first and count
    towards ``n``; selection picks the rest (at least 3 agents among its own picks when it picks
    3 or more) and never picks an included conversation again.
    """
    panel = [str(p) for p in panel_ids]
    included = included_candidates(client, include, form_id=form_id) if include else None
    k = 0 if included is None else len(included)
    wanted = n - k
    if wanted > 0:
        selection = select_candidates(
            # (with included calls, fewer than 3 picks are fine: pick 3, keep the first ones)
            client, start=start, end=end, n=max(wanted, MIN_AGENTS) if k else n, focus=focus,
            panel_ids=[*panel, expert_id], calibrator_id=calibrator_id, history=history,
            seed=seed, profiles=profiles,
            exclude_ids=() if included is None else included["conversation_id"])
        picked = selection.candidates.head(wanted)
    else:
        selection, picked = None, pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
    if included is not None:
        candidates = pd.concat([included, picked], ignore_index=True) if len(picked) else included
        funnel = (selection.funnel if selection is not None
                  else pd.DataFrame(columns=list(FUNNEL_COLUMNS)))
        funnel = pd.concat([funnel, pd.DataFrame([{
            "step": "included_by_hand", "remaining": len(candidates), "removed": 0,
            "detail": f"{k} conversation(s) named with --include go first; "
                      f"{len(picked)} selected"}])], ignore_index=True)
        selection = Selection(candidates=candidates, funnel=funnel)
    elif len(picked) < len(selection.candidates):
        selection = Selection(candidates=picked, funnel=selection.funnel)
    plan = SessionPlan.from_selection(
        selection.candidates, name=name, team=team, month=month, focus=focus, form_id=form_id,
        calibrator_id=calibrator_id, expert_id=expert_id, panel_ids=panel, deadline=deadline)
    return selection, SessionPlan(**{**plan.__dict__, "backend": backend,
                                     "sandbox_seed": int(sandbox_seed)})


# -- names behind ids ---------------------------------------------------------------------------

def people(client: Any, ids: Iterable[Any]) -> pd.DataFrame:
    """``user_id, name, email`` of the given users (one bulk request per 100 ids); an id the API
    does not return keeps its id as its name."""
    wanted = sorted({str(i) for i in ids if i is not None and not pd.isna(i)})
    found = {str(u["id"]): u for u in client.get_users(wanted)} if wanted else {}
    return pd.DataFrame([{"user_id": i, "name": str(found.get(i, {}).get("name") or i),
                          "email": str(found.get(i, {}).get("email") or "")} for i in wanted],
                        columns=["user_id", "name", "email"])


def with_people(frame: pd.DataFrame, who: pd.DataFrame, *, id_column: str,
                prefix: str) -> pd.DataFrame:
    """``frame`` with ``<prefix>_name`` and ``<prefix>_email`` columns beside ``id_column``."""
    names = dict(zip(who["user_id"], who["name"]))
    emails = dict(zip(who["user_id"], who["email"]))
    out = frame.copy()
    at = out.columns.get_loc(id_column) + 1
    out.insert(at, f"{prefix}_name", out[id_column].map(names))
    out.insert(at + 1, f"{prefix}_email", out[id_column].map(emails))
    return out


def candidate_table(candidates: pd.DataFrame, who: pd.DataFrame) -> pd.DataFrame:
    """The picked conversations as a person reads them: agent and queue by name, the medium
    (voice, chat, email, message), the handle band, whether it was transferred, the priority."""
    names = dict(zip(who["user_id"], who["name"]))
    return pd.DataFrame({
        "#": range(1, len(candidates) + 1),
        "agent": candidates["agent_id"].map(names).fillna(candidates["agent_id"]),
        "queue": candidates["queue_name"].fillna(candidates["queue_id"]),
        "medium": candidates["media_type"].fillna("voice"),
        "handle time": candidates["handle_band"],
        "transferred": candidates["transferred"].map({True: "yes", False: "no"}),
        "priority": candidates["priority"].round(2),
        "conversation": candidates["conversation_id"],
    })


def reasons_table(candidates: pd.DataFrame, who: pd.DataFrame) -> pd.DataFrame:
    """``agent, reason``: why each picked conversation was chosen, in pick order."""
    names = dict(zip(who["user_id"], who["name"]))
    return pd.DataFrame({"agent": candidates["agent_id"].map(names).fillna(candidates["agent_id"]),
                         "reason": candidates["reason"]})


def late_evaluators(status: pd.DataFrame) -> pd.DataFrame:
    """Who still has evaluations open: one row per evaluator with ``name, email, role, open,
    overdue, assigned``, most overdue first. ``status`` is :func:`calib.sessions.session_status`
    with :func:`with_people` columns (``evaluator_name``, ``evaluator_email``)."""
    assigned = status[status["evaluator_id"].notna()]
    columns = ["name", "email", "role", "open", "overdue", "assigned"]
    if assigned.empty:
        return pd.DataFrame(columns=columns)
    open_states = {"pending", "in progress", "overdue"}
    table = (assigned.assign(open=assigned["state"].isin(open_states),
                             overdue=assigned["state"].eq("overdue"))
             .groupby(["evaluator_name", "evaluator_email", "role"], dropna=False)
             .agg(open=("open", "sum"), overdue=("overdue", "sum"),
                  assigned=("state", "size")).reset_index()
             .rename(columns={"evaluator_name": "name", "evaluator_email": "email"}))
    table = table[table["open"] > 0]
    return table.sort_values(["overdue", "open", "name"], ascending=[False, False, True]
                             ).reset_index(drop=True)[columns]
