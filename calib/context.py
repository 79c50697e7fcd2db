"""One way in: where the project is, which backend a run talks to, which store it writes, and
the report's settings.

Every verb of the ``calib`` command, every notebook and the session-setup widget open their
backend and store here, so the rules below exist once:

* **the project root** is the nearest folder (the working directory or a parent) that holds
  both ``notebooks/`` and ``parameters/``; relative paths in parameter files are read from it,
  so a notebook (which runs in ``notebooks/``) and the command line (run from the root) agree;
* **the store** is the ``store_url`` a parameter file or ``--store`` gives, else
  ``$CALIB_STORE_URL``, else ``<root>/outputs/calib.sqlite``;
* **the backends** are ``sandbox`` (the demo org: the running ``calib sandbox serve`` when there
  is one, else the persistent demo org under ``outputs/sandbox/``), ``genesys`` (credentials
  from the ``GENESYSCLOUD_*`` environment variables, checked before anything else runs),
  ``files`` (score files imported into the store) and ``store`` (what the store already holds);
* **the present** is the backend's clock: the sandbox org's in demos, the system clock (which is
  Genesys Cloud's) otherwise. The store gets the same clock, so deadlines are judged once;
* **the report's settings** are one frozen :class:`ReportSettings` with one set of defaults.

Months, team names, parameter files and instants follow :mod:`calib.values`. The sandbox and
the Genesys client are imported when a backend needs them: a report's kernel reads the store
only, and importing them there cost it a third of a second.

Examples
--------
>>> with open_backend("sandbox") as backend, backend.open_store() as store:   # doctest: +SKIP
...     backend.check_team("demo", ["quinn.calder@demo.example"])
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence
from urllib.parse import urlsplit

from calib.store import Store
from calib.values import ParameterError, check_team

__all__ = ["BACKENDS", "Backend", "BackendError", "ReportSettings", "open_backend",
           "project_root", "project_path", "outputs_dir", "store_url", "sandbox_state_dir",
           "STORE_ENV", "SANDBOX_ENV"]

BackendName = Literal["sandbox", "genesys", "files", "store"]
BACKENDS: tuple[str, ...] = ("sandbox", "genesys", "files", "store")
STORE_ENV = "CALIB_STORE_URL"
SANDBOX_ENV = "CALIB_SANDBOX_DIR"
#: How long the Genesys check may take before calib says the API is unreachable.
REACH_TIMEOUT_S = 10.0


class BackendError(RuntimeError):
    """The backend cannot be used (no credentials, refused, unreachable); a sentence to print."""


# -- the project ----------------------------------------------------------------------------

def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) holding both
    ``notebooks/`` and ``parameters/``; ``start`` itself when there is none."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "notebooks").is_dir() and (folder / "parameters").is_dir():
            return folder
    return start


def project_path(path: str | Path) -> Path:
    """``path`` as given when absolute, else relative to :func:`project_root`."""
    path = Path(path)
    return path if path.is_absolute() else project_root() / path


def outputs_dir() -> Path:
    """``<root>/outputs``: rendered reports, the default store and the demo org's state."""
    return project_root() / "outputs"


def store_url(explicit: str | None = None) -> str:
    """The store a run uses: ``explicit``, else ``$CALIB_STORE_URL``, else the SQLite file
    ``outputs/calib.sqlite`` of the project (its folder is created)."""
    if explicit:
        return str(explicit)
    if os.environ.get(STORE_ENV):
        return os.environ[STORE_ENV]
    folder = outputs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'calib.sqlite'}"


def sandbox_state_dir() -> Path:
    """Where the demo org keeps its state: ``$CALIB_SANDBOX_DIR``, else ``outputs/sandbox``."""
    return Path(os.environ[SANDBOX_ENV]) if os.environ.get(SANDBOX_ENV) else \
        outputs_dir() / "sandbox"


# -- the report's settings --------------------------------------------------------------------

@dataclass(frozen=True)
class ReportSettings:
    """The analysis settings of a report, with calib's one set of defaults.

    Attributes
    ----------
    history_months : int
        Months of history for trends, drift and evaluator severity, the report month included.
    aligned_max, discuss_max : float
        Discussion tiers by a call's score range: up to ``aligned_max`` points aligned, up to
        ``discuss_max`` discuss the gray-area criteria, above it a full session.
    bias_threshold : float
        Points of evaluator bias worth acting on (the practical band is ± this).
    drift_threshold : float
        Points of calibrator (expert) drift worth acting on.
    confidence : float
        Level of every interval (0.5 to 1).
    question_tolerance : float
        Share of a question's scale an answer may differ from the other evaluators' answer on
        the same call before it counts as out of tolerance (0.25: one step on a 0–4 scale is
        in, a yes/no difference is out); the per-question companion of ``aligned_max``.
    n_boot : int
        Bootstrap resamples for the intervals that need them.
    seed : int
        Seed of the bootstrap.
    """

    history_months: int = 6
    aligned_max: float = 5.0
    discuss_max: float = 15.0
    bias_threshold: float = 3.0
    drift_threshold: float = 10.0
    confidence: float = 0.95
    question_tolerance: float = 0.25
    n_boot: int = 1000
    seed: int = 0

    MAX_HISTORY_MONTHS = 60
    MAX_N_BOOT = 100_000

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, source: str = "the parameters"
                     ) -> "ReportSettings":
        """The settings named in ``values`` (other keys are ignored), defaults for the rest."""
        names = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in values.items() if k in names})
        except ParameterError as exc:
            raise ParameterError(f"{source}: {exc}") from None

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain values (for summary.json and the methods appendix)."""
        return asdict(self)

    def check(self) -> None:
        """Raise :class:`ParameterError` naming the first value out of its range."""
        def fail(msg: str) -> None:
            raise ParameterError(msg)

        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                fail(f"'{f.name}' must be a number, not {value!r}.")
            if isinstance(value, float) and not math.isfinite(value):
                fail(f"'{f.name}' is {value!r}; give a finite number.")
        for name in ("history_months", "n_boot", "seed"):
            if getattr(self, name) != int(getattr(self, name)):
                fail(f"'{name}' must be a whole number, not {getattr(self, name)!r}.")
        if not 1 <= self.history_months <= self.MAX_HISTORY_MONTHS:
            fail(f"'history_months' must be from 1 (the report month itself) to "
                 f"{self.MAX_HISTORY_MONTHS} (five years), not {self.history_months}.")
        if not 0 <= self.n_boot <= self.MAX_N_BOOT:
            fail(f"'n_boot' is {self.n_boot:,} bootstrap resamples; use 0 to "
                 f"{self.MAX_N_BOOT:,} (1000 is the default).")
        if self.seed < 0:
            fail("'seed' must not be negative.")
        for name in ("aligned_max", "discuss_max"):
            if not 0 <= getattr(self, name) <= 100:
                fail(f"'{name}' is {getattr(self, name)} points; a range on the 0-100 scale is "
                     f"from 0 to 100.")
        if self.aligned_max >= self.discuss_max:
            fail("'aligned_max' must be smaller than 'discuss_max' (default 5 and 15).")
        for name in ("bias_threshold", "drift_threshold"):
            if not 0 < getattr(self, name) <= 100:
                fail(f"'{name}' must be a positive number of points, at most 100 (the scale), "
                     f"not {getattr(self, name)}.")
        if not 0.5 <= self.confidence < 1:
            fail("'confidence' must be between 0.5 and 1 (e.g. 0.95).")
        if not 0 <= self.question_tolerance < 1:
            fail(f"'question_tolerance' is a share of a question's scale from 0 to below 1 "
                 f"(0.25 allows one step on a 0–4 scale), not {self.question_tolerance}.")


# -- backends -----------------------------------------------------------------------------------

class Backend:
    """An open backend: its client (``None`` for files and store), its clock, its teams.

    Use :func:`open_backend`; close it (or use it as a context manager) when done.
    """

    def __init__(self, name: str, client: Any = None, *, sandbox: Any = None,
                 clock: Any = None, closers: Sequence[Any] = (), describe: str = "") -> None:
        self.name = name
        self.client = client
        self.sandbox = sandbox
        self._clock = clock
        self._closers = list(closers)
        self.describe = describe or name

    def now(self) -> datetime:
        """The present by this backend's clock (aware UTC)."""
        if self._clock is None:
            return datetime.now(timezone.utc)
        at = self._clock()
        return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)

    def open_store(self, url: str | None = None):
        """The history store (:func:`store_url`'s rule) on this backend's clock."""

        return Store(store_url(url), clock=self.now)

    def team_names(self) -> list[str] | None:
        """The teams the backend itself knows (the sandbox's), or None when it has no notion of
        teams (Genesys Cloud identifies a team by its calibrators)."""
        if self.sandbox is not None:
            return sorted(self.sandbox.teams())
        return None

    def check_team(self, team: str, calibrators: Sequence[str] = (), *,
                   store: Store | None = None) -> None:
        """Refuse a team the backend does not have.

        On the sandbox the team must be one of the org's teams and the calibrators its own; on
        Genesys Cloud the calibrators (emails) must be users of the org. The files and store
        backends know the teams the ``store`` holds (for files: after the files' import, so a
        team's first files are welcome); without ``store`` they accept any well-formed name.

        Raises
        ------
        ParameterError
            A sentence naming the team, the teams there are and the fix.
        """
        check_team(team)
        if self.name in ("files", "store") and store is not None:
            _check_team_in_store(store, team)
            return
        if self.sandbox is not None:
            teams = self.sandbox.teams()
            if team not in teams:
                raise ParameterError(
                    f"The sandbox org has no team {team!r}; its teams are "
                    f"{', '.join(sorted(teams))}. Fix 'team' in the parameter file.")
            own = {teams[team]["calibrator_email"].lower()}
            strangers = [c for c in calibrators if str(c).lower() not in own]
            if strangers:
                raise ParameterError(
                    f"{', '.join(strangers)} {'is' if len(strangers) == 1 else 'are'} not the "
                    f"calibrator of the sandbox team {team!r} (that is "
                    f"{teams[team]['calibrator_email']}); list the team's own calibrator.")
        elif self.client is not None and calibrators:
            from calib.genesys.month import find_users

            find_users(self.client, calibrators)

    def close(self) -> None:
        """Close the client and whatever the backend started."""
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception:  # noqa: BLE001 - closing must not hide the real error
                pass

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Backend({self.describe})"


def _check_team_in_store(store: Store, team: str) -> None:
    teams = store.teams()
    if team in teams:
        return
    if not teams:
        raise ParameterError(
            f"The store at {store.url_for_display} holds no team yet; import the team's score "
            f"files first (calib import --team {team} FILES), or sync it from an org "
            f"(backend: sandbox or genesys).")
    raise ParameterError(
        f"The store at {store.url_for_display} holds no team {team!r}; its teams are "
        f"{', '.join(teams)}. Fix 'team' in the parameter file, or import that team's score "
        f"files first (calib import --team {team} FILES).")


def open_backend(name: str, *, sandbox_seed: int = 7, state_dir: str | Path | None = None,
                 reach_timeout: float = REACH_TIMEOUT_S) -> Backend:
    """Open a backend and check that it answers, before any work starts.

    Parameters
    ----------
    name : {"sandbox", "genesys", "files", "store"}
    sandbox_seed : int
        Seed of the demo org (sandbox only).
    state_dir : path, optional
        Where the demo org keeps its state (default ``outputs/sandbox``).
    reach_timeout : float
        Seconds the Genesys check may take before the API counts as unreachable.

    Raises
    ------
    ParameterError
        For an unknown backend name.
    BackendError
        Credentials missing or refused, or the API unreachable: one sentence with the fix.
    """
    if name not in BACKENDS:
        raise ParameterError(f"backend must be one of {', '.join(BACKENDS)}, not {name!r}.")
    if name == "sandbox":
        return _open_sandbox(int(sandbox_seed), Path(state_dir) if state_dir else None)
    if name == "genesys":
        return _open_genesys(reach_timeout)
    return Backend(name, describe=f"{name} (no API)")


def _open_sandbox(seed: int, state_dir: Path | None) -> Backend:
    from calib import sandbox as sb

    state_dir = state_dir or sandbox_state_dir()
    running = sb.locate(state_dir)
    if running is not None:
        if running.seed != seed:
            raise BackendError(
                f"The running sandbox (calib sandbox serve, {running.base_url}) serves seed "
                f"{running.seed}, not {seed}; stop it or set sandbox_seed: {running.seed}.")
        client = running.client()
        return Backend("sandbox", client, sandbox=running, clock=running.now,
                       closers=[client.close],
                       describe=f"sandbox served at {running.base_url} (seed {seed})")
    handle = sb.open_persistent(state_dir, seed=seed)
    try:
        sandbox = handle.__enter__()
    except sb.SandboxStateError as exc:
        raise BackendError(str(exc)) from None
    client = sandbox.client()
    return Backend("sandbox", client, sandbox=sandbox, clock=sandbox.now,
                   closers=[lambda: handle.__exit__(None, None, None), client.close],
                   describe=f"demo org (seed {seed}, state in {state_dir})")


def genesys_ui_base(environ: Mapping[str, str] | None = None) -> str:
    """The Genesys Cloud web UI origin of the org in the environment (``https://apps.<region
    domain>``, e.g. ``https://apps.mypurecloud.ie``), for links to interactions; empty when only
    an API origin (``GENESYSCLOUD_API_REGION``) is set or the region is unknown."""
    env = os.environ if environ is None else environ
    region = str(env.get("GENESYSCLOUD_REGION", "")).strip()
    if not region:
        return ""
    from calib.genesys.regions import resolve_domain

    try:
        return f"https://apps.{resolve_domain(region)}"
    except ValueError:
        return ""


def _open_genesys(reach_timeout: float) -> Backend:
    from calib.genesys import GenesysClient, errors
    from calib.sandbox import sandbox_now

    try:
        probe = GenesysClient.from_env(max_retries=1, max_retry_wait=2.0,
                                       timeout=(min(3.05, reach_timeout), reach_timeout))
    except ValueError as exc:
        raise BackendError(str(exc)) from None
    try:
        probe.check_access()
    except errors.AuthenticationError:
        raise BackendError(
            f"Genesys Cloud refused the OAuth client credentials at {probe.token_url}; check "
            f"GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET, that the OAuth "
            f"client uses the Client Credentials grant, and that GENESYSCLOUD_REGION is the "
            f"org's region.") from None
    except errors.GenesysError as exc:
        raise BackendError(
            f"Cannot reach Genesys Cloud at {probe.token_url} (no answer within "
            f"{reach_timeout:g} s: {exc.message}). Check the network or proxy, and "
            f"GENESYSCLOUD_REGION / GENESYSCLOUD_API_REGION.") from None
    finally:
        probe.close()
    client = GenesysClient.from_env()
    clock = None
    if _is_loopback(client.base_url):
        # GENESYSCLOUD_API_REGION pointing at a `calib sandbox serve`: its org clock, not the
        # system's, judges deadlines (the demo org lives in November 2026 whatever the date).

        try:
            sandbox_now(client)
            clock = lambda: sandbox_now(client)  # noqa: E731
        except ValueError:
            clock = None
    return Backend("genesys", client, clock=clock, closers=[client.close],
                   describe=f"Genesys Cloud at {client.base_url}")


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")
