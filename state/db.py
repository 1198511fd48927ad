"""Open the ledger's database: SQLite with WAL and safe pragmas, or PostgreSQL.

Why pragmas matter: WAL lets readers (`etl status`, `etl sql`) run beside a writing pipeline,
the busy timeout turns lock contention between workers into waiting instead of errors. With WAL,
`synchronous=NORMAL` (the default) keeps every committed checkpoint across `kill -9` and loses at most
the last commits on power loss; the loader's unique migration marker in Splynx turns such a lost
`loading` checkpoint into an adoption, never a duplicate. `ETL_LEDGER_SYNC=FULL` trades speed for
power-loss durability of the ledger itself; on PostgreSQL the same setting chooses between
`synchronous_commit = off` (NORMAL) and the server's default (FULL).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from etl.errors import ConfigError, LedgerError

SUPPORTED = ("sqlite", "postgresql")


def redact_url(url: str) -> str:
    """Hide the password of a database URL, for messages, logs and the ledger itself."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


SYNC_MODES = ("NORMAL", "FULL", "EXTRA")


def sqlite_sync_mode() -> str:
    """The SQLite `synchronous` level from ETL_LEDGER_SYNC (NORMAL by default)."""
    mode = os.environ.get("ETL_LEDGER_SYNC", "NORMAL").upper()
    if mode not in SYNC_MODES:
        raise ConfigError(f"ETL_LEDGER_SYNC={mode!r} is not a sync mode", fix=f"use one of {', '.join(SYNC_MODES)}")
    return mode


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={sqlite_sync_mode()}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _check_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return
    folder = Path(database).expanduser().resolve().parent
    if not folder.is_dir():
        raise ConfigError(
            f"ledger directory {folder} does not exist", fix="run `etl init` or pass an existing path"
        )


def create_ledger_engine(url: str) -> Engine:
    """Build the engine for a ledger URL, or raise ConfigError saying what is wrong with it."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"ledger URL {url!r} is not a database URL",
            fix="use sqlite:///path/ledger.db or postgresql://user@host/db",
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise ConfigError(
            f"ledger backend {backend!r} is not supported",
            fix="use sqlite:///path/ledger.db or postgresql://user@host/db",
        )
    if backend == "sqlite":
        _check_sqlite_dir(url)
        sqlite_sync_mode()
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if sqlite_sync_mode() == "NORMAL":
        event.listen(engine, "connect", _postgres_async_commit)
    return engine


def _postgres_async_commit(dbapi_connection: Any, _record: Any) -> None:
    """PostgreSQL's counterpart of SQLite's NORMAL: commits do not wait for the WAL flush.

    A crash of the database server (not of this tool) may lose the last few checkpoints; the
    loader's unique migration marker turns such a lost `loading` into an adoption, never a duplicate.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit = off")
    cursor.close()
    dbapi_connection.commit()


CORRUPT_SIGNS = ("file is not a database", "malformed", "disk i/o error", "unable to open database file")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ledger URL (None for an in-memory one)."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database).expanduser().resolve()


def corruption(exc: BaseException, safe_url: str) -> LedgerError | None:
    """A LedgerError saying how to recover, if `exc` means the ledger file is damaged or unreadable."""
    original = getattr(exc, "orig", None) or exc
    reason = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    if not any(sign in reason.lower() for sign in CORRUPT_SIGNS):
        return None
    return LedgerError(
        f"ledger {safe_url} is damaged or unreadable ({reason})",
        fix="restore it from a backup, or move it aside and run `etl init`: a new ledger adopts what is "
        "already in Splynx through the migration markers",
    )


def translate_ledger_errors(engine: Engine, safe_url: str) -> None:
    """Make a damaged ledger surface as LedgerError (exit 3, with a fix), wherever it is first read."""

    @event.listens_for(engine, "handle_error")
    def _translate(context: Any) -> None:
        problem = corruption(context.original_exception, safe_url)
        if problem is not None:
            raise problem from context.original_exception
