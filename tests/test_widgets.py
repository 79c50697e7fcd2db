"""The session-setup form against a live sandbox, without a browser: set the widgets' values,
click, and check the preview, the plan YAML, the sandbox's calibrations and the messages."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from calib.cli import main
from calib.sessions import SessionPlan
from calib.widgets import SessionSetupForm, plan_file_name
from calib.context import Backend


def make_form(sb, tmp_path, **kwargs):
    backend = Backend("sandbox", sb.client(), sandbox=sb, clock=sb.now)
    form = SessionSetupForm.for_backend(backend, team="demo", month="2026-11",
                                        plans_dir=tmp_path / "sessions", **kwargs)
    form.start.value, form.end.value = date(2026, 11, 6), date(2026, 11, 7)
    form.n.value, form.seed.value = 4, 1
    form.deadline.value = "2026-11-20T17:00:00Z"
    return form


def calibrations_of(sb, plan) -> Counter:
    counts: Counter = Counter()
    for cal in sb.client().iter_calibrations(plan.calibrator_id):
        if cal["conversation"]["id"] in plan.conversation_ids:
            counts[cal["conversation"]["id"]] += 1
    return counts


def test_preview_then_create_writes_the_plan_and_a_headless_rerun_creates_nothing(
        fresh_sandbox, tmp_path, monkeypatch, capsys):
    sb = fresh_sandbox()
    form = make_form(sb, tmp_path)
    team = sb.truth.teams["demo"]
    assert form.calibrator.value == team["calibrator_id"]
    assert set(form.panel.value) == set(team["panel_ids"])

    form.preview_button.click()
    assert form.error is None, form.messages.value
    assert len(form.candidates) == 4 and form.candidates["agent_id"].nunique() >= 3
    for reason in form.candidates["reason"]:
        assert reason.split(":")[0] in form.output.value, "each candidate's reason is shown"

    form.create_button.click()  # the dry-run toggle is on by default
    assert form.error is None, form.messages.value
    assert form.result.created == 0 and "would create 4" in form.messages.value
    assert calibrations_of(sb, form.plan) == Counter()
    assert not (tmp_path / "sessions").exists(), "a dry run writes nothing, not even the plan"

    form.dry_run.value = False
    form.create_button.click()
    assert form.error is None, form.messages.value
    assert form.result.created == 4 and form.progress.value == 4
    assert form.plan_path == tmp_path / "sessions" / "demo-2026-11-general.yaml"
    assert SessionPlan.from_yaml(form.plan_path) == form.plan
    assert calibrations_of(sb, form.plan) == Counter({c: 1 for c in form.plan.conversation_ids})

    form.create_button.click()
    assert form.result.created == 0 and form.result.existing == 4, "Create twice: nothing new"

    monkeypatch.setenv("GENESYSCLOUD_API_REGION", sb.base_url)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", sb.client_id)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", sb.client_secret)
    capsys.readouterr()
    assert main(["create", "--plan", str(form.plan_path), "--backend", "genesys", "--yes",
                 "--no-store"]) == 0
    assert "Created 0, already there 4" in capsys.readouterr().out
    assert calibrations_of(sb, form.plan) == Counter({c: 1 for c in form.plan.conversation_ids})
    assert sb.client_secret not in form.messages.value + form.output.value


def test_validation_messages_are_the_librarys_and_nothing_is_created(fresh_sandbox, tmp_path):
    sb = fresh_sandbox()
    form = make_form(sb, tmp_path)
    form.n.value = 2
    form.preview_button.click()
    assert form.candidates is None
    assert "n must be an integer of at least 3" in form.error
    assert "n must be an integer of at least 3" in form.messages.value

    form.n.value = 4
    form.preview_button.click()
    assert form.error is None
    form.panel.value = form.panel.value[:1]
    form.deadline.value = "2026-11-01T17:00:00Z"
    form.dry_run.value = False
    form.preview_button.click()
    form.create_button.click()
    assert form.result is None and form.plan_path is None
    assert "The panel has 1 distinct evaluator(s)" in form.error
    assert "is not in the future" in form.error
    assert form.messages.value.count("<li>") == 2, "each problem is one line of the form"
    assert calibrations_of(sb, form.plan) == Counter()
    assert not (tmp_path / "sessions").exists(), "an invalid plan is not written"


def test_a_plan_file_holding_another_plan_is_replaced_only_when_asked(fresh_sandbox, tmp_path):
    """The widget's Create used to rewrite the committed plan of the same name silently."""
    sb = fresh_sandbox()
    form = make_form(sb, tmp_path)
    target = tmp_path / "sessions" / "demo-2026-11-general.yaml"
    target.parent.mkdir()
    target.write_text("# a plan someone reviewed\n")
    form.preview_button.click()
    form.dry_run.value = False
    form.create_button.click()
    assert form.result is None and "already holds a different plan" in form.error
    assert target.read_text() == "# a plan someone reviewed\n"
    assert calibrations_of(sb, form.plan) == Counter(), "nothing created when the plan is kept"
    form.replace_plan.value = True
    form.create_button.click()
    assert form.error is None and SessionPlan.from_yaml(target) == form.plan


def test_create_before_preview_says_what_to_do(sandbox, tmp_path):
    form = make_form(sandbox, tmp_path)
    form.create_button.click()
    assert form.error == "There is no plan yet; press Preview first."


def test_panel_search_narrows_the_list_and_keeps_the_chosen(sandbox, tmp_path):
    form = make_form(sandbox, tmp_path)
    chosen = set(form.panel.value)
    form.panel_search.value = "zoe"
    labels = [label for label, _ in form.panel.options]
    assert any("Zoe" in label for label in labels)
    assert len(labels) < len(form._people)
    assert set(form.panel.value) == chosen, "filtering never drops a chosen panel member"
    form.panel_search.value = ""
    assert len(form.panel.options) == len(form._people)


def test_form_lists_published_versions_by_name_with_the_latest_chosen(sandbox, tmp_path):
    form = make_form(sandbox, tmp_path)
    published = list(sandbox.client().iter_published_evaluation_forms())
    assert len(form.form.options) == len(published)
    assert form.form.label.endswith("(latest)")
    assert all(label.startswith("Voice Quality") for label, _ in form.form.options)


@pytest.mark.parametrize("name, expected", [("demo 2026-11 general", "demo-2026-11-general.yaml"),
                                            ("../x y", "x-y.yaml")])
def test_plan_file_name_is_safe(name, expected):
    assert plan_file_name(name) == expected


@pytest.mark.slow
def test_session_setup_notebook_builds_the_form_headless(tmp_path):
    """Executed headless (papermill), the notebook builds the form and needs no click."""
    from pathlib import Path

    import papermill as pm

    root = Path(__file__).resolve().parents[1]
    out = pm.execute_notebook(str(root / "notebooks" / "session_setup.ipynb"),
                              str(tmp_path / "setup.ipynb"), parameters={"n": 4},
                              cwd=str(root / "notebooks"), kernel_name="python3",
                              progress_bar=False)
    shown = [o for c in out.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in shown)
    assert not any(o.get("output_type") == "error" for o in shown)
