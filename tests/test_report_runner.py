"""The runner executes real notebooks with papermill and exports offline HTML with nbconvert.

These tests use small notebooks built here, so they do not depend on the data modules.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import nbformat
import pytest

from calib.cli import main
from calib.render.html import export_html, offline_problems
from calib.render.contract import ParameterError
from calib.render.runner import RenderError, _local_kernel_manager, render, render_many

ROOT = Path(__file__).resolve().parents[1]

PARAMS = '''team: str = "demo"  # team name
month: str = "2026-10"  # YYYY-MM
output_dir: str = ""  # set by the runner
'''

BODY = [
    "import calib.report\nfrom calib.report.display import Section, figure_html, esc\n"
    "import matplotlib.figure\nfig = matplotlib.figure.Figure(figsize=(3, 2))\n"
    "fig.add_subplot().plot([1, 2, 3])",
    "SECRET_SOURCE_MARKER = 1\nSection('Chart', figure_html(fig, alt='a line') + "
    "'<p>' + esc('<script>alert(1)</script>') + '</p>')",
    "import sys\nprint('a warning', file=sys.stderr)",
    "calib.report.write_summary({'team': team, 'month': month, 'value': float('nan')}, "
    "output_dir);",
]


def make_notebook(path: Path, body=BODY, params=PARAMS, writes=("summary.json",)) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    # the report's rules for its values, and the files every run must write
    nb.metadata["calib"] = {"rules": "calib.report.parameters:check", "writes": list(writes)}
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Report"), cell]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in body]
    nbformat.write(nb, path)
    return path


def params_file(tmp_path: Path, team: str = "demo", month: str = "2026-10") -> Path:
    path = tmp_path / f"{team}.yaml"
    path.write_text(f'team: {team}\nmonth: "{month}"\n')
    return path


def test_render_writes_notebook_offline_html_and_summary(tmp_path):
    nb = make_notebook(tmp_path / "04_monthly_report.ipynb")
    result = render(params_file(tmp_path), notebook=nb, outputs_root=tmp_path / "out")

    assert result.output_dir == (tmp_path / "out" / "demo" / "2026-10").resolve()
    assert result.notebook.name == "monthly_report.ipynb" and result.notebook.is_file()
    summary = json.loads(result.summary.read_text())
    assert summary == {"team": "demo", "month": "2026-10", "value": None}

    page = result.html.read_text()
    assert offline_problems(page) == []
    assert "SECRET_SOURCE_MARKER" not in page, "input cells must not be in the HTML"
    assert "a warning" not in page, "stderr streams are dropped from the page"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('src="data:image/png;base64,') == 1
    executed = nbformat.read(result.notebook, as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert str(result.output_dir) in injected[0].source, "the runner sets output_dir"


def test_failing_cell_names_cell_and_error_and_keeps_the_notebook(tmp_path):
    good = make_notebook(tmp_path / "04_monthly_report.ipynb")
    out = tmp_path / "out"
    first = render(params_file(tmp_path), notebook=good, outputs_root=out)
    bad = make_notebook(good, body=["x = 1", "ratio = x / 0", "print('never')"])
    with pytest.raises(RenderError) as info:
        render(params_file(tmp_path), notebook=bad, outputs_root=out)
    message = str(info.value)
    assert "cell 5" in message and "'ratio = x / 0'" in message
    assert "ZeroDivisionError: division by zero" in message
    failed = first.output_dir / "monthly_report.failed.ipynb"
    assert str(failed) in message and failed.is_file()
    assert not first.html.exists() and not first.summary.exists(), \
        "a failed run must not leave the previous run's report looking current"


def test_missing_summary_is_an_error_for_the_report_notebook(tmp_path):
    nb = make_notebook(tmp_path / "04_monthly_report.ipynb", body=["x = 1"])
    with pytest.raises(RenderError, match="wrote no summary.json"):
        render(params_file(tmp_path), notebook=nb, outputs_root=tmp_path / "out")


def test_bad_parameters_fail_before_a_kernel_starts(tmp_path):
    nb = make_notebook(tmp_path / "nb.ipynb", body=["open('ran', 'w').write('x')"])
    bad = tmp_path / "bad.yaml"
    bad.write_text('team: demo\nmonth: "2026-10"\nclient_secret: abc\n')
    with pytest.raises(ParameterError, match="looks like a secret"):
        render(bad, notebook=nb, outputs_root=tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "ran").exists()


def test_render_many_renders_two_teams_in_parallel(tmp_path):
    nb = make_notebook(tmp_path / "04_monthly_report.ipynb")
    files = [params_file(tmp_path, "demo"), params_file(tmp_path, "north")]
    results = render_many(files, jobs=2, notebook=nb, outputs_root=tmp_path / "out")
    assert [r.team for r in results] == ["demo", "north"]
    for result in results:
        assert json.loads(result.summary.read_text())["team"] == result.team
        assert result.html.is_file()


def test_render_many_refuses_duplicates_and_bad_files_up_front(tmp_path):
    nb = make_notebook(tmp_path / "04_monthly_report.ipynb")
    demo = params_file(tmp_path, "demo")
    other = tmp_path / "again.yaml"
    other.write_text(demo.read_text())
    with pytest.raises(ParameterError, match="both render team 'demo'"):
        render_many([demo, other], notebook=nb, outputs_root=tmp_path / "out")
    bad = tmp_path / "bad.yaml"
    bad.write_text('team: north\nmonth: "2026-13"\n')
    with pytest.raises(ParameterError, match="bad.yaml"):
        render_many([demo, bad], notebook=nb, outputs_root=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_exit_codes(tmp_path, capsys):
    nb = make_notebook(tmp_path / "04_monthly_report.ipynb", body=["raise KeyError('boom')"])
    args = ["report", "--params", str(params_file(tmp_path)), "--notebook", str(nb),
            "--outputs", str(tmp_path / "out")]
    assert main(args) == 1
    assert "KeyError: 'boom'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("team: demo\n")
    assert main(["run", str(nb), "--params", str(bad)]) == 2
    assert "lacks the key(s) 'month'" in capsys.readouterr().err


def test_export_refuses_a_page_with_a_script(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data",
                                           data={"text/html": "<script>alert(1)</script>"})]
    nb.cells = [cell]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="would not work offline: a <script> element"):
        export_html(path, tmp_path / "x.html", title="x")
    assert not (tmp_path / "x.html").exists()


def test_export_drops_javascript_outputs(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"application/javascript": "fetch('https://x.example')",
                              "text/plain": "<js>"})]
    nb.cells = [cell]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    page = export_html(path, tmp_path / "x.html", title="t").read_text()
    assert "x.example" not in page and offline_problems(page) == []


@pytest.mark.parametrize("snippet, problem", [
    ('<link rel="stylesheet" href="https://cdn.example/x.css">', "<link"),
    ('<img src="http://example.com/a.png">', "<img src="),
    ("<style>@import 'https://fonts.example/x.css';</style>", "@import"),
    ("<style>body { background: url(https://x.example/b.png) }</style>", "CSS url("),
    ('<div style="background:url(//x.example/a.png)"></div>', "CSS url("),
    ('<img src="data:image/png;base64,AA" onload="x()">', "onload"),
    ("<iframe></iframe>", "<iframe>"),
])
def test_offline_problems_finds_fetches_and_scripts(snippet, problem):
    problems = offline_problems(f"<html><body>{snippet}</body></html>")
    assert any(problem in p for p in problems), problems


def test_offline_problems_accepts_data_images_and_links():
    page = ('<html><head><style>td { color: red }</style></head><body>'
            '<img src="data:image/png;base64,AA"><a href="https://doi.org/x">ref</a></body></html>')
    assert offline_problems(page) == []


# -- issue 10: output folders, and two runs for one team and month ------------------------------

def test_an_outputs_path_that_is_a_file_is_refused_before_a_kernel_starts(tmp_path, capsys):
    nb = make_notebook(tmp_path / "04_monthly_report.ipynb")
    not_a_folder = tmp_path / "outputs.txt"
    not_a_folder.write_text("keep me")
    assert main(["report", "--params", str(params_file(tmp_path)), "--notebook", str(nb),
                 "--outputs", str(not_a_folder)]) == 2
    assert "is a file; pass a folder" in capsys.readouterr().err
    assert not_a_folder.read_text() == "keep me"


def test_a_second_run_for_the_same_month_says_so_and_touches_nothing(tmp_path):
    import fcntl

    nb = make_notebook(tmp_path / "04_monthly_report.ipynb")
    first = render(params_file(tmp_path), notebook=nb, outputs_root=tmp_path / "out")
    before = {p.name: p.read_bytes() for p in first.output_dir.iterdir() if p.is_file()}
    with open(first.output_dir / ".render.lock", "a+") as held:  # a run in progress
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(RenderError, match=r"Another run is rendering demo 2026-10 into .* "
                                              r"right now; nothing was changed"):
            render(params_file(tmp_path), notebook=nb, outputs_root=tmp_path / "out")
    assert {p.name: p.read_bytes() for p in first.output_dir.iterdir() if p.is_file()} == before


def test_two_simultaneous_runs_leave_one_complete_report(tmp_path):
    """Two `calib report` runs for one team and month: the second used to delete the first's
    summary.json and the first then failed."""
    from concurrent.futures import ThreadPoolExecutor

    nb = make_notebook(tmp_path / "04_monthly_report.ipynb")
    files = [params_file(tmp_path / name) for name in ("a", "b") if
             (tmp_path / name).mkdir() is None]

    def attempt(path):
        try:
            return render(path, notebook=nb, outputs_root=tmp_path / "out")
        except RenderError as exc:
            return exc

    for _ in range(3):
        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(attempt, files))
        done = [o for o in outcomes if not isinstance(o, RenderError)]
        lost = [o for o in outcomes if isinstance(o, RenderError)]
        assert done, f"no run finished: {lost}"
        assert all("Another run is rendering" in str(e) for e in lost), lost
        out = done[0].output_dir
        names = sorted(p.name for p in out.iterdir())
        assert names == [".render.lock", "monthly_report.html", "monthly_report.ipynb",
                         "summary.json"], names
        assert json.loads((out / "summary.json").read_text())["team"] == "demo"
    assert not [p for p in out.parent.iterdir() if "rendering" in p.name], "no staging left"


def test_a_month_with_no_calibrations_exits_non_zero_naming_the_latest_month(tmp_path, capsys):
    """A future month used to render with exit 0, 'gate closed' and 'chase the open
    evaluations listed below' while nothing was listed."""
    demo = (Path(__file__).resolve().parents[1] / "parameters" / "demo.yaml").read_text()
    path = tmp_path / "future.yaml"
    path.write_text(demo.replace('month: "2026-10"', 'month: "2027-03"').replace(
        "store_url: \"\"", f"store_url: \"sqlite:///{tmp_path / 'calib.sqlite'}\""))
    assert 'month: "2027-03"' in path.read_text()
    assert main(["report", "--params", str(path), "--outputs", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert "Team 'demo' has no calibration in 2027-03" in err
    assert "the latest month with calibrations is 2026-11" in err
    assert not list((tmp_path / "out").rglob("*.html"))


def test_shutdown_sends_no_sigint_to_a_finished_kernel():
    """jupyter_client interrupts before every shutdown; an idle kernel then printed "ERROR |
    KeyboardInterrupt caught in kernel" on a new user's terminal now and then."""
    async def run() -> tuple[list, list, bool]:
        km = _local_kernel_manager()(kernel_name="python3")
        await km.start_kernel()
        sent: list = []
        original = km.provisioner.send_signal

        async def spy(signum):
            sent.append(signum)
            return await original(signum)

        km.provisioner.send_signal = spy
        await km.interrupt_kernel()
        outside = list(sent)
        sent.clear()
        await km.shutdown_kernel()
        return outside, sent, await km.is_alive()

    outside, during, alive = asyncio.run(run())
    assert outside == [signal.SIGINT], "an interrupt outside shutdown still reaches the kernel"
    assert signal.SIGINT not in during and not alive


@pytest.mark.postgres
@pytest.mark.slow
def test_a_store_password_from_the_environment_reaches_no_output(tmp_path, postgres_url,
                                                                 monkeypatch):
    """Found by the program branch: the runner wrote the resolved store URL, password and all,
    into the executed notebook's parameters. The kernel resolves $CALIB_STORE_URL itself."""
    secret = "s3cret-pw-9f2"
    url = postgres_url.replace("postgres@", f"postgres:{secret}@", 1)
    assert secret in url
    monkeypatch.setenv("CALIB_STORE_URL", url)
    text = (ROOT / "parameters" / "demo.yaml").read_text().replace("n_boot: 1000", "n_boot: 100")
    params = tmp_path / "demo.yaml"
    params.write_text(text.replace("history_months: 6", "history_months: 1"))
    result = render(params, notebook=ROOT / "notebooks" / "04_monthly_report.ipynb",
                    outputs_root=tmp_path / "out")
    assert result.html.is_file()
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), f"{path.name} holds the password"


def test_the_kernel_imports_what_the_notebook_declares_while_the_runner_prepares(tmp_path):
    """metadata.calib.imports: imported in a background thread of the kernel the runner started
    (marked as such in its environment), before the notebook's cells ask for them."""
    nb = make_notebook(tmp_path / "nb.ipynb", body=[
        "import os, sys, threading\n"
        "assert os.environ.get('CALIB_RUNNER_KERNEL') == '1'\n"
        "for t in threading.enumerate():\n"
        "    if t.name == 'calib-imports':\n"
        "        t.join()\n"
        "assert 'wave' in sys.modules and 'calib.interchange' in sys.modules",
        "import calib.report\ncalib.report.write_summary({'team': team}, output_dir);"])
    raw = nbformat.read(nb, as_version=4)
    raw.metadata["calib"]["imports"] = ["wave", "calib.interchange"]
    nbformat.write(raw, nb)
    result = render(params_file(tmp_path), notebook=nb, outputs_root=tmp_path / "out")
    assert json.loads(result.summary.read_text()) == {"team": "demo"}


@pytest.mark.parametrize("imports", ["calib.report.data", ["os; print(1)"], [3]])
def test_declared_imports_must_be_module_names(tmp_path, imports):
    nb = make_notebook(tmp_path / "nb.ipynb", body=["x = 1"])
    raw = nbformat.read(nb, as_version=4)
    raw.metadata["calib"]["imports"] = imports
    nbformat.write(raw, nb)
    with pytest.raises(ParameterError, match="metadata.calib.imports"):
        render(params_file(tmp_path), notebook=nb, outputs_root=tmp_path / "out")


def test_what_the_kernel_leaves_in_its_temporary_folder_is_removed_after_the_run(tmp_path):
    """The runner may stop a finished kernel without its exit handlers (which would clean up
    calib.report.parallel's results): the kernel's TMPDIR is a folder the runner removes."""
    nb = make_notebook(tmp_path / "nb.ipynb", body=[
        "import tempfile\nhandle, left = tempfile.mkstemp(suffix='.pickle')",
        "import calib.report\ncalib.report.write_summary({'left': left}, output_dir);"])
    result = render(params_file(tmp_path), notebook=nb, outputs_root=tmp_path / "out")
    left = Path(json.loads(result.summary.read_text())["left"])
    assert left.parent.name.startswith("calib-kernel-"), "the kernel's own temporary folder"
    assert not left.exists() and not left.parent.exists()
