"""A demo org that outlives the process: the seed plus a journal of changes, in a state folder.

Decision: the org is deterministic from its seed, so what must be saved is only what changed
after generation: calibrations created, changed and deleted through the API, AI scoring
settings changed, and the clock's moves (:mod:`calib.sandbox.mutations` records each as a
journal entry). The state file holds
the seed and the journal; loading regenerates ``generate_org(seed)`` and replays the entries,
which gives the same ids and the same API responses byte for byte as a process that made every
change itself. Derived data (simulated answers, generated conversations) is never saved.

Layout of the state folder (``outputs/sandbox/`` by default, chosen by the caller)::
    org.json     {"format", "version", "seed", "org" (fingerprint), "epoch", "saved_at",
                  "entries": [...]}; replaced atomically (temp file, fsync, rename)
    org.lock     empty; ``fcntl.flock`` on it serialises changes between processes
    server.json  written by ``calib sandbox serve`` while it runs (calib.sandbox.discovery)

Several processes may share one state: each change runs under the exclusive lock, first
replaying what other processes saved since (so every change applies to the latest org), then
saving. Reads catch up too (a ``stat`` of ``org.json`` per request, reread only when it
changed). A reset gives the state a new ``epoch``; a process still holding the old org then
refuses to go on rather than mix two orgs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, TYPE_CHECKING

from .mutations import JournalError, apply_entry
from .org import Org, generate_org
from .sandbox import Sandbox

if TYPE_CHECKING:  # pragma: no cover
    from .sandbox import Sandbox

__all__ = ["SandboxStateError", "OrgState", "load_org", "StateSummary", "read_summary",
           "reset_state", "open_persistent", "DEFAULT_SEED", "STATE_FILE", "LOCK_FILE"]

STATE_FILE = "org.json"
LOCK_FILE = "org.lock"
STATE_FORMAT = "calib-sandbox-org"
STATE_VERSION = 1
DEFAULT_SEED = 7
RESET_HINT = "run `calib sandbox reset --yes` to start the demo org afresh"


class SandboxStateError(ValueError):
    """The persisted demo org cannot be used as it is; the message names the file and the fix."""


def org_fingerprint(org: Org) -> str:
    """A digest of what a journal refers to in a freshly generated org (people, forms,
    calibrations, evaluations, the clock): another calib whose seed-``N`` org differs has
    another fingerprint, and its journal is refused instead of replayed onto the wrong org."""
    h = hashlib.sha256(f"{org.seed}|{org.now().isoformat()}".encode())
    for ids in (sorted(org.people), [f["id"] for f in org.forms], list(org.calibrations),
                list(org.evaluations)):
        h.update("|".join(ids).encode())
    return h.hexdigest()[:16]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_doc(path: Path) -> dict[str, Any] | None:
    """The parsed state file, None when there is none; SandboxStateError when unusable."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise SandboxStateError(f"Cannot read {path} ({exc.strerror or exc}); make it readable "
                                f"or choose another state folder.") from None
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise SandboxStateError(f"{path} is damaged and cannot be read ({exc}); "
                                f"{RESET_HINT}.") from None
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
        raise SandboxStateError(f"{path} is not a calib sandbox state file; move it away or "
                                f"{RESET_HINT}.")
    version = doc.get("version")
    if version != STATE_VERSION:
        who = "a newer" if isinstance(version, int) and version > STATE_VERSION else "an older"
        raise SandboxStateError(f"{path} was written by {who} calib (state format {version!r}; "
                                f"this calib reads format {STATE_VERSION}); {RESET_HINT}.")
    if not isinstance(doc.get("seed"), int) or not isinstance(doc.get("entries"), list):
        raise SandboxStateError(f"{path} lacks its seed or its list of changes; {RESET_HINT}.")
    return doc


class OrgState:
    """The link between one in-memory org and its state folder (see the module docstring).

    Made by :func:`load_org`, which sets it as ``org.persistence``; the org's changes then go
    through :meth:`transaction` and its server's requests through :meth:`refresh`.
    """

    def __init__(self, state_dir: Path, org: Org) -> None:
        self.dir = Path(state_dir)
        self.path = self.dir / STATE_FILE
        self.lock_path = self.dir / LOCK_FILE
        self.org = org
        self.fingerprint = org_fingerprint(org)
        self.epoch: str | None = None   # identity of the state file; None until one exists
        self.synced = 0                 # journal entries known to be in the file
        self._seen: tuple | None = None  # stat of the file last read or written
        self._depth = 0  # > 0 while this process holds the org in transaction() or refresh()

    # -------------------------------------------------------------- reading
    def _stat_key(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def check(self, doc: dict[str, Any]) -> None:
        """Refuse a state file of another seed or another org model."""
        if doc["seed"] != self.org.seed:
            raise SandboxStateError(
                f"{self.path} holds the demo org of seed {doc['seed']}, not seed "
                f"{self.org.seed}; use seed {doc['seed']} (e.g. --seed {doc['seed']}) or "
                f"{RESET_HINT} with seed {self.org.seed}.")
        if doc.get("org") != self.fingerprint:
            raise SandboxStateError(
                f"{self.path} was saved by another version of calib's sandbox, whose seed-"
                f"{doc['seed']} org differs from this one; {RESET_HINT}.")

    def _catch_up(self, doc: dict[str, Any] | None) -> None:
        """Replay the entries other processes saved since this org last synced."""
        org = self.org
        if doc is None:
            if self.epoch is not None:
                raise SandboxStateError(
                    f"The demo org in {self.dir} was reset while this process was using it; "
                    f"run the command again.")
            return
        if self.epoch is None and not org.journal:
            self.check(doc)
            self.epoch = str(doc.get("epoch"))
        elif doc.get("epoch") != self.epoch:
            raise SandboxStateError(
                f"The demo org in {self.dir} was reset while this process was using it; run "
                f"the command again.")
        entries = doc["entries"]
        if len(entries) < self.synced or entries[:self.synced] != org.journal[:self.synced]:
            raise SandboxStateError(f"{self.path} no longer starts with the changes this process "
                                    f"made; run the command again, or {RESET_HINT}.")
        if len(entries) > self.synced and len(org.journal) > self.synced:
            raise SandboxStateError(
                "This process changed the demo org outside org.changing() while another process "
                "saved changes; make changes through the org's methods.")
        for number, entry in enumerate(entries[self.synced:], start=self.synced + 1):
            try:
                apply_entry(org, entry)
            except JournalError as exc:
                raise SandboxStateError(
                    f"{self.path} cannot be replayed on the seed-{org.seed} org (change "
                    f"{number}: {exc}); {RESET_HINT}.") from None
        self.synced = len(entries)

    def refresh(self) -> None:
        """Catch up with the state file when it changed since last read (cheap when not)."""
        key = self._stat_key()
        if key == self._seen:
            return
        with self.org.lock:
            if self._depth:  # inside this process's own transaction: already current
                return
            key = self._stat_key()
            doc = _read_doc(self.path)
            self._depth += 1  # the replayed changes must not open a transaction of their own
            try:
                self._catch_up(doc)
            finally:
                self._depth -= 1
            self._seen = key

    # -------------------------------------------------------------- writing
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the org and the state folder's lock; catch up first, save what changed after.

        Re-entrant within a process; other processes wait on ``org.lock`` (``flock``).
        """
        org = self.org
        with org.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            try:  # before any change: an unwritable folder refuses the change itself
                self.dir.mkdir(parents=True, exist_ok=True)
                lock_file = open(self.lock_path, "a+b")
            except OSError as exc:
                raise self._unwritable(exc) from None
            with lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes
                self._depth = 1
                try:
                    self._catch_up(_read_doc(self.path))
                    try:
                        yield
                    finally:
                        # also after an error: what changed in memory must be on disk
                        if len(org.journal) > self.synced:
                            self._write()
                finally:
                    self._depth = 0

    def _unwritable(self, exc: OSError) -> SandboxStateError:
        return SandboxStateError(f"Cannot save the demo org in {self.dir} ({exc.strerror or exc}); "
                                 f"free some space or make the folder writable, or choose "
                                 f"another state folder.")

    def _write(self) -> None:
        """Replace the state file atomically with the org's journal (under the lock)."""
        epoch = self.epoch or secrets.token_hex(8)  # kept only once the file exists
        doc = {"format": STATE_FORMAT, "version": STATE_VERSION, "seed": self.org.seed,
               "org": self.fingerprint, "epoch": epoch,
               "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "entries": self.org.journal}
        data = json.dumps(doc, indent=1, ensure_ascii=False).encode()
        for stale in self.dir.glob(f"{STATE_FILE}.*.tmp"):  # left by a process killed mid-save
            stale.unlink(missing_ok=True)
        tmp = self.dir / f"{STATE_FILE}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.dir)
        except OSError as exc:
            # the change stays in memory and unsaved; the next change's save retries it
            tmp.unlink(missing_ok=True)
            raise self._unwritable(exc) from None
        self.epoch = epoch
        self.synced = len(self.org.journal)
        self._seen = self._stat_key()


def load_org(state_dir: str | Path, seed: int | None = None) -> Org:
    """The persisted demo org of ``state_dir`` (a fresh one when nothing is saved yet).

    Parameters
    ----------
    state_dir : str or Path
        The state folder (created on the first change, not before).
    seed : int, optional
        The org seed; default: the saved state's seed, or 7 when there is none.

    Returns
    -------
    Org
        ``generate_org(seed)`` with the saved changes replayed and ``org.persistence`` set, so
        its later changes are saved and changes of other processes are picked up.

    Raises
    ------
    SandboxStateError
        The state file is damaged, of another format, seed or calib version (the message says
        ``calib sandbox reset``).
    """
    folder = Path(state_dir)
    doc = _read_doc(folder / STATE_FILE)
    if seed is None:
        seed = doc["seed"] if doc is not None else DEFAULT_SEED
    org = generate_org(seed)
    state = OrgState(folder, org)
    with org.lock:
        key = state._stat_key()
        state._catch_up(doc)
        state._seen = key if doc is not None else None
    org.persistence = state
    return org


@dataclass(frozen=True)
class StateSummary:
    """What a state file holds, read without replaying it (for ``reset`` and ``clock``)."""

    path: Path
    seed: int
    created: int
    updated: int
    deleted: int
    clock: str | None      # ISO time of the last clock move; None when never moved
    saved_at: str | None
    ai_settings: int = 0   # AI scoring settings changed through the API

    def describe(self) -> str:
        """One sentence: the seed and the changes."""
        moved = f"the clock moved to {self.clock}" if self.clock else "the clock never moved"
        ai = (f", AI scoring settings changed {self.ai_settings} time(s)"
              if self.ai_settings else "")
        return (f"{self.path}: the demo org of seed {self.seed} with {self.created} "
                f"calibration(s) created, {self.updated} changed and {self.deleted} deleted "
                f"through the API{ai}, {moved} (saved {self.saved_at or 'at an unknown time'})")


def read_summary(state_dir: str | Path) -> StateSummary | None:
    """Summarise ``state_dir``'s state file; None when there is none.

    Raises
    ------
    SandboxStateError
        The file is damaged or of another format.
    """
    path = Path(state_dir) / STATE_FILE
    doc = _read_doc(path)
    if doc is None:
        return None
    ops = [e.get("op") if isinstance(e, dict) else None for e in doc["entries"]]
    clocks = [e["to"] for e in doc["entries"] if isinstance(e, dict) and e.get("op") == "clock"]
    return StateSummary(path, doc["seed"], ops.count("create_calibration"),
                        ops.count("update_calibration"), ops.count("delete_calibration"),
                        clocks[-1] if clocks else None, doc.get("saved_at"),
                        ops.count("ai_scoring"))


def reset_state(state_dir: str | Path) -> list[Path]:
    """Delete the saved demo org of ``state_dir`` (under the lock); returns what was removed.

    The lock file stays: another process may be waiting on it. The next load starts from
    ``generate_org(seed)`` again; a process still holding the old org refuses to go on.
    """
    folder = Path(state_dir)
    if not folder.is_dir():
        return []
    removed: list[Path] = []
    with open(folder / LOCK_FILE, "a+b") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        for path in [folder / STATE_FILE, *folder.glob(f"{STATE_FILE}.*.tmp")]:
            if path.exists():
                path.unlink()
                removed.append(path)
        if removed:
            _fsync_dir(folder)
    return removed


@contextmanager
def open_persistent(state_dir: str | Path, seed: int | None = None,
                    **sandbox_options: Any) -> Iterator["Sandbox"]:
    """A started :class:`~calib.sandbox.Sandbox` serving the persisted demo org of ``state_dir``.

    Every change made through it (calibrations posted, changed or deleted, clock moves, by HTTP
    or by ``sandbox.advance_clock``) is saved as it happens, under the folder's lock, so a
    process killed at any point leaves the last change saved and a loadable file; on exit the
    server stops and anything still unsaved is saved. Other processes using the same folder (a
    ``calib sandbox serve``, or another ``open_persistent``) see one org: each request first
    catches up with what they saved.

    Parameters
    ----------
    state_dir : str or Path
        The state folder (``outputs/sandbox/`` of the project by convention; the caller picks).
        Nothing is written there until the first change.
    seed : int, optional
        The org seed; default: the saved state's seed, or 7 when nothing is saved yet. A saved
        state of another seed is refused with :class:`SandboxStateError`.
    **sandbox_options
        Passed to :class:`~calib.sandbox.Sandbox` (``faults``, ``port``, ``token_ttl_seconds``,
        ``rate_limit_per_minute``: default None here, no rate limit, as for a demo org).

    Yields
    ------
    Sandbox
        Started; ``.client()``, ``.now()`` and ``.advance_clock()`` work as usual.

    Raises
    ------
    SandboxStateError
        The saved state is damaged, of another seed, format or calib version; the message says
        to run ``calib sandbox reset``.

    Examples
    --------
    >>> with open_persistent("outputs/sandbox") as sandbox:          # doctest: +SKIP
    ...     with sandbox.client() as client:
    ...         client.request("POST", "/api/v2/quality/calibrations", json=body)
    """

    org = load_org(state_dir, seed)
    options = {"rate_limit_per_minute": None, **sandbox_options}
    with Sandbox(seed=org.seed, org=org, **options) as sandbox:
        try:
            yield sandbox
        finally:
            if len(org.journal) > org.persistence.synced:
                with org.persistence.transaction():
                    pass  # saves a change made outside a transaction
