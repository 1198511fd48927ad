"""Open SQLAlchemy engines for copy sources and destinations, turning driver errors into one line.

Why here: an unreachable server, a wrong password and a missing SQLite file are the user's
setup, and the message must name the database (password redacted) and say what to do.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from etl.dbcopy.urls import DbUrl, sqlalchemy_url
from etl.errors import ConfigError, ConnectionFailure

_AUTH_HINTS = ("access denied", "password authentication failed", "authentication failed")


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return text.strip("() ")


def _check_sqlite(url: DbUrl, must_exist: bool) -> None:
    database = make_url(sqlalchemy_url(url)).database
    if not database or database == ":memory:":
        raise ConfigError(f"{url.redacted} names no SQLite file", fix="use sqlite:///path/to/file.db")
    path = Path(database).expanduser()
    if must_exist and not path.is_file():
        raise ConfigError(f"SQLite database {path} does not exist", fix="check the path in the source URL")
    if not path.parent.is_dir():
        raise ConfigError(f"directory {path.parent} does not exist", fix="create it or fix the destination URL")


def sql_engine(url: DbUrl, must_exist: bool) -> sa.Engine:
    """An engine that has already connected once, or ConnectionFailure/ConfigError saying why not."""
    connect_args: dict[str, object] = {}
    if url.engine == "sqlite":
        _check_sqlite(url, must_exist)
        connect_args = {"check_same_thread": False, "timeout": 30}
    elif url.engine == "mysql":
        connect_args = {"init_command": "SET time_zone = '+00:00'", "connect_timeout": 10, "charset": "utf8mb4"}
    else:
        connect_args = {"connect_timeout": 10, "options": "-c timezone=UTC"}
    engine = sa.create_engine(sqlalchemy_url(url), connect_args=connect_args, pool_pre_ping=True)
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        reason = _reason(exc)
        fix = (
            "check the user and password"
            if any(h in reason.lower() for h in _AUTH_HINTS)
            else ("check that the server is running and the host, port and database name are right")
        )
        raise ConnectionFailure(f"cannot connect to {url.redacted}: {reason}", fix=fix) from None
    return engine
