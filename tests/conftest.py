"""Shared pytest set-up. Fixtures live in tests/fixtures/<area>.py and are loaded here."""

import os

import pytest

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.postgres",
    "tests.fixtures.browser",
]


@pytest.fixture(scope="session", autouse=True)
def _keep_the_project_outputs_untouched(tmp_path_factory):
    """Tests never write the project's outputs/: the default store and the demo org's state
    live in a throw-away folder for the session (a test that needs its own sets its own)."""
    folder = tmp_path_factory.mktemp("project-outputs")
    saved = {k: os.environ.get(k) for k in ("CALIB_STORE_URL", "CALIB_SANDBOX_DIR")}
    os.environ.setdefault("CALIB_STORE_URL", f"sqlite:///{folder / 'calib.sqlite'}")
    os.environ.setdefault("CALIB_SANDBOX_DIR", str(folder / "sandbox"))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


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
