"""One migration or rollback at a time per ledger; dead runs told from live ones.

Why locks and not a `running` flag: a process killed with SIGKILL cannot clear a flag, so a flag
would either block every resume or be ignored. Two locks die with their process: the workspace's
`migrate.lock` (`flock`, so that `etl` commands in one folder queue cleanly) and the ledger's own
lock (`state/lock.py`: a PostgreSQL advisory lock or a `flock` beside the SQLite file), which is the
one that counts when several workspaces or machines share a ledger.

While a process holds the ledger lock, no other run of a locked kind can be alive, so every run of
those kinds still marked `running` is dead: it is relabelled `interrupted` (and `etl resume N`
continues it). Runs of other kinds (copies) are judged by their owner process on this host. A
heartbeat thread stamps the live run every few seconds, for the operator and for other hosts.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from loguru import logger

from etl.errors import ConfigError, EtlError
from state.ledger import Ledger, owner_tag
from state.models import Run
from state.states import RunStatus

LOCKED_KINDS = ("migrate", "rollback")
LOCK_WAIT_S = 1.0  # a status probe holds the lock for milliseconds: wait that out, not a live run
HEARTBEAT_S = 5.0


@contextmanager
def migration_lock(home: Path, what: str = "migration", ledger: Ledger | None = None) -> Iterator[None]:
    """Hold the workspace's lock and (given a ledger) the ledger's, or fail at once saying who holds them."""
    with _workspace_lock(home, what):
        if ledger is None:
            yield
            return
        lock = ledger.lock()
        if not lock.acquire(wait_s=LOCK_WAIT_S):
            raise ConfigError(f"another {what} is using ledger {ledger.safe_url}{_holder(ledger)}",
                              fix="wait for it to finish, or stop it and run `etl resume`")  # fmt: skip
        try:
            reap_dead_runs(ledger, holding_lock=True)
            yield
        finally:
            lock.release()


@contextmanager
def _workspace_lock(home: Path, what: str) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "migrate.lock"
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ConfigError(
                f"another {what} is running in {home} ({holder})",
                fix="wait for it to finish, or stop it and run `etl resume`",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def _holder(ledger: Ledger) -> str:
    """`(run 5 migrate, host pid 123, heartbeat 2 s ago)` for the live run, if the ledger says."""
    live = [r for r in ledger.runs(limit=20) if r.status == RunStatus.RUNNING and r.kind in LOCKED_KINDS]
    if not live:
        return ""
    run = live[0]
    beat = f", heartbeat {age_s(run):.0f} s ago" if run.heartbeat_at else ""
    return f" (run {run.id} {run.kind}, {run.owner or 'unknown process'}{beat})"


def age_s(run: Run) -> float:
    """Seconds since the run's last heartbeat."""
    stamp = run.heartbeat_at or run.started_at
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return (datetime.now(UTC) - stamp).total_seconds()


def reap_dead_runs(ledger: Ledger, *, holding_lock: bool) -> list[int]:
    """Relabel `running` runs whose process is gone as `interrupted`; returns their ids."""
    reaped = []
    for run in ledger.runs(limit=200):
        if run.status != RunStatus.RUNNING or run.id is None or run.owner == owner_tag():
            continue  # finished, or this very process's own run
        locked_kind = run.kind in LOCKED_KINDS
        if (holding_lock and locked_kind) or (not locked_kind and _owner_gone(run)):
            reason = f"interrupted: its process ({run.owner or 'unknown'}) stopped; `etl resume {run.id}` continues it"
            if run.kind == "rollback":
                reason = f"interrupted: its process stopped; run the same `etl rollback {run.parent_run_id}` again"
            if ledger.mark_interrupted(run.id, reason):
                logger.info("run {} marked interrupted (its process is gone)", run.id)
                reaped.append(run.id)
    return reaped


def _owner_gone(run: Run) -> bool:
    """True if the run's owner was a process on this host that no longer exists."""
    host, _, pid = (run.owner or "").rpartition(" pid ")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def refresh_statuses(ledger: Ledger) -> None:
    """Before showing runs: relabel dead ones, taking the ledger lock only if nobody holds it."""
    if not any(r.status == RunStatus.RUNNING for r in ledger.runs(limit=200)):
        return
    lock = ledger.lock()
    try:
        got = lock.acquire(wait_s=0)
    except (EtlError, OSError):
        got = False  # a read-only command must still show what it can
    try:
        reap_dead_runs(ledger, holding_lock=got)
    finally:
        lock.release()


class Heartbeat:
    """Stamps a run's `heartbeat_at` every few seconds from a daemon thread, while the run is live."""

    def __init__(self, ledger: Ledger, run_id: int, every_s: float = HEARTBEAT_S) -> None:
        self.ledger = ledger
        self.run_id = run_id
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every_s + 5)

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.ledger.heartbeat(self.run_id)
            except EtlError as exc:  # a lost ledger is reported by the run's own next checkpoint
                logger.warning("heartbeat of run {} failed: {}", self.run_id, exc.one_line())
                return
