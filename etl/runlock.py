"""One migration at a time per workspace, released by the kernel even after `kill -9`.

Why a file lock and not a `running` flag in the ledger: a process killed with SIGKILL cannot clear
a flag, so a flag would either block every resume or be ignored; `flock` dies with its process.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etl.errors import ConfigError


@contextmanager
def migration_lock(home: Path, what: str = "migration") -> Iterator[None]:
    """Hold the workspace's migration lock, or fail at once saying who holds it."""
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
