"""Load one team's month for the report: sync it into the store, read it back through the gate.

``load_month(params)`` is the first call of the report notebook. With ``backend: sandbox`` it
starts the local Genesys look-alike, syncs the history months into the store and stops it; with
``genesys`` it reads the OAuth client from the environment; with ``files`` it uses what
``calib data import`` already stored. Everything after that reads the store only, and only
through the blind gate: sealed calibrations contribute their completion status, never a score.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from calib.report.params import ParameterError, month_check


@dataclass
class MonthData:
    """Everything the report shows for one team and month.

    Attributes
    ----------
    params : dict
        The notebook parameters.
    team, month : str
    months : list of str
        The history window, oldest first, ending with ``month``.
    scores, answers : pandas.DataFrame
        Open calibrations of the history window (``calib.tables`` columns).
    status, gate : pandas.DataFrame
        The month's per-evaluator status and per-calibration gate (``Store.status/gate``).
    users, rubric_notes, forms : pandas.DataFrame
        ``Store.users()``, ``Store.rubric_notes()``, ``Store.forms()``.
    agent_names : dict
        Agent id → display name, read from the users API (user-supplied text: escape it).
    now : datetime
        The clock the status was judged against (the sandbox clock for the sandbox).
    store_display : str
        The store's URL with any password masked.
    notes : list of str
        What happened while loading (e.g. months with no calibrations).
    analysis : dict
        Filled by :func:`calib.report.analysis.analyze`.
    """

    params: dict
    team: str
    month: str
    months: list[str]
    scores: pd.DataFrame
    answers: pd.DataFrame
    status: pd.DataFrame
    gate: pd.DataFrame
    users: pd.DataFrame
    rubric_notes: pd.DataFrame
    now: datetime
    store_display: str
    forms: pd.DataFrame = field(default_factory=pd.DataFrame)
    agent_names: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    analysis: dict = field(default_factory=dict)

    @property
    def month_scores(self) -> pd.DataFrame:
        """Open calibrations' scores of the report month."""
        return self.scores[self.scores["month"] == self.month]

    @property
    def month_answers(self) -> pd.DataFrame:
        """Open calibrations' answers of the report month."""
        return self.answers[self.answers["month"] == self.month]

    @property
    def gate_closed(self) -> bool:
        """True while any calibration of the month is sealed, or there is none at all."""
        return self.gate.empty or not bool(self.gate["open"].all())

    def name_of(self, user_id: Any) -> str:
        """A user's display name (the first 8 characters of the id when unknown)."""
        # Evaluator names travel with the scores (files carry them too), users and agents
        # from the API refine them.
        from_scores = dict(zip(self.scores.get("evaluator_id", []),
                               self.scores.get("evaluator_name", [])))
        names = {**{k: v for k, v in from_scores.items() if isinstance(v, str) and v},
                 **dict(zip(self.users.get("user_id", []), self.users.get("name", []))),
                 **self.agent_names}
        return str(names.get(user_id) or str(user_id)[:8])

    def __repr__(self) -> str:
        return (f"MonthData(team={self.team!r}, month={self.month!r}, months={len(self.months)}, "
                f"evaluations={len(self.scores)}, gate={'closed' if self.gate_closed else 'open'})")


def history_months(month: str, count: int) -> list[str]:
    """The ``count`` months ending with ``month``, oldest first."""
    month_check(month)
    end = pd.Period(month, freq="M")
    return [str(end - k) for k in range(count - 1, -1, -1)]


def store_url(params: Mapping[str, Any]) -> str:
    """The store for a run: the ``store_url`` parameter, else ``$CALIB_STORE_URL``, else the
    SQLite file ``calib.sqlite`` in the outputs folder (beside ``<team>/<month>/``)."""
    if params.get("store_url"):
        return str(params["store_url"])
    if os.environ.get("CALIB_STORE_URL"):
        return os.environ["CALIB_STORE_URL"]
    if params.get("output_dir"):
        outputs = Path(params["output_dir"]).resolve().parents[1]
    else:
        from calib.report.runner import project_root

        outputs = project_root() / "outputs"
    outputs.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{outputs / 'calib.sqlite'}"


def load_month(params: Mapping[str, Any], *, analyze: bool = True) -> MonthData:
    """Sync (per ``backend``) and read one team's month and its history; then analyse it.

    Parameters
    ----------
    params : mapping
        The report notebook's parameters (``team, month, backend, sandbox_seed, calibrators,
        store_url, history_months`` and the analysis settings).
    analyze : bool
        Run :func:`calib.report.analysis.analyze` (the default).

    Returns
    -------
    MonthData

    Raises
    ------
    ParameterError
        For an unknown backend or a bad month.
    """
    from calib.store import Store

    params = dict(params)
    team, month = str(params["team"]), month_check(params["month"])
    months = history_months(month, int(params.get("history_months", 6)))
    backend = params.get("backend", "sandbox")
    notes: list[str] = []
    url = store_url(params)
    if backend == "sandbox":
        from calib.sandbox import Sandbox

        with Sandbox(seed=int(params.get("sandbox_seed", 7))) as sandbox, \
                Store(url, clock=sandbox.now) as store, sandbox.client() as client:
            _sync(client, store, team, months, params, notes)
            agents = _agent_names(client, store, team, months, notes)
            data = _read_month(store, params, team, month, months, agents, notes)
    elif backend == "genesys":
        from calib.genesys.client import GenesysClient

        with Store(url) as store, GenesysClient.from_env() as client:
            _sync(client, store, team, months, params, notes)
            agents = _agent_names(client, store, team, months, notes)
            data = _read_month(store, params, team, month, months, agents, notes)
    elif backend == "files":
        with Store(url) as store:
            _import_files(store, team, params, notes)
            data = _read_month(store, params, team, month, months, {}, notes)
    else:
        raise ParameterError(f"backend must be sandbox, genesys or files, not {backend!r}.")
    missing = [m for m in months if m not in set(data.scores["month"])]
    if missing:
        notes.append(f"No open calibration in {len(missing)} of the {len(months)} history "
                     f"month(s): {', '.join(missing)}.")
    if analyze:
        from calib.report.analysis import analyze as run_analysis

        data.analysis = run_analysis(data)
    return data


def _read_month(store: Any, params: dict, team: str, month: str, months: list[str],
                agents: dict[str, str], notes: list[str]) -> MonthData:
    """The month's tables from the store, behind the blind gate; refuses an empty month."""
    gate = store.gate(team, month)
    if gate.empty:
        stored = store.months(team)
        raise ParameterError(
            f"Team {team!r} has no calibration in {month} in the store"
            + (f"; the latest month with calibrations is {stored[-1]}: set month: "
               f"\"{stored[-1]}\"." if stored else
               " nor in any other month; check the team's name and calibrators, or import "
               "its score files first (calib import)."))
    return MonthData(
        params=params, team=team, month=month, months=months,
        scores=store.scores(team, months), answers=store.answers(team, months),
        status=store.status(team, month), gate=gate, users=store.users(),
        rubric_notes=store.rubric_notes(), now=store.now().replace(tzinfo=timezone.utc),
        store_display=store.url_for_display, forms=store.forms(), agent_names=agents,
        notes=notes)


def _import_files(store: Any, team: str, params: Mapping[str, Any], notes: list[str]) -> None:
    """Import the ``files`` parameter's score files (globs, relative to the repository) first.

    The import is idempotent, so rendering again changes nothing; with no files listed the
    report reads what ``calib import`` stored earlier.
    """
    from calib.interchange import import_into_store
    from calib.report.runner import project_root

    patterns = [str(p) for p in params.get("files") or ()]
    if not patterns:
        notes.append("Data come from files imported earlier with 'calib import'; nothing was "
                      "synced.")
        return
    root = project_root()
    paths: list[Path] = []
    for pattern in patterns:
        base = Path(pattern) if Path(pattern).is_absolute() else root / pattern
        matched = sorted(base.parent.glob(base.name)) if any(ch in base.name for ch in "*?[") \
            else ([base] if base.exists() else [])
        if not matched:
            raise ParameterError(f"files: {pattern!r} matches no file (paths are relative to "
                                 f"{root}); fix the path or the glob.")
        paths += matched
    report = import_into_store(store, paths, team=team,
                               preset=str(params.get("files_preset") or "") or None)
    notes.append(f"Data come from {len(paths)} file(s) imported for this report "
                 f"({', '.join(m.month for m in report.months)}); nothing was synced.")


def _sync(client: Any, store: Any, team: str, months: list[str], params: Mapping[str, Any],
          notes: list[str]) -> None:
    """Sync every history month into the store with :func:`calib.sync.sync_months`."""
    from calib.sync import sync_months

    result = sync_months(client, store, team=team, months=months,
                         calibrators=list(params["calibrators"]))
    if "removed_calibrations" in result.columns:
        removed = sum(len(r or ()) for r in result["removed_calibrations"])
        if removed:
            notes.append(f"{removed} calibration(s) no longer listed by Genesys were removed "
                         f"from the store.")


def _agent_names(client: Any, store: Any, team: str, months: list[str],
                 notes: list[str]) -> dict[str, str]:
    """Display names of the agents whose calls were calibrated (one bulk users request)."""
    ids = sorted(set(store.scores(team, months, include_sealed=True)["agent_id"].dropna()))
    if not ids:
        return {}
    try:
        return {u["id"]: str(u.get("name") or u["id"]) for u in client.get_users(ids)}
    except Exception as exc:  # names are a nicety: the report still works with ids
        notes.append(f"Agent names could not be read ({type(exc).__name__}); ids are shown.")
        return {}
