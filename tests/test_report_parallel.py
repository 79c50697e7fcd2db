"""The report's work in forked copies of a runner-started kernel (calib.report.parallel): the same
month, the same sections and the same page as work done in place.

The forked work runs here in the test process, with the runner's environment variable set; the
runner tests and the notebook tests run it in real kernels.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import pandas as pd
import pytest

import calib.report as report
from calib.render.kernel import RUNNER_VARIABLE
from calib.report import parallel
from calib.report.data import load_month
from calib.report.summary import build_summary, jsonable

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the report forks on Linux only")


def test_forked_returns_the_value_and_raises_the_error_here():
    frame = pd.DataFrame({"evaluator": ["Kim Lee", "Dana Ueda"], "severity": [1.5, -2.25]})
    assert parallel.Forked(lambda: frame.assign(x=1), fork=True).result().equals(
        frame.assign(x=1))

    def fails():
        raise ValueError("no answers for question q7")

    with pytest.raises(ValueError, match="no answers for question q7"):
        parallel.Forked(fails, fork=True).result()
    calls = []
    assert parallel.Forked(lambda: calls.append(1) or 42, fork=False).result() == 42
    assert calls == [1], "without fork the work runs here, once"


def test_a_copy_that_hangs_is_stopped_and_its_work_done_here(monkeypatch):
    import time

    monkeypatch.setattr(parallel, "COPY_TIMEOUT", 0.5)

    def work():
        if parallel._in_copy:  # the copy hangs (a lock a fork left held, say)
            time.sleep(60)
        return "done here"

    started = time.monotonic()
    assert parallel.Forked(work, fork=True).result() == "done here"
    assert time.monotonic() - started < 10


def test_without_a_process_to_spare_the_work_is_done_here(monkeypatch):
    def no_fork():
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(parallel.os, "fork", no_fork)
    job = parallel.Forked(lambda: 7, fork=True)
    assert not job.running and job.result() == 7


def test_a_copy_never_forks_again(monkeypatch):
    monkeypatch.setenv(RUNNER_VARIABLE, "1")
    assert parallel.forking()
    assert parallel.Forked(parallel.forking).result() is False


def test_nothing_forks_outside_a_runner_started_kernel(monkeypatch):
    monkeypatch.delenv(RUNNER_VARIABLE, raising=False)
    assert not parallel.forking()
    job = parallel.Forked(lambda: 1)
    assert not job.running and job.result() == 1


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The demo month synced into a store once (the sandbox over HTTP), read back from it."""
    folder = tmp_path_factory.mktemp("parallel")
    params = dict(team="demo", month="2026-10", backend="sandbox", sandbox_seed=7,
                  calibrators=["quinn.calder@demo.example"],
                  store_url=f"sqlite:///{folder / 'calib.sqlite'}", history_months=3,
                  aligned_max=5, discuss_max=15, bias_threshold=3.0, drift_threshold=10.0,
                  confidence=0.95, n_boot=200, seed=0, output_dir="",
                  as_of="2026-11-09T09:00:00+00:00")
    load_month(params, analyze=False)
    return {**params, "backend": "store"}


def _page(data) -> list[str]:
    return [getattr(report, name)(data)._repr_html_() for name in parallel.REPORT_SECTIONS]


def test_the_month_and_its_sections_built_in_copies_are_the_ones_built_in_place(stored,
                                                                               monkeypatch):
    monkeypatch.delenv(RUNNER_VARIABLE, raising=False)
    in_place = load_month(stored)
    page_in_place = _page(in_place)
    monkeypatch.setenv(RUNNER_VARIABLE, "1")
    forked = load_month(stored)  # the analysis and the AI calibration in copies

    assert json.dumps(jsonable(build_summary(forked)), sort_keys=True) == \
        json.dumps(jsonable(build_summary(in_place)), sort_keys=True)
    assert forked.analysis.problems == in_place.analysis.problems
    assert _page(forked) == page_in_place, "every section's HTML, figures included, is the same"
    assert set(forked._section_jobs) == set(), "each section was taken from its copy once"


def test_a_section_that_fails_in_its_copy_fails_here_with_its_own_error(stored, monkeypatch):
    monkeypatch.setenv(RUNNER_VARIABLE, "1")
    data = load_month(stored)

    def broken(month):
        raise KeyError("question q9 is missing from the form")

    monkeypatch.setattr(report.show_appendix, "built_in_place", broken)
    assert report.show_header(data).title.startswith("Calibration report")
    with pytest.raises(KeyError, match="question q9 is missing from the form"):
        report.show_appendix(data)


def test_a_section_called_with_more_than_the_month_is_built_in_place(stored, monkeypatch):
    monkeypatch.setenv(RUNNER_VARIABLE, "1")
    data = dataclasses.replace(load_month(stored))
    assert report.show_consensus(data, None).title == report.show_consensus.built_in_place(
        data).title
    assert not hasattr(data, "_section_jobs"), "no copy was started for it"
