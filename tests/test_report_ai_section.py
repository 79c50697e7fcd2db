"""The report's "AI scoring" section: present when the form has AI-enabled questions, in words
first and with names, absent (nothing displayed) when the form has none or the gate is closed,
and the rendered report of a form without AI-enabled questions is exactly the report without
the section's cell."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from calib.report.ai_section import show_ai_scoring
from calib.report.data import load_month
from tests.test_report_sections import params

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "notebooks" / "04_monthly_report.ipynb"
pytestmark = pytest.mark.slow  # real sandbox syncs; the last test renders the report twice


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("ai-section")


def test_a_month_with_ai_scoring_has_the_section_in_plain_words(store_dir):
    data = load_month(params(store_dir, history_months=3), analyze=False)
    section = show_ai_scoring(data)
    assert section is not None and section.title == "AI scoring"
    body = section.html
    first = re.search(r'<p class="action">(.*?)</p>', body).group(1)
    assert "question(s) of the form" in first and "AC1" not in first, "words before numbers"
    assert body.index("What to do per question") < body.index("Coefficients")
    # question text, escaped; never a question id
    assert "Shows empathy &amp; acknowledges the customer&#x27;s feelings" in body
    org_ids = set(data.answers["question_id"]) | set(data.answers["evaluator_id"])
    assert not [i for i in org_ids if i in body], "names, not ids"
    hold = re.search(r"Uses hold appropriately</td><td[^>]*>(.*?)</td>", body).group(1)
    assert "keep on" not in hold


def test_no_section_for_a_form_without_ai_questions_or_behind_the_gate(store_dir):
    before_ai = load_month(params(store_dir, month="2026-07", history_months=3), analyze=False)
    assert set(before_ai.months) == {"2026-05", "2026-06", "2026-07"}
    assert show_ai_scoring(before_ai) is None
    sealed = load_month(params(store_dir, month="2026-11", history_months=1), analyze=False)
    assert sealed.gate_closed and show_ai_scoring(sealed) is None


def _sections(page: str) -> list[str]:
    return re.findall(r'<section class="calib-section">.*?</section>', page, flags=re.S)


def test_a_form_without_ai_questions_renders_exactly_as_before(tmp_path, monkeypatch):
    from calib.render.runner import render

    monkeypatch.setenv("CALIB_STORE_URL", f"sqlite:///{tmp_path / 'calib.sqlite'}")
    settings = yaml.safe_load((ROOT / "tests" / "params" / "complete.yaml").read_text())
    settings.update(month="2026-07", history_months=3, n_boot=200)
    params_file = tmp_path / "v1-form.yaml"
    params_file.write_text(yaml.safe_dump(settings))
    before = nbformat.read(REPORT, as_version=4)
    cells = [c for c in before.cells if "show_ai_scoring" not in c.source]
    assert len(cells) == len(before.cells) - 1, "the report has exactly one AI scoring cell"
    before.cells = cells
    without = tmp_path / "nb" / REPORT.name
    without.parent.mkdir()
    nbformat.write(before, without)
    now = render(params_file, notebook=REPORT, outputs_root=tmp_path / "with")
    then = render(params_file, notebook=without, outputs_root=tmp_path / "without")
    assert json.loads(now.summary.read_text()) == json.loads(then.summary.read_text())
    page_now, page_then = now.html.read_text(), then.html.read_text()
    assert _sections(page_now) == _sections(page_then) and len(_sections(page_now)) >= 7
    assert ">AI scoring</h" not in page_now
