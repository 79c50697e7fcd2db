"""Shared pytest set-up. Fixtures live in tests/fixtures/<area>.py and are loaded here."""

import os

import pytest

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.postgres",
    "tests.fixtures.browser",
]


def require_or_skip(available: bool, reason: str) -> None:
    """Skip a test that needs a missing system program, or fail in CI where it must be present.

    ``.ci/run`` installs the programs and sets ``CALIB_REQUIRE_SYSTEM_PROGRAMS=1``, so a missing
    program there is an error, not a silent skip.
    """
    if available:
        return
    if os.environ.get("CALIB_REQUIRE_SYSTEM_PROGRAMS") == "1":
        pytest.fail(f"{reason} (CALIB_REQUIRE_SYSTEM_PROGRAMS=1: .ci/run should have installed it)")
    pytest.skip(reason)
