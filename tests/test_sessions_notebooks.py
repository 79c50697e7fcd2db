"""Notebooks 01 (select) and 02 (create) run headless with papermill on their sandbox defaults."""

from __future__ import annotations

from pathlib import Path

import papermill as pm
import pytest

from calib.sessions import SessionPlan

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_select_then_create_notebooks_run_on_the_sandbox(tmp_path):
    plan_path = tmp_path / "plan.yaml"
    pm.execute_notebook(str(ROOT / "notebooks" / "01_select_interactions.ipynb"),
                        str(tmp_path / "01.ipynb"), parameters={"n": 4, "out": str(plan_path)},
                        cwd=str(ROOT / "notebooks"), kernel_name="python3", progress_bar=False)
    plan = SessionPlan.from_yaml(plan_path)
    assert len(plan.conversations) == 4 and len({c.agent_id for c in plan.conversations}) >= 3
    out = pm.execute_notebook(str(ROOT / "notebooks" / "02_create_sessions.ipynb"),
                              str(tmp_path / "02.ipynb"), parameters={"plan_path": str(plan_path)},
                              cwd=str(ROOT / "notebooks"), kernel_name="python3", progress_bar=False)
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in out.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "created 0, already there 0" in text, "the default must be a dry run"
    assert "would create" in text
