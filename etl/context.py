"""Per-invocation state the CLI callback sets up and every command reads.

Why a module and not Typer's ctx.obj: library code called from commands (pipeline, sandbox)
needs the settings too, and should not have to receive a Typer context to get them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from etl.config import Settings, load_settings
from etl.errors import ConfigError, LedgerError

if TYPE_CHECKING:  # the ledger pulls in SQLAlchemy and Alembic: only commands that need it pay
    from state.ledger import Ledger

_settings: Settings | None = None


def set_settings(settings: Settings) -> None:
    """Install the settings of this invocation."""
    global _settings
    _settings = settings


def get_settings() -> Settings:
    """The settings of this invocation (read from etl.toml and the environment if never set)."""
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def ensure_home(home: Path) -> Path:
    """Create the workspace folders, or say in one line why they cannot be created."""
    try:
        for folder in (home, home / "staging", home / "logs"):
            folder.mkdir(parents=True, exist_ok=True)
        probe = home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"cannot write to workspace {home}: {exc.strerror}",
            fix="choose a writable directory with --home or ETL_HOME",
        ) from exc
    return home


def open_ledger(*, upgrade: bool = True) -> Ledger:
    """Open the configured ledger; on SQLite the workspace is created first."""
    from sqlalchemy.engine import make_url

    from state.ledger import Ledger

    settings = get_settings()
    if settings.ledger_url.startswith("sqlite"):
        path = make_url(settings.ledger_url).database
        if not upgrade and path and not Path(path).exists():
            raise LedgerError(f"no ledger at {path}", fix="run `etl init` first (or pass --ledger)")
        ensure_home(settings.home)
    return Ledger.open(settings.ledger_url, upgrade=upgrade)
