"""Per-file mapping, parsing and row checks (vectorised: no Python loop over rows).

Each check adds a :class:`~calib.interchange.errors.Problem` naming the file, the spreadsheet
rows and the fix; nothing stops at the first problem.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from calib.interchange.errors import ProblemLog, names_text

from calib.interchange.formats import (BOOL_FIELDS, FIRST_YEAR, FLOAT_FIELDS, ID_FIELDS,
                                       KNOWN_FIELDS, LAST_YEAR, TIME_FIELDS, on_distinct,
                                       parse_bool, parse_float, parse_role, parse_status,
                                       parse_text, parse_time)
from calib.interchange.presets import EXPERT_COLUMN, Preset, melt_wide, plan_columns
from calib.interchange.reading import RawTable, map_categories
from calib.values import MONTH_PATTERN

_MONTH = MONTH_PATTERN  # one month rule: calib.values


def _rows(frame: pd.DataFrame, mask) -> np.ndarray:
    return frame["_row"].to_numpy()[np.asarray(mask, dtype=bool)]


def map_file(raw: RawTable, preset: Preset, log: ProblemLog) -> pd.DataFrame | None:
    """Rename a file's columns to interchange names (melting a wide file); None on failure."""
    path, frame = raw.path, raw.frame
    columns = [c for c in frame.columns if c != "_row"]
    plan = plan_columns(columns, preset)
    unknown = list(plan.unknown)
    if preset.layout == "wide":
        if preset.evaluators is not None:
            missing = [c for c in preset.evaluators if c not in columns]
            if missing:
                log.add(path, [1], f"the evaluator column(s) {names_text(missing)} "
                        f"named in the mapping are not in the file.",
                        "Correct the names under 'evaluators:' in the mapping file.")
                return None
            evaluators = list(preset.evaluators)
            unknown = [c for c in unknown if c not in evaluators]
        else:
            evaluators, unknown = unknown, []
        for c in evaluators:
            plan.rename.pop(c, None)
    if unknown:
        log.add(path, [1], f"the column(s) {names_text(unknown)} are not part of the "
                f"{preset.name} format.",
                f"Rename them to interchange columns ({', '.join(KNOWN_FIELDS[:6])}, …; see "
                f"docs/interchange.md), pick the right --preset, or list them under 'columns:' "
                f"in a mapping file (map to 'ignore' to skip a column).")
        return None
    targets = pd.Series(list(plan.rename.values()))
    twice = sorted(set(targets[targets.duplicated()]))
    if twice:
        sources = [s for s, t in plan.rename.items() if t in twice]
        log.add(path, [1], f"several columns ({names_text(sources)}) mean the same "
                f"calib column ({', '.join(twice)}).",
                "Keep one of them, or map the others to 'ignore' in a mapping file.")
        return None
    frame = frame[list(plan.rename) + ["_row"] + (evaluators if preset.layout == "wide" else [])]
    frame = frame.rename(columns=plan.rename)
    if preset.layout == "wide":
        if not evaluators:
            log.add(path, [1], "the wide layout needs one column per evaluator, and this file "
                    "has none besides its id columns.",
                    "Add one column per evaluator holding that evaluator's total score.")
            return None
        had_rows = len(frame) > 0
        frame, _ = melt_wide(frame, evaluators)
        if had_rows and frame.empty:
            log.add(path, [], "the file holds no scores: every evaluator cell is blank.",
                    "Fill in the evaluators' total scores (one column per evaluator), or "
                    "check that the right --preset or mapping was chosen.")
            return None
        frame["evaluator_name"] = frame["evaluator_id"]
        expert = None
        if EXPERT_COLUMN in frame.columns:
            expert = frame.pop(EXPERT_COLUMN).astype("object")
            unknown_expert = expert.notna() & ~expert.isin(evaluators)
            if unknown_expert.any():
                log.add(path, _rows(frame, unknown_expert),
                        f"the expert column names {names_text(sorted(set(expert[unknown_expert])), limit=3)}, "
                        f"which is not one of the evaluator columns.",
                        "Write the expert's evaluator column header exactly in the expert column.")
        elif preset.expert is not None:
            if preset.expert not in evaluators:
                log.add(path, [1], f"the mapping's expert {preset.expert!r} is not an evaluator "
                        f"column.", "Set 'expert:' to one of the evaluator column headers.")
            expert = pd.Series(preset.expert, index=frame.index)
        if expert is not None:
            frame["role"] = np.where(frame["evaluator_id"].astype("object") == expert,
                                     "expert", "evaluator")
    return frame


def parse_columns(frame: pd.DataFrame, raw: RawTable, preset: Preset, *, team: str,
                  log: ProblemLog) -> pd.DataFrame:
    """Parse typed columns and run the row checks of one mapped file."""
    path = raw.path
    decimal_comma = raw.separator in (";", "\t", "|")
    out = pd.DataFrame({"_row": frame["_row"].to_numpy()}, index=frame.index)
    stripped: dict[str, int] = {}
    for column in frame.columns:
        if column == "_row":
            continue
        values = frame[column]
        if column in FLOAT_FIELDS:
            parsed, bad = parse_float(values, decimal_comma=decimal_comma)
            if bad.any():
                sample = values[bad].astype(str).unique()[:3].tolist()
                hint = (" A decimal comma needs the file saved with ';' as the separator."
                        if raw.separator == "," and any("," in s for s in sample) else "")
                log.add(path, _rows(frame, bad), f"{column} has values that are not numbers "
                        f"({names_text(sample)}).{hint}",
                        f"Write {column} as a plain number such as 85.5, or leave it blank.")
            endless = np.isinf(parsed.to_numpy(dtype="float64"))
            if endless.any():
                sample = values[endless].astype(str).unique()[:3].tolist()
                log.add(path, _rows(frame, endless), f"{column} is not a finite number "
                        f"({names_text(sample)}).",
                        f"Write {column} as a plain number such as 85.5 (a number too large "
                        f"for a score is a mistake in the export), or leave it blank.")
                parsed = parsed.where(~endless)
        elif column in ID_FIELDS:
            parsed, changed = map_categories(parse_text(values), _strip)
            if changed:
                stripped[column] = changed
        elif column in BOOL_FIELDS:
            parsed, bad = parse_bool(values)
            if bad.any():
                sample = values[bad].astype(str).unique()[:3].tolist()
                log.add(path, _rows(frame, bad), f"{column} has values that are not yes/no "
                        f"({names_text(sample)}).",
                        f"Write {column} as yes/no, true/false or 1/0.")
        elif column in TIME_FIELDS:
            parsed, bad = parse_time(values)
            years = parsed.dt.year.to_numpy(dtype="float64", na_value=np.nan)
            outside = ((years < FIRST_YEAR) | (years > LAST_YEAR)) & ~np.isnan(years)
            if bad.any():  # dates pandas cannot hold (0001-01-01, 9999-12-31) are dates still
                _, real = on_distinct(values, lambda vs: np.array(
                    [None if _is_iso_date(v) else v for v in vs], dtype=object), "object")
                real &= bad
                outside |= real
                bad &= ~real
            if outside.any():
                sample = values[outside].astype(str).unique()[:3].tolist()
                log.add(path, _rows(frame, outside), f"{column} is a date, but outside the "
                        f"years {FIRST_YEAR}–{LAST_YEAR} a calibration can have "
                        f"({names_text(sample)}).",
                        f"Correct {column}; a placeholder such as 0001-01-01 or 9999-12-31 "
                        f"usually means 'no date': leave the cell blank instead.")
                parsed = parsed.where(~outside)
            if bad.any():
                sample = values[bad].astype(str).unique()[:3].tolist()
                log.add(path, _rows(frame, bad), f"{column} has values that are not dates "
                        f"({names_text(sample)}).",
                        f"Write {column} as an ISO-8601 date-time such as 2026-08-01T10:00:00Z.")
        elif column == "status":
            parsed, bad = parse_status(_respell(values, preset.status_values))
            if bad.any():
                sample = values[bad].astype(str).unique()[:3].tolist()
                log.add(path, _rows(frame, bad), f"status has unknown values "
                        f"({names_text(sample)}).",
                        "Use FINISHED, INPROGRESS, PENDING, INREVIEW or RETRACTED, or map your "
                        "spelling under 'values: status:' in a mapping file.")
        elif column == "role":
            parsed, bad = parse_role(_respell(values, preset.role_values))
            if bad.any():
                sample = values[bad].astype(str).unique()[:3].tolist()
                log.add(path, _rows(frame, bad), f"role has unknown values "
                        f"({names_text(sample)}).",
                        "Use 'expert' or 'evaluator', or an is_expert column of yes/no.")
        else:
            parsed = parse_text(values)
        out[column] = parsed
    _check_rows(out, path, team=team, log=log)
    out.attrs["stripped_ids"] = stripped
    return out


def _strip(value: str) -> str | None:
    """An id without the spaces around it; None when nothing is left (a blank id)."""
    return value.strip() or None


def _is_iso_date(text: str) -> bool:
    """True when ``text`` is an ISO-8601 date(-time) of any year 1–9999."""
    try:
        datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return False
    return True


def _respell(values: pd.Series, spellings) -> pd.Series:
    """Apply a mapping file's value spellings (on distinct values, not per row)."""
    if not spellings:
        return values
    respelled, _ = on_distinct(values, lambda distinct: np.array(
        [spellings.get(v, v) for v in distinct], dtype=object), "object")
    return respelled.astype("category")


def _check_rows(frame: pd.DataFrame, path, *, team: str, log: ProblemLog) -> None:
    """Row checks that need no other row."""
    for column in ("calibration_id", "evaluator_id", "question_id"):
        if column in frame.columns:
            blank = frame[column].isna().to_numpy()
            if blank.any():
                log.add(path, _rows(frame, blank), f"{column} is blank.",
                        f"Fill in {column} on every row, or delete rows that are not "
                        f"{'answers' if column == 'question_id' else 'evaluations'}.")
    for column in ("total_score", "critical_score"):
        if column in frame.columns:
            score = frame[column].to_numpy(dtype="float64")
            outside = (score < 0) | (score > 100)
            if outside.any():
                sample = np.unique(score[outside])[:3].tolist()
                log.add(path, _rows(frame, outside), f"{column} is outside 0–100 "
                        f"({', '.join(f'{v:g}' for v in sample)}).",
                        f"Give {column} as a percentage from 0 to 100 (rescale scores kept "
                        f"on another scale, e.g. 4.5 of 5 → 90).")
            _check_fraction_scale(frame, score, column, path, log)
    if "points" in frame.columns:
        points = frame["points"].to_numpy()
        top = frame["max_points"].to_numpy() if "max_points" in frame.columns else \
            np.full(len(points), np.inf)
        outside = (points < 0) | (points > top)
        if outside.any():
            log.add(path, _rows(frame, outside), "points is outside the question's range "
                    "(below 0 or above max_points).",
                    "Correct the points, or max_points if the form's highest answer is worth "
                    "more.")
    if "team" in frame.columns:
        other = frame["team"].notna().to_numpy() & (frame["team"].astype("object") != team)\
            .to_numpy()
        if other.any():
            names = sorted(set(frame["team"].astype("object")[other]))[:3]
            log.add(path, _rows(frame, other), f"the team column says {names_text(names)} but the import "
                    f"is for team {team!r}.",
                    "Set the team to the file's team (--team, or 'team' in the report's "
                    "parameter file), or remove the team column if the rows are this team's.")
    if "month" in frame.columns:
        _, bad = on_distinct(frame["month"], lambda values: np.array(
            [v if _MONTH.match(v) else None for v in values], dtype=object), "object")
        if bad.any():
            sample = sorted(set(frame["month"].astype("object")[bad].astype(str)))[:3]
            log.add(path, _rows(frame, bad), f"month has values that are not YYYY-MM "
                    f"({names_text(sample)}).",
                    "Write the month as YYYY-MM, e.g. 2026-08.")
        _, early_late = on_distinct(frame["month"], lambda values: np.array(
            [None if _MONTH.match(v) and not FIRST_YEAR <= int(v[:4]) <= LAST_YEAR else v
             for v in values], dtype=object), "object")
        if early_late.any():
            sample = sorted(set(frame["month"].astype("object")[early_late].astype(str)))[:3]
            log.add(path, _rows(frame, early_late), f"month {names_text(sample)} is "
                    f"outside the years {FIRST_YEAR}–{LAST_YEAR} a calibration can have.",
                    "Correct the month (YYYY-MM, e.g. 2026-08).")


def _check_fraction_scale(frame: pd.DataFrame, score: np.ndarray, column: str, path,
                          log: ProblemLog) -> None:
    """Refuse a file whose every score lies in [0, 1] with one above 0: a 0–1 scale.

    Stored as percentages, 0.85 would read as 0.85 % and every conclusion (bias in points,
    pass rates, the report's thresholds) would be wrong without any sign of it. All zeros are
    not refused: a month of failed calls is possible on any scale.
    """
    given = score[~np.isnan(score)]
    if not len(given) or given.max() > 1 or given.min() < 0 or given.max() == 0:
        return
    example = next((v for v in given if 0 < v < 1), given.max())
    log.add(path, _rows(frame, ~np.isnan(score)), f"every {column} is between 0 and 1 (such "
            f"as {example:g}): calib reads scores as percentages from 0 to 100, so these would "
            f"be stored as scores of 1 % or less.",
            f"Multiply {column} by 100 in the file ({0.85:g} → 85; in a spreadsheet, a new "
            f"column =A2*100), then import again.")
