"""One writer per ledger, whatever workspace or machine it runs from; released even by `kill -9`.

Why in the ledger and not in the workspace folder: two workspaces (or two machines) may point at
one PostgreSQL ledger, and a lock file in one workspace does not stop the other. PostgreSQL holds a
session-level advisory lock on a connection of its own (the server drops it with the connection
when the process dies); SQLite uses `flock` on a `<ledger>.lock` file beside the database (the
kernel drops it with the process). Neither can be left behind by a crash, which is what makes a
`running` run whose lock is free provably dead.

The lock file is a separate file on purpose: SQLite keeps POSIX locks on the database file itself,
and opening then closing another descriptor of that file would silently release them.
"""

from __future__ import annotations

import fcntl
import time
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

# Namespace of this tool's advisory locks; the second key is the ledger's schema, so ledgers that
# share a database in different schemas do not exclude each other.
ADVISORY_NAMESPACE = 7_246_311
RUN_LOCK = ADVISORY_NAMESPACE
MIGRATION_LOCK = ADVISORY_NAMESPACE + 1
POLL_S = 0.05


class LedgerLock:
    """An exclusive, crash-released hold on one ledger (`acquire` / `release`)."""

    def __init__(self, engine: Engine, url: str, key: int = RUN_LOCK) -> None:
        self.engine = engine
        self.key = key
        suffix = ".lock" if key == RUN_LOCK else ".migrate.lock"
        self.sqlite_path = _sqlite_lock_path(url, suffix) if engine.dialect.name == "sqlite" else None
        self._file: IO[str] | None = None
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._file is not None or self._conn is not None

    def acquire(self, wait_s: float = 0.0) -> bool:
        """Take the lock, waiting up to `wait_s` for another holder to let go; False if it did not."""
        deadline = time.monotonic() + wait_s
        while not self._try():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        return True

    def release(self) -> None:
        """Let go of the lock (idempotent)."""
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None
        if self._conn is not None:
            try:
                self._conn.execute(text(f"SELECT pg_advisory_unlock({self.key}, hashtext(current_schema()))"))
            finally:
                self._conn.close()
                self._conn = None

    def _try(self) -> bool:
        if self.held:
            return True
        return self._try_file() if self.engine.dialect.name == "sqlite" else self._try_advisory()

    def _try_file(self) -> bool:
        if self.sqlite_path is None:  # an in-memory ledger belongs to one process anyway
            self._file = open("/dev/null")  # noqa: SIM115 - held until release()
            return True
        handle = self.sqlite_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def _try_advisory(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(
                text(f"SELECT pg_try_advisory_lock({self.key}, hashtext(current_schema()))")
            ).scalar_one()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True


def _sqlite_lock_path(url: str, suffix: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(database).expanduser().resolve()
    return path.with_name(path.name + suffix)


__all__ = ["MIGRATION_LOCK", "RUN_LOCK", "LedgerLock"]
