"""Report sections on real sandbox data, without a kernel: escaping, the blind gate, the headline.

``load_month`` runs for real here (sandbox over HTTP, calib.sync, a SQLite store in tmp), with a
short history window to keep the module fast.
"""

from __future__ import annotations

import re

import pytest

from calib.report import sections
from calib.report.analysis import Analysis
from calib.report.verdict_sections import headline_sentence
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


SECTIONS = ("show_header", "show_headline", "show_evaluators", "show_calibrations",
            "show_questions", "show_agenda", "show_appendix")


def test_open_month_has_every_section_and_no_fetch(open_month):
    parts = [getattr(sections, name)(open_month) for name in SECTIONS]
    page = page_of(*parts)
    assert offline_problems(page) == []
    assert [p.title for p in parts] == [
        "Calibration report — demo, 2026-10", "Headline", "Who scores high or low", "Calls",
        "Questions that split the panel", "Discussion agenda", "Appendix"]
    assert {"severity", "drift", "bias_vs_expert"} <= set(parts[2].figures)
    assert set(parts[3].figures) == {"strip"} and set(parts[4].figures) == {"heatmap"}


def _text(section) -> str:
    """A section's words as a reader sees them (tags dropped, entities decoded)."""
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section._repr_html_())).split())


def test_headline_table_and_appendix_read_the_same_verdict_objects(open_month):
    """Every sentence comes from the one Verdicts object: change it and all three change."""
    import dataclasses

    verdicts = open_month.analysis.verdicts
    headline = _text(sections.show_headline(open_month))
    table = _text(sections.show_evaluators(open_month))
    appendix = _text(sections.show_appendix(open_month))
    for action in verdicts.actions:
        assert " ".join(action.title.split()) in headline
    for v in verdicts.evaluators:
        assert " ".join(v.sentence().split()) in table
        assert " ".join(v.details().split()) in appendix
    # turn the first evaluator's verdict around: headline, table and appendix all follow
    first = verdicts.evaluators[0]
    flipped = dataclasses.replace(first, verdict="lenient", severity=9.0, ci_low=7.0,
                                  ci_high=11.0, n_calls=40)
    from calib.verdicts import rank_actions

    evaluators = (flipped,) + verdicts.evaluators[1:]
    changed = dataclasses.replace(verdicts, evaluators=evaluators, actions=rank_actions(
        evaluators, verdicts.experts, verdicts.consistency, verdicts.trend))
    original = open_month.analysis
    open_month.analysis = dataclasses.replace(original, verdicts=changed)
    try:
        assert f"{first.name} (lenient)" in _text(sections.show_headline(open_month))
        assert " ".join(flipped.sentence().split()) in _text(sections.show_evaluators(open_month))
        assert " ".join(flipped.details().split()) in _text(sections.show_appendix(open_month))
        assert build_summary(open_month)["flagged_evaluators"][0]["evaluator_id"] == \
            first.evaluator_id
    finally:
        open_month.analysis = original


def test_summary_flags_exactly_the_people_the_page_calls_lenient_or_harsh(open_month):
    summary = build_summary(open_month)
    table = _text(sections.show_evaluators(open_month))
    called = {v.evaluator_id for v in open_month.analysis.verdicts.evaluators
              if f"{v.name} is {v.verdict}:" in table and v.verdict in ("lenient", "harsh")}
    listed = {f["evaluator_id"] for f in summary["flagged_evaluators"]
              if f["reference"] == "consensus"}
    assert listed == called
    for record in summary["flagged_evaluators"]:
        assert {"evaluator_id", "evaluator_name", "reference", "n", "bias", "ci_low",
                "ci_high"} <= set(record)
    assert summary["schema_version"] == 2


def test_every_chart_and_the_agenda_use_the_tables_call_labels_in_one_order(open_month):
    order = open_month.analysis.call_order
    labels = [open_month.call_label(c) for c in order]
    table = sections.show_calibrations(open_month)
    rows = re.findall(r"<tr><td[^>]*>.*?</td><td[^>]*>(.*?)</td>", table.html)
    import html as _html

    assert [_html.unescape(r).replace(" ⚠", "") for r in rows] == labels
    strip = table.figures["strip"].axes[0]
    assert [t.get_text().rsplit(" (n=", 1)[0] for t in strip.get_yticklabels()] == labels
    heatmap = sections.show_questions(open_month).figures["heatmap"].axes[0]
    assert [t.get_text() for t in heatmap.get_xticklabels()] == labels
    agenda = _text(sections.show_agenda(open_month))
    positions = [agenda.find(label) for label in labels]
    assert all(p >= 0 for p in positions), "every call appears on the agenda by its label"


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
    assert sealed_month.analysis == Analysis(problems={}), "nothing score-derived while sealed"
    header = sections.show_header(sealed_month)._repr_html_()
    assert "Completion by evaluator" in header and "closed" in header
    for show in (sections.show_evaluators, sections.show_calibrations, sections.show_questions,
                 sections.show_agenda):
        assert show(sealed_month).html == "", f"{show.__name__} must show nothing while sealed"
    summary = build_summary(sealed_month)
    assert summary["reliability"] == {} and summary["gate"] == "closed"
    finished = int((sealed_month.status["status"] == "finished").sum())
    assert summary["completion"]["finished"] == finished < summary["completion"]["assigned"]


def test_headline_names_people_and_never_their_ids(open_month):
    """The sandbox's demo calibrator drifts: on two months it is a watch, named, not an id."""
    lines = " ".join(sections.show_headline(open_month)._repr_html_().split())
    verdicts = open_month.analysis.verdicts
    assert verdicts.experts and verdicts.experts[0].name == "Quinn Calder"
    assert verdicts.experts[0].status in ("watch", "drift")
    assert "Quinn Calder" in lines
    for person in verdicts.evaluators + verdicts.experts:
        assert (getattr(person, "evaluator_id", None) or person.expert_id) not in lines
    assert headline_sentence(open_month) == verdicts.actions[0].sentence()


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


def test_session_view_takes_the_calls_label_and_refuses_an_unknown_one(open_month):
    with pytest.raises(ValueError, match="matches no call of demo in 2026-10; name one as the "
                                         "calls table does: .*·"):
        sections.show_session(open_month, "no-such-call")
    first = open_month.analysis.call_order[0]
    label = open_month.call_label(first)
    short = label.rsplit("· ", 1)[1]
    for name in (label, short, label.upper(), first):
        view = sections.show_session(open_month, name)
        assert view.title == f"Call {label}" and "strip" in view.figures


def test_anonymized_report_names_no_agent_and_says_so(store_dir):
    """Issue 18: with anonymize_agents the panel sees pseudonyms everywhere agents are named,
    and every report says calibration scores stay out of agent KPIs."""
    data = load_month(params(store_dir, anonymize_agents=True, history_months=1))
    agents = {str(n) for n in data.users["name"]} & {
        str(n) for n in data.users.set_index("user_id").reindex(
            data.month_scores["agent_id"].unique())["name"].dropna()}
    page = page_of(*(getattr(sections, name)(data) for name in SECTIONS))
    assert agents and not any(name in page for name in agents)
    assert "shown by pseudonym" in page and "excluded from agent quality KPIs" in page
