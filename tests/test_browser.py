"""The rendered report opens offline in a real browser: charts load, nothing is fetched, and a
hostile name from the sandbox org stays text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from calib.render.runner import render

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
SCRIPT_NAME = "<script>alert(1)</script>"
REPORT = ROOT / "notebooks" / "04_monthly_report.ipynb"


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo month rendered once for this module, with its own store."""
    from tests.conftest import require_or_skip
    from tests.fixtures.browser import chromium_path

    require_or_skip(chromium_path() is not None, "Chromium not found; install the chromium package")
    tmp = tmp_path_factory.mktemp("report")
    params = tmp / "demo.yaml"
    text = (ROOT / "parameters" / "demo.yaml").read_text()
    params.write_text(text.replace("n_boot: 1000", "n_boot: 200"))
    return render(params, notebook=REPORT, outputs_root=tmp / "outputs").html


def test_report_opens_offline_with_every_chart_loaded(demo_report, offline_page, tmp_path):
    view = offline_page(demo_report)
    shot = view.screenshot(Path(os.environ.get("CALIB_SCREENSHOT", tmp_path / "report.png")))
    images = view.images()
    assert len(images) >= 5, f"expected the report's charts, found {len(images)} images"
    broken = [i["alt"] for i in images if not i["complete"] or i["width"] == 0]
    assert not broken, f"charts that did not load: {broken}"
    assert view.blocked == [], f"requests that tried to leave the machine: {view.blocked}"
    assert view.dialogs == [], "a script ran in the report"
    assert shot.stat().st_size > 50_000
    headings = view.page.eval_on_selector_all("h1, h2", "els => els.map(e => e.textContent)")
    assert headings[:3] == ["Calibration report — demo, 2026-10", "Headline", "Calibrations"]


def test_a_script_tag_as_an_agent_name_renders_as_text(tmp_path, offline_page):
    """The sandbox org has an agent named <script>alert(1)</script>: show it, never run it."""
    from calib.report.display import table_html
    from calib.render.html import export_html
    import nbformat

    from calib.sandbox import generate_org

    names = [p.name for p in generate_org(7).agents]
    assert SCRIPT_NAME in names, "the sandbox org should carry the hostile agent name"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"text/html": table_html([(SCRIPT_NAME, 90)], ["agent", "score"])})]
    nb.cells = [cell]
    path = tmp_path / "agents.ipynb"
    nbformat.write(nb, path)
    html = export_html(path, tmp_path / "agents.html", title=SCRIPT_NAME)
    view = offline_page(html)
    assert view.page.title() == SCRIPT_NAME
    assert view.page.inner_text("td") == SCRIPT_NAME
    assert view.page.eval_on_selector_all("script", "els => els.length") == 0
    assert view.dialogs == [] and view.blocked == []


def test_the_harness_records_requests_that_would_leave(tmp_path, offline_page):
    page = tmp_path / "leaky.html"
    page.write_text('<html><body><img src="https://example.com/x.png" alt="remote"></body></html>')
    view = offline_page(page)
    assert view.blocked == ["https://example.com/x.png"]
    assert view.images()[0]["width"] == 0
