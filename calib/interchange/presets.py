"""Column-mapping presets for the exports QM teams actually have, and mapping files for the rest.

A preset says which of a file's columns is which interchange column. Three are built in:

``tidy``
    the documented interchange format (``docs/interchange.md``), with short aliases a plain
    spreadsheet may use (``calibration``, ``evaluator``, ``score``, ``is_expert``).
``wide``
    one row per call: an id column (calibration, call or conversation), optionally the agent and
    an ``expert`` column naming the expert's evaluator column, and one column per evaluator
    holding that evaluator's total score.
``genesys``
    a Genesys Cloud evaluation export. Genesys documents no stable CSV layout for evaluation
    exports, so the preset accepts the Quality API's field names (``conversation.id``,
    ``evaluator.id``, ``answers.totalScore``, ``isScoringIndex``, ``submittedDate``…, see
    ``/work/shared/genesys-api.md`` §4) flattened with dots, and the labels of the Genesys
    UI's quality summary (``Form Name``, ``Evaluator``, ``Status``, ``Score``,
    ``Critical Score``), per-question columns included.

A mapping file (YAML) starts from one of these (``base:``) and names columns exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

import pandas as pd

from calib import values
from calib.interchange.errors import InterchangeError, problem
from calib.interchange.formats import KNOWN_FIELDS, TIDY_ALIASES, name_key

IGNORE = "ignore"
#: Wide layout: the column whose value names the expert's evaluator column.
EXPERT_COLUMN = "_expert_column"

PresetName = Literal["tidy", "wide", "genesys"]


@dataclass(frozen=True)
class Preset:
    """How to read one kind of export.

    Attributes
    ----------
    name : str
        Preset name, shown in messages.
    layout : {"long", "wide"}
        ``long``: one row per evaluation or per answer; ``wide``: one row per call, one column
        per evaluator's total score.
    aliases : Mapping[str, str]
        ``name_key(source column)`` → interchange column, or ``"ignore"``.
    fallbacks : Mapping[str, tuple[str, ...]]
        interchange column → source keys used only when no other column maps to it (a Genesys
        ``Evaluator`` name column stands in for the evaluator id when there is no id column).
    exact : Mapping[str, str]
        exact source column name → interchange column or ``"ignore"`` (from a mapping file).
    status_values, role_values : Mapping[str, str]
        extra value spellings (source value → ``FINISHED``…, → ``expert``/``evaluator``).
    evaluators : tuple of str or None
        wide layout: the evaluator columns; ``None`` means every column not otherwise mapped.
    expert : str or None
        wide layout: the evaluator column that is the expert on every row.
    """

    name: str
    layout: Literal["long", "wide"] = "long"
    aliases: Mapping[str, str] = field(default_factory=dict)
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    exact: Mapping[str, str] = field(default_factory=dict)
    status_values: Mapping[str, str] = field(default_factory=dict)
    role_values: Mapping[str, str] = field(default_factory=dict)
    evaluators: tuple[str, ...] | None = None
    expert: str | None = None


def _tidy() -> Preset:
    return Preset("tidy", "long", aliases=dict(TIDY_ALIASES))


def _wide() -> Preset:
    aliases = {k: v for k, v in TIDY_ALIASES.items()
               if v in ("calibration_id", "conversation_id", "agent_id", "calibrator_id",
                        "session_id", "form_id", "form_context_id", "submitted_at")}
    aliases.update({"expert": EXPERT_COLUMN, "expertevaluator": EXPERT_COLUMN,
                    "scoringindex": EXPERT_COLUMN, "notes": IGNORE, "comment": IGNORE,
                    "comments": IGNORE})
    return Preset("wide", "wide", aliases=aliases)


def _genesys() -> Preset:
    a = {
        "conversationid": "conversation_id", "conversation": "conversation_id",
        "interactionid": "conversation_id",
        "evaluationid": "evaluation_id", "id": "evaluation_id",
        "calibrationid": "calibration_id",
        "agentid": "agent_id", "agentuserid": "agent_id",
        "evaluatorid": "evaluator_id", "evaluatoruserid": "evaluator_id",
        "evaluatorname": "evaluator_name",
        "calibrationcalibratorid": "calibrator_id", "calibratorid": "calibrator_id",
        "status": "status", "evaluationstatus": "status",
        "score": "total_score", "totalscore": "total_score", "answerstotalscore": "total_score",
        "criticalscore": "critical_score", "totalcriticalscore": "critical_score",
        "answerstotalcriticalscore": "critical_score",
        "anyfailedkillquestions": "any_failed_kill",
        "answersanyfailedkillquestions": "any_failed_kill",
        "submitteddate": "submitted_at", "submitted": "submitted_at",
        "formid": "form_id", "evaluationformid": "form_id",
        "formcontextid": "form_context_id", "evaluationformcontextid": "form_context_id",
        "contextid": "form_context_id",
        "isscoringindex": "is_expert", "scoringindex": "is_expert",
        "questiongroupid": "question_group_id", "questiongroup": "question_group_name",
        "questiongroupname": "question_group_name", "questionid": "question_id",
        "question": "question_text", "questiontext": "question_text",
        "answerid": "answer_id", "answer": "answer_text", "answertext": "answer_text",
        "questionscore": "points", "maxquestionscore": "max_points", "maxpoints": "max_points",
        "markedna": "marked_na", "na": "marked_na", "comments": "comment",
        "questioncomments": "comment",
    }
    for key in ("formname", "evaluationformname", "evaluationformtype", "agent", "agentname",
                "assigneddate", "assignee", "releasedate", "createddate", "changeddate",
                "conversationdate", "conversationenddate", "queue", "queuename", "mediatype",
                "agentreviewed", "agenthasread", "agentcomment", "agentcomments", "calibration",
                "timeremainingtodeletereview", "rescore", "neverrelease", "released",
                "totalnoncriticalscore", "answerstotalnoncriticalscore", "evaluator",
                "evaluationsource", "divisionids", "privatecomments"):
        a[key] = IGNORE
    return Preset("genesys", "long", aliases=a,
                  fallbacks={"agent_id": ("agent", "agentname"),
                             "evaluator_id": ("evaluator", "evaluatorname"),
                             "evaluator_name": ("evaluator",)})


def get_preset(name: str) -> Preset:
    """A built-in preset by name (``tidy``, ``wide`` or ``genesys``)."""
    builders = {"tidy": _tidy, "wide": _wide, "genesys": _genesys}
    if name not in builders:
        raise ValueError(f"Unknown preset {name!r}. Use one of {', '.join(builders)}, or "
                         f"describe your columns in a mapping file (--mapping).")
    return builders[name]()


PRESETS: tuple[str, ...] = ("tidy", "wide", "genesys")


def load_mapping(path: str | Path) -> Preset:
    """Read a mapping file (YAML) into a :class:`Preset`.

    The file has ``base`` (a preset name, default ``tidy``), ``columns`` (your column → calib
    column, or ``ignore``), optionally ``values: {status: {...}, role: {...}}`` and, for the wide
    layout, ``evaluators`` (list of columns) and ``expert`` (the expert's column).

    Raises
    ------
    InterchangeError
        When the file is missing, is not YAML, or names an unknown calib column.
    """
    path = Path(path)
    if path.is_dir():
        raise InterchangeError([problem(path, [], "the mapping file is a folder, not a file.",
                                        "Give --mapping the path of the YAML file.")])
    if not path.is_file():
        raise InterchangeError([problem(path, [], "the mapping file does not exist.",
                                        "Check the path given to --mapping.")])
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InterchangeError([problem(path, [line], f"the mapping file is not UTF-8 text "
                                        f"(byte 0x{data[exc.start]:02x} cannot be read; the "
                                        f"file is probably in a Windows code page such as "
                                        f"cp1252).", "Save the mapping file as UTF-8 (in most "
                                        "editors: Save as > Encoding: UTF-8).")]) from None
    try:  # calib's one YAML rule: no aliases, no repeated keys, dates kept as text
        spec = values.parse_yaml(text, source="the mapping file")
    except values.ParameterError as exc:
        raise InterchangeError([problem(path, [], str(exc), "Fix the mapping file there; see "
                                        "docs/interchange.md for an example.")]) from None
    return _preset_from_spec(path, {} if spec is None else spec)


def _shape(value: object) -> str:
    """How a YAML value reads to a person: 'a list', 'a mapping', 'the text 'x''."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"the value {value!r}"


def _preset_from_spec(path: Path, spec: object) -> Preset:
    """Check the mapping file's shape key by key, then build its :class:`Preset`."""
    def refuse(key: str, value: object, wanted: str, fix: str) -> InterchangeError:
        return InterchangeError([problem(path, [], f"{key} is {_shape(value)}; it must be "
                                         f"{wanted}.", fix)])

    allowed = {"base", "columns", "values", "evaluators", "expert"}
    if not isinstance(spec, dict):
        raise refuse("the whole file", spec, "a mapping of the keys "
                     f"{', '.join(sorted(allowed))}", "Start from the example in "
                     "docs/interchange.md (base:, columns:, values:).")
    extra = sorted(map(str, set(spec) - allowed))
    if extra:
        raise InterchangeError([problem(path, [], f"the mapping file has unknown keys {extra}.",
                                        f"Use only {', '.join(sorted(allowed))}.")])
    base_name = spec.get("base", "tidy")
    if not isinstance(base_name, str) or base_name not in PRESETS:
        raise refuse("base", base_name, f"one of {', '.join(PRESETS)}",
                     "Write for example 'base: tidy'.")
    base = get_preset(base_name)
    raw_columns = spec.get("columns") or {}
    if not isinstance(raw_columns, dict):
        raise refuse("columns", raw_columns, "a mapping of your column names to calib columns",
                     "Write one 'Your column: calib_column' line per column under columns:.")
    columns = {str(k): str(v) for k, v in raw_columns.items()}
    targets = set(KNOWN_FIELDS) | {IGNORE, EXPERT_COLUMN, "expert_column"}
    bad = [f"{k!r}: {v!r}" for k, v in columns.items() if v not in targets]
    if bad:
        raise InterchangeError([problem(path, [], f"the mapping names unknown calib columns "
                                        f"({', '.join(bad)}).",
                                        f"Map each column to one of {', '.join(KNOWN_FIELDS)} "
                                        f"or 'ignore'.")])
    columns = {k: EXPERT_COLUMN if v == "expert_column" else v for k, v in columns.items()}
    values = spec.get("values") or {}
    if not isinstance(values, dict):
        raise refuse("values", values, "a mapping with 'status:' and/or 'role:'",
                     "Write for example 'values: {status: {Done: FINISHED}}'.")
    unknown = sorted(map(str, set(values) - {"status", "role"}))
    if unknown:
        raise InterchangeError([problem(path, [], f"values has unknown keys {unknown}.",
                                        "Use only 'status' and 'role' under values:.")])
    spellings = {}
    for key in ("status", "role"):
        given = values.get(key) or {}
        if not isinstance(given, dict):
            raise refuse(f"values: {key}", given, "a mapping of your spelling to calib's",
                         f"Write for example 'values: {{{key}: "
                         f"{{{'Done: FINISHED' if key == 'status' else 'Lead: expert'}}}}}'.")
        spellings[key] = {str(k): str(v) for k, v in given.items()}
    evaluators = spec.get("evaluators")
    if evaluators is not None and not isinstance(evaluators, list):
        raise refuse("evaluators", evaluators, "a list of evaluator column names",
                     "Write for example 'evaluators: [Ana, Ben]'.")
    expert = spec.get("expert")
    if expert is not None and not isinstance(expert, (str, int, float)):
        raise refuse("expert", expert, "one evaluator column name",
                     "Write for example 'expert: Ana'.")
    return Preset(
        name=f"mapping {path.name}", layout=base.layout, aliases=base.aliases,
        fallbacks=base.fallbacks, exact=columns,
        status_values=spellings["status"], role_values=spellings["role"],
        evaluators=tuple(map(str, evaluators)) if evaluators else None,
        expert=str(expert) if expert is not None else None,
    )


@dataclass(frozen=True)
class ColumnPlan:
    """Which source column becomes which interchange column."""

    rename: dict[str, str]
    ignored: tuple[str, ...]
    unknown: tuple[str, ...]


def plan_columns(columns: list[str], preset: Preset) -> ColumnPlan:
    """Match a file's columns to interchange columns; report the ones nothing matched.

    Priority: the mapping file's exact names, then interchange names, then the preset's aliases,
    then its fallbacks (only for interchange columns still unmapped).
    """
    canonical = {name_key(f): f for f in KNOWN_FIELDS}
    rename: dict[str, str] = {}
    ignored: list[str] = []
    pending: list[str] = []
    for col in columns:
        key = name_key(col)
        target = preset.exact.get(col)
        if target is None and preset.layout == "long":
            target = canonical.get(key)
        if target is None:
            target = preset.aliases.get(key)
        if target is None and preset.layout == "wide" and key in canonical \
                and canonical[key] not in ("evaluator_id", "total_score", "evaluator_name"):
            target = canonical[key]
        if target is None:
            pending.append(col)
        elif target == IGNORE:
            ignored.append(col)
        else:
            rename[col] = target
    taken = set(rename.values())
    for target, keys in preset.fallbacks.items():
        if target in taken:
            continue
        for col in columns:
            if name_key(col) in keys and col not in rename:
                rename[col] = target
                taken.add(target)
                if col in ignored:
                    ignored.remove(col)
                if col in pending:
                    pending.remove(col)
                break
    return ColumnPlan(rename, tuple(ignored), tuple(pending))


def melt_wide(frame: pd.DataFrame, evaluator_columns: list[str]) -> tuple[pd.DataFrame, int]:
    """One row per call, one column per evaluator → one row per (call, evaluator).

    Blank cells (the evaluator did not score the call) are dropped; their count is returned.
    """
    id_columns = [c for c in frame.columns if c not in evaluator_columns]
    parts = []
    blank = 0
    for column in evaluator_columns:
        values = frame[column]
        present = values.notna().to_numpy()
        blank += int((~present).sum())
        part = frame.loc[present, id_columns].copy()
        part["evaluator_id"] = column
        part["total_score"] = values[present].astype("object") \
            if isinstance(values.dtype, pd.CategoricalDtype) else values[present]
        parts.append(part)
    if not parts:
        return frame.iloc[0:0].assign(evaluator_id=None, total_score=None), blank
    long = pd.concat(parts, ignore_index=True)
    long["evaluator_id"] = long["evaluator_id"].astype("category")
    long["total_score"] = long["total_score"].astype("object").astype("category") \
        if long["total_score"].dtype == object else long["total_score"]
    return long.sort_values(["_row", "evaluator_id"], kind="stable").reset_index(drop=True), blank
