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
    assert headings[:4] == ["Calibration report — demo, 2026-10", "Headline",
                            "Who scores high or low", "Calls"]


def test_headline_bias_chart_and_an_agenda_grid_render_and_name_calls_alike(demo_report,
                                                                           offline_page,
                                                                           tmp_path):
    """Issue 13: screenshots of what a QM lead reads first, and one label per call everywhere
    the page names calls (the table, the agenda grids); the charts' labels are checked against
    the same labels in test_report_sections (they are pictures here)."""
    view = offline_page(demo_report)
    folder = Path(os.environ.get("CALIB_SCREENSHOT_DIR", tmp_path))
    shots = {}
    for name, selector in (("headline", ".calib-headline"),
                           ("severity", "img[alt='Evaluator severity against the other "
                                        "evaluators']"),
                           ("agenda-grid", ".calib-call")):
        element = view.page.query_selector(selector)
        assert element is not None, f"{name} ({selector}) is missing from the page"
        box = element.bounding_box()
        assert box["width"] > 300 and box["height"] > 100, f"{name} is drawn too small: {box}"
        shots[name] = folder / f"report-{name}.png"
        element.screenshot(path=str(shots[name]))
        assert shots[name].stat().st_size > 5_000
    # The headline speaks in words first; the coefficients wait in a closed details line.
    headline = view.page.inner_text(".calib-headline")
    assert "ICC" not in headline and "alpha" not in headline
    assert view.page.eval_on_selector("details.calib-details", "e => e.open") is False
    # one agenda grid fits a printed page (A4 at 96 dpi is about 1,100 px tall)
    heights = view.page.eval_on_selector_all(".calib-call",
                                             "els => els.map(e => e.offsetHeight)")
    assert heights and max(heights) < 1100, heights
    table_labels = view.page.eval_on_selector_all(
        "section.calib-section:has(h2:text-is('Calls')) tbody tr td:nth-child(2)",
        "els => els.map(e => e.textContent.replace(' ⚠', '').trim())")
    agenda_labels = view.page.eval_on_selector_all(
        ".calib-call h3", "els => els.map(e => e.firstChild.textContent.replace(/^\\d+\\. /, '')"
                          ".trim())")
    assert table_labels and agenda_labels
    assert agenda_labels == [x for x in table_labels if x in agenda_labels], \
        "the agenda lists calls by the table's labels, in the table's order"


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


@pytest.fixture(scope="module")
def demo_review(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo org's program review rendered once by ``calib review`` (its own store and
    sandbox state, from the suite's environment)."""
    from tests.conftest import require_or_skip
    from tests.fixtures.browser import chromium_path

    from calib.cli import main

    require_or_skip(chromium_path() is not None, "Chromium not found; install the chromium package")
    out = tmp_path_factory.mktemp("review") / "outputs"
    assert main(["review", "--params", str(ROOT / "parameters" / "review-demo.yaml"),
                 "--outputs", str(out)]) == 0
    return out / "program_review" / "review-demo_2026-05_2026-10" / "program_review.html"


def test_the_review_opens_offline_with_its_charts_and_the_form_versions(demo_review,
                                                                          offline_page, tmp_path):
    view = offline_page(demo_review)
    shot = view.screenshot(Path(os.environ.get("CALIB_SCREENSHOT_DIR", tmp_path))
                           / "review.png")
    images = view.images()
    assert len(images) >= 2, f"expected the review's two charts, found {len(images)} images"
    broken = [i["alt"] for i in images if not i["complete"] or i["width"] == 0]
    assert not broken, f"charts that did not load: {broken}"
    assert view.blocked == [], f"requests that tried to leave the machine: {view.blocked}"
    assert view.dialogs == [], "a script ran in the review"
    assert shot.stat().st_size > 50_000
    headings = view.page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
    assert [h.rstrip("¶") for h in headings[:6]] == [
        "For the director", "Reliability per team and month", "Evaluators over time",
        "How far initial scores move at the meeting", "Form versions and rubric notes compared",
        "Calibration of calibrators (the period's last quarter)"]
    text = view.page.inner_text("body")
    assert "Over May–October 2026, 4 teams were reviewed." in text
    # Voice Quality's version 2 (from 2026-08): every question on both versions, with its n
    rows = view.page.eval_on_selector_all(
        "table:has(th:text-is('p (Holm)')) tbody tr",
        "els => els.map(e => Array.from(e.cells).map(c => c.textContent))")
    assert len(rows) >= 10 and all(r[0] == "Voice Quality v2 (2026-08)" for r in rows)
    assert all("(n = " in r[2] and "(n = " in r[3] for r in rows)
