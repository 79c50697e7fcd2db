"""Agent anonymity for the panel and the KPI separation note (issue 18): stable pseudonyms in
the agenda and the report, and the check behind the note."""

from __future__ import annotations

import re

import pytest

from calib.anonymity import KPI_NOTE, check_kpi_separation, pseudonyms
from calib.cli import main
from calib.report.data import _read_month
from calib.sandbox import generate_org
from calib.store import Store

MONTH = "2026-10"


@pytest.fixture(scope="module")
def org():
    return generate_org(7)


@pytest.fixture(scope="module")
def url(tmp_path_factory, org):
    path = tmp_path_factory.mktemp("anon") / "calib.sqlite"
    s, a = org.tidy_scores(), org.tidy_answers()
    users = [{"id": p.id, "name": p.name, "email": p.email} for p in org.people.values()]
    with Store(f"sqlite:///{path}") as st:
        for month in ("2026-09", MONTH):
            st.upsert_month("demo", month, s[(s.team == "demo") & (s.month == month)],
                            a[(a.team == "demo") & (a.month == month)], forms=org.forms,
                            users=users)
    return f"sqlite:///{path}"


def test_pseudonyms_are_stable_distinct_and_keyed(monkeypatch):
    ids = [f"agent-{i}" for i in range(300)]
    first = pseudonyms(ids + [None, float("nan"), "agent-1"], team="demo")
    assert set(first) == set(ids) and len(set(first.values())) == 300
    assert all(re.fullmatch(r"Agent [A-Z2-7]{4,}", p) for p in first.values())
    assert pseudonyms(reversed(ids), team="demo") == first, "order does not matter"
    assert pseudonyms(ids[:5], team="demo") == {i: first[i] for i in ids[:5]}, "nor the others"
    assert pseudonyms(ids, team="north") != first, "another team, other pseudonyms"
    monkeypatch.setenv("CALIB_PSEUDONYM_KEY", "s3cret")
    assert pseudonyms(ids, team="demo") != first, "the key changes them"


def test_the_agenda_hides_agents_behind_the_same_pseudonym_every_month(url, org, tmp_path,
                                                                      capsys):
    s = org.tidy_scores()
    agents = {org.people[a].name for a in s[(s.team == "demo") & (s.month == MONTH)]["agent_id"]}
    evaluators = set(s[(s.team == "demo") & (s.month == MONTH)]["evaluator_name"])
    shown = {}
    for month in ("2026-09", MONTH):
        out = tmp_path / month
        assert main(["agenda", "--team", "demo", "--month", month, "--anonymize", "--out",
                     str(out), "--store", url]) == 0
        text = (out / "agenda.md").read_text() + (out / "agenda.html").read_text()
        assert not any(name in text for name in agents - evaluators), "no agent's name"
        assert any(name in text for name in evaluators), "evaluators keep their names"
        assert "Agents are shown by pseudonym" in text and KPI_NOTE[:40] in text
        for label, conversation in re.findall(
                r"^## \d+\. (Agent \w+) · \w+\n\n.*conversation `([^`]+)`",
                (out / "agenda.md").read_text(), re.M):
            shown[conversation] = label
    agent_of = dict(zip(s["conversation_id"], s["agent_id"]))
    by_agent = {}
    for conversation, label in shown.items():
        by_agent.setdefault(agent_of[conversation], set()).add(label)
    assert by_agent and all(len(labels) == 1 for labels in by_agent.values())
    assert len({next(iter(v)) for v in by_agent.values()}) == len(by_agent)
    plain = tmp_path / "plain"
    assert main(["agenda", "--team", "demo", "--month", MONTH, "--out", str(plain),
                 "--store", url]) == 0
    text = (plain / "agenda.md").read_text()
    assert any(name in text for name in agents - evaluators), "without the flag, names"
    assert KPI_NOTE[:40] in text, "the KPI note is on every agenda"


def test_the_report_data_names_agents_by_pseudonym_only_when_asked(url, org):
    with Store(url) as store:
        plain = _read_month(store, {}, "demo", MONTH, ["2026-09", MONTH], [])
        hidden = _read_month(store, {"anonymize_agents": True}, "demo", MONTH,
                             ["2026-09", MONTH], [])
    cal = hidden.month_scores["calibration_id"].iloc[0]
    agent = hidden.month_scores["agent_id"].iloc[0]
    evaluator = hidden.month_scores["evaluator_id"].iloc[0]
    assert plain.call_label(cal).startswith(org.people[agent].name)
    assert hidden.call_label(cal).startswith(pseudonyms([agent], team="demo")[agent])
    assert hidden.name_of(evaluator) == plain.name_of(evaluator) == org.people[evaluator].name
    assert hidden.agent_names[agent].startswith("Agent ")


def test_calibration_evaluations_are_never_released_to_agents(sandbox):
    """The check behind the KPI note, on what the (sandbox) org serves for every calibration."""
    client = sandbox.client()
    team = sandbox.truth.teams["demo"]
    evaluations = [ev for cal in client.iter_calibrations(team["calibrator_id"])
                   for ev in cal.get("evaluations") or ()]
    assert evaluations and check_kpi_separation(evaluations) == []
    leaked = {**evaluations[0], "neverRelease": False, "releaseDate": "2026-11-01T00:00:00Z"}
    problems = check_kpi_separation([leaked])
    assert len(problems) == 2 and "released to the agent on 2026-11-01" in problems[1]
    assert check_kpi_separation([{"id": "e1", "releaseDate": "x"}]) == [], \
        "an agent's own (non-calibration) evaluation is not this check's business"
