"""docs/architecture.md's statistics section names real functions and real parameters (it once
listed a ``method=`` that ``g_study`` never had)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from calib import stats

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def documented_calls() -> list[tuple[str, set[str]]]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Statistics API"):]
    opening = section.index("```python") + len("```python")
    block = section[opening:section.index("```", opening)]
    code = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("#"))
    calls = []
    for match in re.finditer(r"calib\.stats\.([\w |]+)\(", code):
        start = match.end()
        depth, end = 1, start
        while depth:
            depth += {"(": 1, ")": -1}.get(code[end], 0)
            end += 1
        keywords = set(re.findall(r"(\w+)=", code[start:end]))
        for name in match.group(1).split("|"):
            calls.append((name.strip(), keywords))
    return calls


def test_the_section_documents_every_public_function():
    documented = {name for name, _ in documented_calls()}
    functions = {name for name in stats.__all__ if callable(getattr(stats, name))
                 and not isinstance(getattr(stats, name), type)}
    assert functions <= documented, f"undocumented: {sorted(functions - documented)}"


@pytest.mark.parametrize("name, keywords", documented_calls())
def test_documented_keywords_are_real_parameters(name, keywords):
    parameters = set(inspect.signature(getattr(stats, name)).parameters)
    assert keywords <= parameters, f"{name}: not parameters {sorted(keywords - parameters)}"


#: The column each vocabulary word names by default (docs/architecture.md, Statistics API).
VOCABULARY = {"calibration_id": "interaction", "evaluator_id": "evaluator",
              "total_score": "score", "category": "category", "question_id": "question"}


def public_functions() -> list[str]:
    return [name for name in stats.__all__ if callable(getattr(stats, name))
            and not isinstance(getattr(stats, name), type)]


@pytest.mark.parametrize("name", public_functions())
def test_column_arguments_share_one_vocabulary(name):
    """A column argument is named after what the column holds, the same in every function
    (alpha once took unit=/value=/value_range= where icc took interaction=/score=/score_range=)."""
    parameters = inspect.signature(getattr(stats, name)).parameters
    for parameter in parameters.values():
        column = parameter.annotation in ("str", str)  # not a Literal policy such as na=
        if column and parameter.default in VOCABULARY:
            assert parameter.name == VOCABULARY[parameter.default], (
                f"{name}({parameter.name}={parameter.default!r}) should be "
                f"{VOCABULARY[parameter.default]}=")
    assert not set(parameters) & {"unit", "value", "value_range", "rater"}, name
