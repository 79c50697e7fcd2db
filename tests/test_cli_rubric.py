"""``calib agenda``, ``calib rubric`` and ``calib consensus`` on a store filled from the sandbox org."""

from __future__ import annotations

import html
import re

import pytest

from calib.cli import main
from calib.markup import without_tags
from calib.rubric import decision_log
from calib.sandbox import generate_org
from calib.sessions import load_yaml
from calib.store import Store
from calib.stats.variance import calibration_variance

MONTH = "2026-10"
HOSTILE = "<img src=x onerror=alert(1)> & 'quoted' \"text\""


@pytest.fixture(scope="module")
def org():
    return generate_org(7)


@pytest.fixture(scope="module")
def month(org):
    s, a = org.tidy_scores(), org.tidy_answers()
    s = s[(s.team == "demo") & (s.month == MONTH)]
    a = a[(a.team == "demo") & (a.month == MONTH)].copy()
    a["comment"] = a["comment"].astype(object)
    category = a["answer_id"].where(~a["marked_na"], "N/A").fillna("blank")
    disputed = category.groupby([a.calibration_id, a.question_id]).transform("nunique") > 1
    a.loc[a.index[disputed & (a.role == "evaluator")][:5], "comment"] = HOSTILE
    return s, a


def fill(url, org, month):
    s, a = month
    users = [{"id": p.id, "name": p.name, "email": p.email} for p in org.people.values()]
    with Store(url) as st:
        st.upsert_month("demo", MONTH, s, a, forms=org.forms, users=users)


@pytest.fixture(scope="module")
def template(tmp_path_factory, org, month):
    path = tmp_path_factory.mktemp("template") / "calib.sqlite"
    fill(f"sqlite:///{path}", org, month)
    return path


@pytest.fixture
def url(template, tmp_path):
    copy = tmp_path / "calib.sqlite"
    copy.write_bytes(template.read_bytes())
    return f"sqlite:///{copy}"


@pytest.fixture
def agenda(url, tmp_path, capsys):
    out = tmp_path / "agenda"
    assert main(["agenda", "--team", "demo", "--month", MONTH, "--store", url,
                 "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    return (out / "agenda.md").read_text(), (out / "agenda.html").read_text()


def test_agenda_lists_calls_in_tier_order_with_full_sessions_first(agenda, month):
    md, _ = agenda
    table = calibration_variance(month[0]).table
    expected = table.assign(t=table.tier.map({"full_session": 0, "discuss": 1, "aligned": 2}))
    expected = expected.sort_values(["t", "range"], ascending=[True, False], kind="stable")
    shown = re.findall(r"conversation `([^`]+)`", md)
    assert shown == list(expected.conversation_id), "calls in tier order, widest range first"
    assert (expected.tier == "full_session").any(), "the sandbox month has a >15-point call"


def test_every_evaluator_answer_is_beside_the_disputed_question(agenda, month):
    md, _ = agenda
    scores, answers = month
    first = md.split("\n## ")[1]
    question = re.search(r"^\| evaluator \(total\) \| ([^|]+?) \(expert:", first, re.M).group(1)
    evaluators = scores[scores.conversation_id == re.search(r"`([^`]+)`", first).group(1)]
    for name in evaluators.evaluator_name:
        assert name.replace("'", "\\'") in first or name in first, f"{name} missing under {question}"


def test_agenda_html_escapes_every_comment_and_name(agenda):
    _, page = agenda
    assert "<img" not in page and "<script>" not in page
    # comments are shown as plain text: their tags dropped, the rest escaped
    escaped = [html.escape(without_tags(HOSTILE), quote=q) for q in (True, False)]
    assert sum(page.count(e) for e in escaped) == 5, "each hostile comment shown, escaped"
    assert "onerror" not in page
    assert "http://" not in page and "https://" not in page, "self-contained: nothing fetched"


def test_agenda_of_a_month_not_in_the_store_says_what_to_do(url, capsys):
    assert main(["agenda", "--team", "demo", "--month", "2026-03", "--store", url]) == 2
    err = capsys.readouterr().err
    assert "Team 'demo' has no calibration in 2026-03" in err and "calib report" in err


def test_rubric_record_and_export_survive_a_store_round_trip(store_url, org, month, tmp_path,
                                                               capsys):
    fill(store_url, org, month)
    question = month[1].question_id.iloc[0]
    context = month[0].form_context_id.iloc[0]
    out = tmp_path / "rubric"
    assert main(["rubric", "record", "--question", question, "--decision",
                 "Empathy counts only when the agent names the customer's problem back.",
                 "--date", "2026-10-30", "--form-context", context, "--session", "demo/2026-10",
                 "--anchor", "Yes: restates the problem", "--anchor", "No: generic apology",
                 "--agreed-by", "Quinn Calder", "--agreed-by", "Dana Chen",
                 "--store", store_url, "--dir", str(out)]) == 0
    assert "Recorded decision #" in capsys.readouterr().out
    with Store(store_url) as again:
        log = decision_log(again)
    assert list(log.question_id) == [question]
    assert list(log.anchors.iloc[0]) == ["Yes: restates the problem", "No: generic apology"]
    assert list(log.agreed_by.iloc[0]) == ["Quinn Calder", "Dana Chen"]
    exported = load_yaml(next(out.glob("*.yaml")).read_text())  # calib reads dates as text
    assert exported["decisions"][0]["decided_on"] == "2026-10-30"
    assert exported["decisions"][0]["session"] == "demo/2026-10"
    for path in out.iterdir():
        path.unlink()
    assert main(["rubric", "export", "--store", store_url, "--dir", str(out)]) == 0
    assert sorted(p.suffix for p in out.iterdir()) == [".md", ".yaml"]


def test_a_bad_decision_date_is_refused_in_a_sentence(url, capsys):
    code = main(["rubric", "record", "--question", "q", "--decision", "d", "--date", "30/10/2026",
                 "--form-context", "f", "--agreed-by", "QM", "--store", url, "--no-export"])
    assert code == 2
    assert "The meeting date must be written YYYY-MM-DD" in capsys.readouterr().err


def test_consensus_record_then_show(url, month, capsys):
    scores, answers = month
    cal = scores.calibration_id.iloc[0]
    expert = answers[(answers.calibration_id == cal) & (answers.role == "expert")].iloc[0]
    answer = "N/A" if expert.marked_na else expert.answer_id
    assert main(["consensus", "record", "--calibration", cal, "--question", expert.question_id,
                 "--answer", answer, "--by", "panel", "--at", "2026-10-30T15:00:00Z",
                 "--store", url]) == 0
    capsys.readouterr()
    assert main(["consensus", "show", "--team", "demo", "--store", url]) == 0
    out = capsys.readouterr().out
    assert MONTH in out and "mean_abs_difference" in out
    assert f"{scores.calibration_id.nunique() - 1} calibration(s) without consensus" in out


def test_consensus_for_an_unknown_calibration_is_refused(url, capsys):
    assert main(["consensus", "record", "--calibration", "nope", "--question", "q", "--answer",
                 "a", "--by", "panel", "--at", "2026-10-30T15:00:00Z", "--store", url]) == 2
    err = capsys.readouterr().err
    assert "No call matches 'nope'" in err and "stored calls begin" in err


def test_consensus_is_recorded_by_the_words_the_agenda_shows(url, month, capsys):
    """Issue 11: consensus record took three UUIDs (calibration, question, answer option) that
    the agenda does not show; it now takes the conversation's first characters, the question's
    text and the answer's words."""
    scores, answers = month
    row = answers[(answers.role == "expert") & ~answers.marked_na].iloc[0]
    assert main(["consensus", "record", "--call", row.conversation_id[:8], "--question",
                 row.question_text[:15], "--answer", str(row.answer_text).upper(), "--by", "panel",
                 "--store", url]) == 0
    assert f"Recorded the agreed answer {row.answer_text!r} to {row.question_text!r}" in \
        capsys.readouterr().out
    with Store(url) as store:
        agreed = store.consensus(calibration_id=row.calibration_id)
    assert agreed[["question_id", "answer_id"]].values.tolist() == [[row.question_id,
                                                                     row.answer_id]]


# -- issue 10: names never choose a path; user text never becomes markup -----------------------

def test_an_agenda_for_a_team_name_that_climbs_out_of_outputs_is_refused(url, tmp_path, capsys,
                                                                          monkeypatch):
    """`calib agenda --team ../../x` used to write outside outputs/."""
    (tmp_path / "parameters").mkdir()
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["agenda", "--team", "../../x", "--month", MONTH, "--store", url]) == 2
    assert "is not a team name" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert not (tmp_path.parent.parent / "x").exists()


def test_an_agenda_for_a_team_with_nothing_stored_does_not_claim_sealed_calibrations(url, capsys):
    assert main(["agenda", "--team", "nosuch", "--month", MONTH, "--store", url]) == 2
    err = capsys.readouterr().err
    assert "Team 'nosuch' has no calibration in 2026-10" in err and "sealed" not in err


def test_a_form_id_that_climbs_out_of_the_rubric_folder_stays_inside(url, tmp_path, capsys):
    """`rubric record --form-context "/../../z"` used to write outside the folder, and the bad
    note then broke every later record and export with FileNotFoundError."""
    out = tmp_path / "deep" / "rubric"
    for context in ("/../../z", "../../../etc/passwd", "a/b/c"):
        assert main(["rubric", "record", "--question", "q1", "--decision", "d",
                     "--date", "2026-10-30", "--form-context", context, "--agreed-by", "QM",
                     "--store", url, "--dir", str(out)]) == 0, capsys.readouterr().err
    written = sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".sqlite")
    assert all((out / name).is_file() for name in written), written
    assert len(written) == 6
    assert main(["rubric", "export", "--store", url, "--dir", str(out)]) == 0


def test_rubric_text_is_markdown_escaped(url, tmp_path):
    out = tmp_path / "rubric"
    payloads = ["<script>alert(1)</script>", "![x](javascript:alert(1))",
                "<iframe src=//evil>", "[click](http://evil.example)"]
    assert main(["rubric", "record", "--question", "q1", "--decision", payloads[0],
                 "--anchor", payloads[1], "--anchor", payloads[2], "--agreed-by", payloads[3],
                 "--date", "2026-10-30", "--form-context", "ctx", "--store", url,
                 "--dir", str(out)]) == 0
    md = next(out.glob("*.md")).read_text()
    for tag in ("<script", "<iframe", "!["):
        assert tag not in md, f"{tag!r} reached the Markdown unescaped"
    assert not re.search(r"(?<!\\)\]\(", md), "a link target reached the Markdown unescaped"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    exported = load_yaml(next(out.glob("*.yaml")).read_text())
    assert exported["decisions"][0]["decision"] == payloads[0], "YAML keeps the text as typed"


@pytest.mark.parametrize("date, says", [("2026-13-45", "is not a day of the calendar"),
                                        ("2026-02-30", "is not a day of the calendar")])
def test_an_impossible_meeting_date_is_named_in_a_sentence(url, capsys, date, says):
    assert main(["rubric", "record", "--question", "q", "--decision", "d", "--date", date,
                 "--form-context", "f", "--agreed-by", "QM", "--store", url, "--no-export"]) == 2
    err = capsys.readouterr().err
    assert f"The meeting date '{date}' {says}" in err and "YYYY-MM-DD" in err
