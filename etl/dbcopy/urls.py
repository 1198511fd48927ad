"""Database URLs: which engine a URL names, and how to show it without its password.

Why one place: every message, log line and ledger row that mentions a database goes through
`redact()`, so a password typed into `etl db copy mysql://root:secret@…` is never written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from etl.errors import ConfigError

# scheme -> engine; the engine names are the keys of the backend registries.
SCHEMES: dict[str, str] = {
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql+pymysql": "mysql",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+psycopg2": "postgresql",
    "sqlite": "sqlite",
    "mongodb": "mongodb",
    "redis": "redis",
}

RELATIONAL = frozenset({"mysql", "postgresql", "sqlite"})


@dataclass(frozen=True)
class DbUrl:
    """A parsed database URL: the engine it names, the raw URL (secret) and its redacted form."""

    engine: str
    raw: str
    redacted: str

    @property
    def relational(self) -> bool:
        """MySQL, PostgreSQL and SQLite share one SQLAlchemy-based backend."""
        return self.engine in RELATIONAL


def redact(url: str) -> str:
    """Replace the password of a URL with `***`; anything unparseable is hidden entirely."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def parse(url: str) -> DbUrl:
    """Name the engine of a database URL, or raise ConfigError listing the schemes we know."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    engine = SCHEMES.get(scheme)
    if engine is None:
        known = "mysql://, postgresql://, sqlite:///path, mongodb://, redis://"
        raise ConfigError(
            f"unsupported database URL scheme {scheme or url!r} in {redact(url)}",
            fix=f"use one of {known}",
        )
    return DbUrl(engine=engine, raw=url, redacted=redact(url))


def sqlalchemy_url(url: DbUrl) -> str:
    """Pin the driver we ship (pymysql, psycopg2) whatever spelling of the scheme the user typed."""
    rest = url.raw.split("://", 1)[1]
    driver = {"mysql": "mysql+pymysql", "postgresql": "postgresql+psycopg2", "sqlite": "sqlite"}[url.engine]
    return f"{driver}://{rest}"
