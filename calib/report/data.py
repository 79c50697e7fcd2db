"""Load one team's month for the report: bring it into the store, read it back through the gate.

:func:`prepare_month` is the part that talks to a backend (through :mod:`calib.context`): it
checks the team, syncs the history months from the sandbox or Genesys Cloud, or imports the
``files``, and refuses a month without calibrations. ``calib report`` and ``calib sync`` call it
before any kernel starts, so a user error is a sentence and never a failed notebook; the notebook
then reads the store only (``backend: store``). :func:`load_month`, the report notebook's first
call, does both when the notebook runs on its own (in JupyterLab). Everything after that reads
the store only, and only through the blind gate: sealed calibrations contribute their
completion status, never a score.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from calib import context
from calib.ai.analysis import ai_calibration, ai_tables
from calib.anonymity import pseudonyms
from calib.consensus import initial_vs_agreed
from calib.report import parallel
from calib.report.analysis import Analysis, analyze as run_analysis
from calib.sessions.disputes import originals_of_plans
from calib.store import Store
from calib.values import ParameterError, check_month as month_check, check_team


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
    form_questions, answer_options : pandas.DataFrame
        ``Store.form_questions()`` (critical and fatal flags, scales) and
        ``Store.answer_options()`` (each question's answers in the form's order).
    agent_names : dict
        Agent id → display name, read from the users API (user-supplied text: escape it).
    now : datetime
        The clock the status was judged against (the sandbox clock for the sandbox).
    store_display : str
        The store's URL with any password masked.
    notes : list of str
        What happened while loading (e.g. months with no calibrations).
    analysis : Analysis
        Filled by :func:`calib.report.analysis.analyze` (frozen; empty until then).
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
    analysis: Analysis = field(default_factory=Analysis)
    reveal_reasons: dict = field(default_factory=dict)
    agreed: pd.DataFrame = field(default_factory=pd.DataFrame)
    form_questions: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The AI scoring calibration over the window (:mod:`calib.ai`); None without AI answers.
    ai: Any = None
    answer_options: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Agent id → pseudonym when the report hides agents from the panel
    #: (``params["anonymize_agents"]``, :mod:`calib.anonymity`); empty otherwise.
    pseudonyms: dict = field(default_factory=dict)
    #: Disputed evaluations the month's sessions calibrate (``calib.sessions.disputes``
    #: ``ORIGINAL_COLUMNS``), from the saved plans; empty when none.
    originals: pd.DataFrame = field(default_factory=pd.DataFrame)

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
        """A user's display name (the first 8 characters of the id when unknown); an agent's
        pseudonym when the report hides agents."""
        if user_id in self.pseudonyms:
            return self.pseudonyms[user_id]
        # Evaluator names travel with the scores (files carry them too), users and agents
        # from the API refine them.
        from_scores = dict(zip(self.scores.get("evaluator_id", []),
                               self.scores.get("evaluator_name", [])))
        names = {**{k: v for k, v in from_scores.items() if isinstance(v, str) and v},
                 **dict(zip(self.users.get("user_id", []), self.users.get("name", []))),
                 **self.agent_names}
        return str(names.get(user_id) or str(user_id)[:8])

    def call_label(self, calibration_id: Any) -> str:
        """The one name of a call in every table, chart and agenda of the report: the agent's
        name and the first 8 characters of the conversation id, or the call's own id when the
        data (a spreadsheet) name neither agent nor conversation."""
        rows = self.scores[self.scores["calibration_id"] == calibration_id]
        agent = rows["agent_id"].dropna()
        conversation = rows["conversation_id"].dropna()
        short = str(conversation.iloc[0])[:8] if len(conversation) else str(calibration_id)
        return f"{self.name_of(agent.iloc[0])} · {short}" if len(agent) else short

    def find_call(self, call: str) -> str:
        """The calibration id of a call named as the report names it: its label (``"Omar
        Fischer · e302d14c"``), the short id in it, or a conversation or calibration id.

        Raises
        ------
        ValueError
            No call, or more than one, of the month matches; the message lists the labels.
        """
        wanted = " ".join(str(call).split()).casefold()
        ids = list(dict.fromkeys(self.month_scores["calibration_id"]))
        labels = {c: self.call_label(c) for c in ids}
        conversations = dict(zip(self.month_scores["calibration_id"],
                                 self.month_scores["conversation_id"].astype(str)))
        exact = [c for c in ids if labels[c].casefold() == wanted or str(c).casefold() == wanted]
        hits = exact or [c for c in ids if wanted and (
            str(c).casefold().startswith(wanted)
            or conversations.get(c, "").casefold().startswith(wanted)
            or labels[c].casefold().endswith(wanted))]
        if len(hits) == 1:
            return hits[0]
        known = "; ".join(sorted(labels.values()))
        problem = "matches no call" if not hits else f"matches {len(hits)} calls"
        raise ValueError(f"{call!r} {problem} of {self.team} in {self.month}; name one as the "
                         f"calls table does: {known}.")

    def __repr__(self) -> str:
        return (f"MonthData(team={self.team!r}, month={self.month!r}, months={len(self.months)}, "
                f"evaluations={len(self.scores)}, gate={'closed' if self.gate_closed else 'open'})")


def history_months(month: str, count: int) -> list[str]:
    """The ``count`` months ending with ``month``, oldest first."""
    month_check(month)
    end = pd.Period(month, freq="M")
    return [str(end - k) for k in range(count - 1, -1, -1)]


def store_url(params: Mapping[str, Any]) -> str:
    """The store of a run: the ``store_url`` parameter, else :func:`calib.context.store_url`'s
    rule (``$CALIB_STORE_URL``, else ``outputs/calib.sqlite``)."""
    return context.store_url(str(params.get("store_url") or "") or None)


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare_month` did: the store it filled, the backend's clock then, notes."""

    store_url: str
    as_of: datetime
    notes: tuple[str, ...]
    synced: pd.DataFrame | None = None


def prepare_month(params: Mapping[str, Any]) -> Prepared:
    """Check the team, bring the history months into the store, and check the month has data.

    Parameters
    ----------
    params : mapping
        ``team, month, backend, sandbox_seed, calibrators, store_url, history_months`` (and
        ``files, files_preset`` for the files backend).

    Returns
    -------
    Prepared

    Raises
    ------
    ParameterError
        An unknown team (or calibrators that are not the team's), or a month without any
        calibration (the message names the latest month that has some).
    calib.context.BackendError
        Credentials missing or refused, the API unreachable.
    """
    team, month = check_team(str(params["team"])), month_check(params["month"])
    months = history_months(month, int(params.get("history_months", 6)))
    notes: list[str] = []
    url = store_url(params)
    name = str(params.get("backend", "sandbox"))
    with context.open_backend(name, sandbox_seed=int(params.get("sandbox_seed", 7))) as backend, \
            backend.open_store(url) as store:
        synced = None
        if backend.client is not None:
            backend.check_team(team, list(params.get("calibrators") or ()))
            synced = _sync(backend.client, store, team, months, params, notes)
        else:
            if name == "files":
                _import_files(store, team, params, notes)
            backend.check_team(team, store=store)
        _check_month_has_data(store, team, month)
        return Prepared(url, backend.now(), tuple(notes), synced)


def _check_month_has_data(store: Any, team: str, month: str) -> None:
    if store.gate(team, month).empty:
        stored = store.months(team)
        raise ParameterError(
            f"Team {team!r} has no calibration in {month} in the store"
            + (f"; the latest month with calibrations is {stored[-1]}: set month: "
               f"\"{stored[-1]}\"." if stored else
               " nor in any other month; check the team's name and calibrators, or import "
               "its score files first (calib import)."))


def load_month(params: Mapping[str, Any], *, analyze: bool = True) -> MonthData:
    """Read one team's month and its history from the store (after :func:`prepare_month`
    unless the runner already did it), then analyse it.

    Parameters
    ----------
    params : mapping
        The report notebook's parameters (``team, month, backend, sandbox_seed, calibrators,
        store_url, history_months`` and the analysis settings). ``backend: store`` reads what
        the store holds; ``as_of`` (set by the runner) is the backend's clock at the sync.
    analyze : bool
        Run :func:`calib.report.analysis.analyze` (the default).

    Returns
    -------
    MonthData

    Raises
    ------
    ParameterError
        For an unknown backend, team or month, or a month without calibrations.
    """

    params = dict(params)
    team, month = check_team(str(params["team"])), month_check(params["month"])
    months = history_months(month, int(params.get("history_months", 6)))
    if params.get("output_dir") and params.get("as_of"):
        _freeze_imports()
    if params.get("backend", "sandbox") == "store":
        url, notes = store_url(params), list(params.get("sync_notes") or ())
        as_of = pd.Timestamp(params["as_of"]).to_pydatetime() if params.get("as_of") else None
    else:
        prepared = prepare_month(params)
        url, notes, as_of = prepared.store_url, list(prepared.notes), prepared.as_of
    clock = (lambda: as_of) if as_of is not None else None
    with Store(url, clock=clock) as store:
        if params.get("backend") == "store":
            context.Backend("store").check_team(team, store=store)
        _check_month_has_data(store, team, month)
        once = _ReadOnce(store)
        data = _read_month(once, params, team, month, months, notes)
        ai = _ai_job(once, params, team, list(months))
    missing = [m for m in months if m not in set(data.scores["month"])]
    if missing:
        notes.append(f"No open calibration in {len(missing)} of the {len(months)} history "
                     f"month(s): {', '.join(missing)}.")
    # in a runner-started kernel the analysis and the AI calibration run in forked copies while
    # this process imports the sections' modules (matplotlib with them); else here, in turn
    analysis = parallel.Forked(lambda: run_analysis(data)) if analyze else None
    parallel.preload_sections()
    if analysis is not None:
        data.analysis = analysis.result()
    data.ai = ai.result()
    return data


def _freeze_imports() -> None:
    """In a kernel the runner started (it sets ``output_dir`` and ``as_of``), move every object
    alive now (pandas, SciPy, matplotlib and their modules) out of the garbage collector's reach.

    They live as long as that short-lived kernel does, and each full collection while the report
    built its tables and figures walked them all again: a tenth of the kernel's work. Objects
    made later are collected as usual. Not done in an interactive session, which may load many
    months and should get its memory back.
    """
    gc.freeze()


class _ReadOnce:
    """The store as one load reads it: the AI calibration and the consensus ask for the scores,
    answers and forms that the report has just read; each such read happens once and every
    caller gets its own copy (``attrs`` included, so the gate's notes travel along)."""

    _TABLES = frozenset({"users", "scores", "answers", "forms", "form_questions",
                         "answer_options"})

    def __init__(self, store: Any) -> None:
        self._store = store
        self._read: dict[tuple, pd.DataFrame] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if name not in self._TABLES:
            return method

        def read(*args: Any, **kwargs: Any) -> pd.DataFrame:
            key = (name, _hashable(args), _hashable(sorted(kwargs.items())))
            if key not in self._read:
                self._read[key] = method(*args, **kwargs)
            return self._read[key].copy()

        return read


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


def _read_month(store: Any, params: dict, team: str, month: str, months: list[str],
                notes: list[str]) -> MonthData:
    """The month's tables from the store, behind the blind gate."""
    users = store.users()
    scores = store.scores(team, months)
    agent_names = dict(zip(users["user_id"], users["name"]))
    hidden = pseudonyms(scores["agent_id"], team=team) if params.get("anonymize_agents") else {}
    return MonthData(
        params=params, team=team, month=month, months=months, pseudonyms=hidden,
        scores=scores, answers=store.answers(team, months),
        status=store.status(team, month), gate=store.gate(team, month), users=users,
        rubric_notes=store.rubric_notes(), now=store.now().replace(tzinfo=timezone.utc),
        store_display=store.url_for_display, forms=store.forms(),
        agent_names={**agent_names, **hidden}, notes=notes,
        reveal_reasons=_reveal_reasons(store, team, month), agreed=_agreed(store, team, months),
        originals=originals_of_plans(store.session_plans(team, month)),
        form_questions=store.form_questions(), answer_options=store.answer_options())


def _ai_job(store: Any, params: dict, team: str, months: list[str]) -> parallel.Forked:
    """The AI scoring calibration of the window: its tables read here (the answers from this
    load's one read), the computation in a forked copy while the kernel analyses the month
    (in place outside runner-started kernels)."""
    tables = ai_tables(store, team, months)
    confidence = float(params.get("confidence", 0.95))
    return parallel.Forked(lambda: ai_calibration(*tables, confidence=confidence))


def _agreed(store: Any, team: str, months: list[str]) -> pd.DataFrame:
    """Initial against agreed scores of the window, read in the report's one store session."""

    return initial_vs_agreed(store, team, list(months))


def _reveal_reasons(store: Any, team: str, month: str) -> dict[str, str]:
    """Why each revealed calibration of the month was opened early, in the analyst's words."""
    log = store.reveals(team, month)
    return {c: r for c, r in zip(log["calibration_id"], log["reason"])}


def _import_files(store: Any, team: str, params: Mapping[str, Any], notes: list[str]) -> None:
    """Import the ``files`` parameter's score files (globs, relative to the repository) first.

    The import is idempotent, so rendering again changes nothing; with no files listed the
    report reads what ``calib import`` stored earlier.
    """

    from calib.interchange import import_into_store  # only the files backend imports

    patterns = [str(p) for p in params.get("files") or ()]
    if not patterns:
        notes.append("Data come from files imported earlier with 'calib import'; nothing was "
                      "synced.")
        return
    root = context.project_root()
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
          notes: list[str]) -> pd.DataFrame:
    """Sync every history month into the store with :func:`calib.sync.sync_months`."""
    from calib.sync import sync_months  # the kernel reads the store: it never imports the client


    result = sync_months(client, store, team=team, months=months,
                         calibrators=list(params["calibrators"]))
    if "removed_calibrations" in result.columns:
        removed = sum(len(r or ()) for r in result["removed_calibrations"])
        if removed:
            notes.append(f"{removed} calibration(s) no longer listed by Genesys were removed "
                         f"from the store.")
    return result
