"""Report sections on real sandbox data, without a kernel: escaping, the blind gate, the headline.

``load_month`` runs for real here (sandbox over HTTP, calib.sync, a SQLite store in tmp), with a
short history window to keep the module fast.
"""

from __future__ import annotations

import re

import pytest

from calib.report import sections
from calib.report.analysis import headline_sentence
from calib.report.data import history_months, load_month
from calib.render.html import offline_problems
from calib.render.contract import ParameterError
from calib.report.summary import build_summary, jsonable

SCRIPT_NAME = "<script>alert(1)</script>"
pytestmark = pytest.mark.slow  # one real sandbox sync + analysis: ~20 s of CPU


def params(tmp, **changes) -> dict:
    base = dict(team="demo", month="2026-10", backend="sandbox", sandbox_seed=7,
                calibrators=["quinn.calder@demo.example"],
                store_url=f"sqlite:///{tmp / 'calib.sqlite'}", history_months=2, aligned_max=5,
                discuss_max=15, bias_threshold=3.0, drift_threshold=10.0, confidence=0.95,
                n_boot=100, seed=0, output_dir="")
    return {**base, **changes}


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def open_month(store_dir):
    return load_month(params(store_dir))


@pytest.fixture(scope="module")
def sealed_month(store_dir):
    return load_month(params(store_dir, month="2026-11", history_months=1))


def page_of(*parts) -> str:
    return "<html><body>" + "".join(p._repr_html_() for p in parts) + "</body></html>"


def test_history_window_ends_with_the_report_month():
    assert history_months("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]


def test_open_month_has_every_section_and_no_fetch(open_month):
    parts = [sections.show_header(open_month), sections.show_headline(open_month),
             sections.show_calibrations(open_month), sections.show_charts(open_month),
             sections.show_recurring(open_month), sections.show_agenda(open_month),
             sections.show_appendix(open_month)]
    page = page_of(*parts)
    assert offline_problems(page) == []
    assert [p.title for p in parts] == [
        "Calibration report — demo, 2026-10", "Headline", "Calibrations", "Charts",
        "Recurring criteria", "Discussion agenda", "Appendix"]
    assert set(parts[3].figures) == {"strip", "bias", "heatmap", "drift", "variance"}


def test_user_text_is_escaped_everywhere(open_month):
    """Names and comments are user-supplied: a tag in them must arrive as text."""
    some_agent = open_month.month_scores["agent_id"].iloc[0]
    real_name = open_month.agent_names.get(some_agent)
    open_month.agent_names[some_agent] = SCRIPT_NAME
    try:
        page = page_of(sections.show_calibrations(open_month))
    finally:
        open_month.agent_names[some_agent] = real_name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    assert offline_problems(page) == []


def test_agent_names_come_from_the_users_api(open_month):
    ids = set(open_month.month_scores["agent_id"])
    assert ids <= set(open_month.agent_names), "every calibrated agent should have a name"


def test_sealed_month_shows_completion_only(sealed_month):
    assert sealed_month.gate_closed
    assert sealed_month.analysis == {"problems": {}, "warnings": []}
    header = sections.show_header(sealed_month)._repr_html_()
    assert "Completion by evaluator" in header and "closed" in header
    for show in (sections.show_calibrations, sections.show_charts, sections.show_agenda,
                 sections.show_recurring):
        assert show(sealed_month).html == "", f"{show.__name__} must show nothing while sealed"
    summary = build_summary(sealed_month)
    assert summary["reliability"] == {} and summary["gate"] == "closed"
    finished = int((sealed_month.status["status"] == "finished").sum())
    assert summary["completion"]["finished"] == finished < summary["completion"]["assigned"]


def test_headline_names_the_drifting_calibrator(open_month):
    """The sandbox's demo calibrator drifts; the action sentence must lead with that."""
    sentence = headline_sentence(open_month)
    drift = open_month.analysis["drift"]
    assert drift.flagged, "the sandbox's demo calibrator drifts past 10 points by 2026-10"
    assert sentence.startswith("The calibrator's own scores have drifted")
    assert "Quinn Calder" in sentence, sentence
    for calibrator_id in drift.table["calibrator_id"].unique():
        assert str(calibrator_id) not in sentence, "people are named, not shown by id"
    assert sentence.endswith(".")


def test_summary_is_plain_json(open_month):
    import json

    text = json.dumps(jsonable(build_summary(open_month)), allow_nan=False)
    data = json.loads(text)
    icc = data["reliability"]["ICC(A,1)"]
    assert icc["ci_low"] <= icc["value"] <= icc["ci_high"]
    assert re.match(r"2026-11-09", data["clock"])


def test_unknown_backend_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="backend must be one of sandbox, genesys, files, store"):
        load_month(params(tmp_path, backend="csv"))


def test_session_view_refuses_an_unknown_calibration(open_month):
    with pytest.raises(ValueError, match="is not among demo's open calibrations"):
        sections.show_session(open_month, "no-such-calibration")
    first = open_month.month_scores["calibration_id"].iloc[0]
    assert "strip" in sections.show_session(open_month, first).figures
