"""Import score files into tidy ``scores``/``answers`` tables, and into the history store.

Policy decisions (documented in ``docs/interchange.md``):

- **month**: a ``month`` column wins; otherwise the month (UTC) of the *earliest* submitted time
  of the calibration, so that a calibration scored across a month boundary stays in one month;
  otherwise the ``month=`` argument. A calibration whose rows name two months is an error.
- **role**: a ``role`` or ``is_expert`` column marks the expert; when a file marks any expert,
  every calibration must have exactly one. When no file marks experts at all, everyone is an
  ``evaluator`` and a note says that bias will be measured against the consensus.
- **defaults**: ``session_id`` = ``team/month``; ``evaluation_id`` =
  ``calibration_id/evaluator_id`` (stable, so a re-import matches the same rows);
  ``evaluator_name`` = ``evaluator_id``; ``status`` = ``FINISHED`` when a score is given, else
  ``PENDING``. A score on an evaluation that is not FINISHED is dropped (the ``scores`` contract
  keeps scores only for finished evaluations) and counted in the notes; so are points given
  for questions marked N/A.
- **answers** take their evaluation's columns (team, month, session, ids, role, form) from the
  scores; an answer whose evaluation has no score row is an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calib.interchange.errors import InterchangeError, ProblemLog
from calib.interchange.formats import EVALUATION_KEY, month_of
from calib.interchange.presets import Preset, get_preset, load_mapping
from calib.interchange.reading import read_table
from calib.interchange.validate import map_file, parse_columns
from calib.interchange.ai_columns import AI_ANSWER_FIELDS, ai_tables
from calib.tables import ANSWERS_COLUMNS, SCORES_COLUMNS, answers_frame

log = logging.getLogger(__name__)

PathLike = str | Path


@dataclass(frozen=True)
class ImportBatch:
    """What a set of files holds, validated and in the tidy contract.

    Attributes
    ----------
    scores, answers : pandas.DataFrame
        The tidy tables (``calib.tables.SCORES_COLUMNS`` / ``ANSWERS_COLUMNS``).
    notes : tuple of str
        What the import decided or dropped, as sentences with counts.
    files : tuple of str
        The files read.
    origin : pandas.DataFrame or None
        Where each evaluation came from: ``calibration_id``, ``evaluation_id``, ``file`` and
        ``row`` (the spreadsheet row), so that a refusal by the store can name the rows.
    ai_runs, ai_answers : pandas.DataFrame or None
        The optional AI scoring columns as :mod:`calib.ai.tables` frames; None when no file
        has any (:mod:`calib.interchange.ai_columns`).
    """

    scores: pd.DataFrame
    answers: pd.DataFrame
    notes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    origin: pd.DataFrame | None = None
    ai_runs: pd.DataFrame | None = None
    ai_answers: pd.DataFrame | None = None

    def rows_of(self, column: str, value: str) -> dict[str, list[int]]:
        """``{file: [rows]}`` of the evaluations whose ``column`` (``calibration_id`` or
        ``evaluation_id``) is ``value``."""
        if self.origin is None:
            return {}
        hit = self.origin[self.origin[column] == value]
        return {str(f): sorted(int(r) for r in rows)
                for f, rows in hit.groupby("file", sort=False)["row"]}

    @property
    def months(self) -> list[str]:
        """The months the files cover, sorted."""
        return sorted(self.scores["month"].dropna().unique().tolist())


def resolve_preset(preset: str | None = None, mapping: PathLike | None = None) -> Preset:
    """The preset to read files with: a mapping file, a named preset, or ``tidy``."""
    if preset is not None and mapping is not None:
        raise ValueError("Give either a preset or a mapping file, not both; a mapping file "
                         "chooses its preset with its 'base:' key.")
    if mapping is not None:
        return load_mapping(mapping)
    return get_preset(preset or "tidy")


def read_files(paths: Sequence[PathLike] | PathLike, *, team: str, preset: str | None = None,
               mapping: PathLike | None = None, month: str | None = None) -> ImportBatch:
    """Read, map and validate score files into tidy tables, or raise with every problem.

    Parameters
    ----------
    paths : path or sequence of paths
        CSV or Parquet files: a scores file, an answers file, a combined file, or several.
    team : str
        The team the scores belong to.
    preset : {"tidy", "wide", "genesys"}, optional
        The files' layout (default ``tidy``).
    mapping : path, optional
        A mapping file (YAML) for any other layout; excludes ``preset``.
    month : str, optional
        ``YYYY-MM`` for rows that have neither a ``month`` column nor a submitted time.

    Returns
    -------
    ImportBatch

    Raises
    ------
    InterchangeError
        Listing every problem found, each with its file, row and fix.
    """
    if not isinstance(team, str) or not team.strip():
        raise ValueError("team must be a non-empty name such as 'demo'; pass --team.")
    if month is not None and not (isinstance(month, str) and len(month) == 7 and month[4] == "-"):
        raise ValueError(f"month {month!r} is not YYYY-MM; write it like 2026-08.")
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise ValueError("No files given; pass one or more CSV or Parquet files.")
    chosen = resolve_preset(preset, mapping)
    problems = ProblemLog()
    parsed: list[tuple[str, pd.DataFrame]] = []
    stripped: dict[str, int] = {}
    for path in paths:
        try:
            raw = read_table(path)
        except InterchangeError as exc:
            problems.problems.extend(exc.problems)
            continue
        mapped = map_file(raw, chosen, problems)
        if mapped is None:
            continue
        answers_only = "question_id" in mapped.columns and "total_score" not in mapped.columns
        if raw.frame.empty and not answers_only:
            # An answers file may be empty beside its scores (a month without answers yet); a
            # file that should bring evaluations and brings none is a mistake worth a stop.
            problems.add(path, [], "the file has a header but no data rows, so there is "
                         "nothing to import from it.",
                         "Export it again with its rows, or leave it out of the import.")
            continue
        frame = parse_columns(mapped, raw, chosen, team=team, log=problems)
        for column, n in frame.attrs.pop("stripped_ids", {}).items():
            stripped[column] = stripped.get(column, 0) + n
        parsed.append((Path(path).name, frame))
    problems.raise_if_any()
    batch = _combine(parsed, team=team, month=month, files=[str(p) for p in paths])
    if stripped:
        batch = replace(batch, notes=batch.notes + (
            f"Removed the spaces around {sum(stripped.values())} id value(s) (in "
            f"{', '.join(sorted(stripped))}), so ids that differ only by spaces are one id.",))
    return batch


def load_files(paths: Sequence[PathLike] | PathLike, *, team: str, preset: str | None = None,
               mapping: PathLike | None = None,
               month: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read score files into ``(scores, answers)`` tidy tables (see :func:`read_files`).

    This is what ``backend: files`` of the monthly report calls.
    """
    batch = read_files(paths, team=team, preset=preset, mapping=mapping, month=month)
    for note in batch.notes:
        log.info("%s", note)
    return batch.scores, batch.answers


# ----------------------------------------------------------------------------------- combining

def _combine(parsed: list[tuple[str, pd.DataFrame]], *, team: str, month: str | None,
             files: list[str]) -> ImportBatch:
    problems = ProblemLog()
    notes: list[str] = []
    score_parts, answer_parts = [], []
    for name, frame in parsed:
        frame = frame.assign(_file=name)
        if "question_id" in frame.columns:
            answer_parts.append(frame)
            if "total_score" in frame.columns:
                score_parts.append(_scores_from_combined(frame, name, problems))
        else:
            if "total_score" not in frame.columns:
                missing = [c for c in ("calibration_id", "evaluator_id", "total_score")
                           if c not in frame.columns]
                problems.add(name, [1], f"the file has no {', '.join(missing)} column(s), so "
                             f"it is neither a scores file nor an answers file.",
                             "Add the columns calibration_id, evaluator_id and total_score "
                             "(or choose the --preset that matches the export).")
                continue
            score_parts.append(frame)
    for part in score_parts + answer_parts:
        missing = [c for c in EVALUATION_KEY if c not in part.columns]
        if missing:
            problems.add(part["_file"].iloc[0] if len(part) else "<input>", [1],
                         f"the file has no {' or '.join(missing)} column.",
                         f"Add {' and '.join(missing)} (see docs/interchange.md for aliases).")
    problems.raise_if_any()
    if not score_parts:
        problems.add(parsed[0][0] if parsed else "<input>", [], "no file holds total scores "
                     "(an answers file needs its scores file or a total_score column).",
                     "Import the scores file together with the answers file.")
        problems.raise_if_any()
    scores = pd.concat(score_parts, ignore_index=True, sort=False)
    scores = _align_categories(scores)
    _check_duplicates(scores, EVALUATION_KEY, problems,
                      "the same evaluator appears more than once on the same calibration.",
                      "Keep one evaluation per evaluator and calibration (delete the extra rows "
                      "or correct the evaluator id).")
    _assign_roles(scores, problems, notes)
    _assign_months(scores, month=month, problems=problems)
    _fill_score_defaults(scores, team=team, notes=notes)
    _check_forms(scores, problems)
    answers = None
    if answer_parts:
        answers = _align_categories(pd.concat(answer_parts, ignore_index=True, sort=False))
        _check_duplicates(answers, EVALUATION_KEY + ("question_id",), problems,
                          "the same evaluator answered the same question twice on one "
                          "calibration.", "Keep one answer per evaluator, calibration and "
                          "question.")
        answers = _attach_answers(answers, scores, problems, notes)
    ai = ai_tables(scores, answers, problems)
    problems.raise_if_any()
    scores_out = _finalize(scores, SCORES_COLUMNS)
    answers_out = _finalize(answers, ANSWERS_COLUMNS) if answers is not None else answers_frame()
    origin = pd.DataFrame({"calibration_id": scores_out["calibration_id"],
                           "evaluation_id": scores_out["evaluation_id"],
                           "file": scores["_file"].to_numpy(dtype=object),
                           "row": scores["_row"].to_numpy()})
    return ImportBatch(scores_out, answers_out, tuple(notes), tuple(files), origin,
                       *(ai[0], ai[1]) if ai is not None else (None, None))


def _finalize(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """The contract table from a working frame, column by column without extra copies.

    ``calib.tables.conform`` does the same for any input; here text columns are categorical, so
    taking their categories by code shares one Python string per distinct value, which keeps a
    million answer rows within a few hundred MiB.
    """
    out: dict[str, Any] = {}
    n = len(frame)
    for name, dtype in columns.items():
        if name not in frame.columns:
            out[name] = empty_column(dtype, n)
            continue
        values = frame[name]
        if dtype == "object":
            if isinstance(values.dtype, pd.CategoricalDtype):
                codes = values.cat.codes.to_numpy()
                categories = np.append(np.asarray(values.cat.categories.astype("object"),
                                                  dtype=object), None)  # code -1 → None
                array = categories.take(np.where(codes < 0, len(categories) - 1, codes))
            else:
                array = values.to_numpy(dtype=object, copy=True)
                array[pd.isna(array)] = None
            out[name] = array
        elif dtype == "float64":
            out[name] = values.to_numpy(dtype="float64")
        elif dtype == "bool":
            out[name] = values.to_numpy(dtype=bool)
        else:
            out[name] = pd.to_datetime(values, utc=True).array
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


def empty_column(dtype: str, n: int) -> Any:
    """A column of ``n`` missing values of a contract dtype."""
    if dtype == "float64":
        return np.full(n, np.nan)
    if dtype == "bool":
        return np.zeros(n, dtype=bool)
    if dtype.startswith("datetime64"):
        return pd.array(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")).tz_localize("UTC")
    return np.full(n, None, dtype=object)


def _align_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """After concatenating files, categories differ per file; make text columns comparable."""
    for column in frame.columns:
        if frame[column].dtype == object and column not in ("_file",):
            frame[column] = frame[column].astype("category")
    return frame


def _scores_from_combined(frame: pd.DataFrame, name: str, problems: ProblemLog) -> pd.DataFrame:
    """A combined file repeats each evaluation's columns on its answer rows: keep one per key."""
    evaluation_columns = [c for c in frame.columns if c not in
                          ("question_group_id", "question_group_name", "question_id",
                           "question_text", "answer_id", "answer_text", "points", "max_points",
                           "marked_na", "comment", *AI_ANSWER_FIELDS)]
    keys = list(EVALUATION_KEY)
    if not all(k in frame.columns for k in keys):
        return frame[evaluation_columns].iloc[0:0]
    first = ~frame.duplicated(keys)
    grouped = frame.groupby(keys, observed=True, sort=False)["total_score"]
    spread = grouped.transform("max") - grouped.transform("min")
    differs = (spread > 0).to_numpy()
    if differs.any():
        problems.add(name, frame["_row"].to_numpy()[differs], "total_score differs between "
                     "answer rows of the same evaluation.",
                     "Give each evaluation one total_score, repeated on all its answer rows.")
    return frame.loc[first.to_numpy(), evaluation_columns].reset_index(drop=True)


def _problem_rows(frame: pd.DataFrame, mask, problems: ProblemLog, message: str,
                  fix: str) -> None:
    """One problem per file for the rows of ``mask``."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    sub = frame.loc[mask, ["_file", "_row"]]
    for name, rows in sub.groupby("_file", sort=False)["_row"]:
        problems.add(name, rows.to_numpy(), message, fix)


def _check_duplicates(frame: pd.DataFrame, keys, problems: ProblemLog, message: str,
                      fix: str) -> None:
    keys = [k for k in keys if k in frame.columns]
    dup = frame.duplicated(keys, keep=False).to_numpy()
    _problem_rows(frame, dup, problems, message, fix)


def _assign_roles(scores: pd.DataFrame, problems: ProblemLog, notes: list[str]) -> None:
    role = scores["role"].astype("object") if "role" in scores.columns else \
        pd.Series(None, index=scores.index, dtype="object")
    if "is_expert" in scores.columns:
        flag = scores.pop("is_expert")
        flagged = np.where(flag.astype(bool), "expert", "evaluator")
        role = role.where(role.notna(), pd.Series(flagged, index=scores.index))
    if not (role == "expert").any():  # a role column of evaluators only marks no expert
        scores["role"] = "evaluator"
        notes.append("No expert is marked (no role or is_expert column): every evaluation is "
                     "an 'evaluator', so evaluator bias is measured against the consensus.")
        return
    role = role.fillna("evaluator")
    scores["role"] = role.astype("category")
    experts = (role == "expert").groupby(scores["calibration_id"], observed=True).transform("sum")
    _problem_rows(scores, (experts == 0).to_numpy(), problems,
                  "this calibration has no expert evaluation, though the file marks experts on "
                  "other calibrations.",
                  "Mark the expert's row (role = expert or is_expert = yes) on every "
                  "calibration, or leave experts out of the whole file.")
    _problem_rows(scores, ((experts > 1) & (role == "expert")).to_numpy(), problems,
                  "this calibration has more than one expert evaluation.",
                  "Keep role = expert on exactly one evaluation per calibration.")


def _assign_months(scores: pd.DataFrame, *, month: str | None, problems: ProblemLog) -> None:
    by_calibration = scores["calibration_id"]
    derived = pd.Series(None, index=scores.index, dtype="object")
    if "submitted_at" in scores.columns:
        earliest = scores["submitted_at"].groupby(by_calibration, observed=True)\
            .transform("min")
        derived = month_of(earliest)
    if "month" in scores.columns:
        given = scores["month"].astype("object")
        kinds = given.groupby(by_calibration, observed=True).transform("nunique")
        _problem_rows(scores, (kinds > 1).to_numpy(), problems,
                      "the rows of one calibration name different months.",
                      "Give all evaluations of a calibration the calibration's month.")
        derived = given.where(given.notna(), derived)
    if month is not None:
        derived = derived.where(derived.notna(), month)
    missing = derived.isna().to_numpy()
    _problem_rows(scores, missing, problems, "the month of these rows is unknown (no month "
                  "column and no submitted time).",
                  "Add a month column (YYYY-MM) or a submitted_at column, or pass --month.")
    scores["month"] = derived.astype("category")


def _fill_score_defaults(scores: pd.DataFrame, *, team: str, notes: list[str]) -> None:
    scores["team"] = team
    if "session_id" not in scores.columns:
        scores["session_id"] = None
    session = scores["session_id"].astype("object")
    default_session = team + "/" + scores["month"].astype(str)
    scores["session_id"] = session.where(session.notna(), default_session).astype("category")
    cal = scores["calibration_id"].astype(str)
    evaluator = scores["evaluator_id"].astype(str)
    for column, default in (("evaluation_id", cal + "/" + evaluator),
                            ("evaluator_name", evaluator)):
        current = scores[column].astype("object") if column in scores.columns else None
        scores[column] = default if current is None else current.where(current.notna(), default)
    score = scores["total_score"]
    status = scores["status"].astype("object") if "status" in scores.columns else \
        pd.Series(None, index=scores.index, dtype="object")
    status = status.where(status.notna(), np.where(score.notna(), "FINISHED", "PENDING"))
    scores["status"] = status
    unfinished = (status != "FINISHED").to_numpy() & score.notna().to_numpy()
    if unfinished.any():
        scores.loc[unfinished, "total_score"] = np.nan
        if "critical_score" in scores.columns:
            scores.loc[unfinished, "critical_score"] = np.nan
        notes.append(f"Dropped the score of {int(unfinished.sum())} evaluation(s) that are not "
                     f"FINISHED (scores count only once an evaluation is finished).")
    blank = (status == "FINISHED").to_numpy() & score.isna().to_numpy()
    if blank.any():
        notes.append(f"{int(blank.sum())} FINISHED evaluation(s) have no total score; they are "
                     f"kept and left out of score statistics.")


def _check_forms(scores: pd.DataFrame, problems: ProblemLog) -> None:
    if "form_id" not in scores.columns:
        return
    form = scores["form_id"].astype("object")
    session = scores["session_id"]
    kinds = form.groupby(session, observed=True).transform("nunique")
    mixed = (kinds > 1).to_numpy()
    if mixed.any():
        # Name the rows on the session's less common form(s): those are the likely mistakes.
        counts = scores.loc[mixed].groupby(["session_id", "form_id"], observed=True).size()
        common = counts.groupby(level=0, observed=True).idxmax().map(lambda ix: ix[1])
        usual = session.astype("object").map(common)
        odd = mixed & (form != usual).to_numpy()
        _problem_rows(scores, odd, problems,
                      "this session mixes evaluation forms: these rows use a different form "
                      "(version) than the rest of the session.",
                      "Score a session on one form version, or give the calibrations on the "
                      "other form their own session_id.")


def _attach_answers(answers: pd.DataFrame, scores: pd.DataFrame, problems: ProblemLog,
                    notes: list[str]) -> pd.DataFrame:
    keys = list(EVALUATION_KEY)
    inherited = ["team", "month", "session_id", "conversation_id", "evaluation_id", "role",
                 "form_id"]
    lookup = scores[keys + [c for c in inherited if c in scores.columns]]
    own = answers.drop(columns=[c for c in inherited if c in answers.columns
                                and c != "conversation_id"])
    if "conversation_id" in own.columns:
        own = own.rename(columns={"conversation_id": "_conversation_id"})
    merged = own.merge(lookup, on=keys, how="left", indicator=True, sort=False)
    orphan = (merged["_merge"] == "left_only").to_numpy()
    _problem_rows(merged, orphan, problems, "these answers belong to an evaluation that has no "
                  "row in the scores (no total_score for this calibration and evaluator).",
                  "Import the scores file together with this answers file, or correct the "
                  "calibration_id/evaluator_id.")
    merged = merged.drop(columns=["_merge", "_conversation_id"], errors="ignore")
    if "marked_na" in merged.columns and "points" in merged.columns:
        na_points = merged["marked_na"].to_numpy(dtype=bool) & merged["points"].notna()\
            .to_numpy()
        if na_points.any():
            merged.loc[na_points, "points"] = np.nan
            notes.append(f"Ignored the points of {int(na_points.sum())} answer(s) marked N/A "
                         f"(N/A is a category, not a score).")
    return merged
