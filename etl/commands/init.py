"""`etl init`: create the workspace and bring the ledger to the current schema."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from etl.context import ensure_home, get_settings, open_ledger

console = Console()


def init() -> None:
    """Create the workspace (.etl/) and the ledger, or upgrade an older ledger in place.

    Running it twice is harmless. Example: `etl init --ledger postgresql://etl@db/etl`.
    """
    settings = get_settings()
    ensure_home(settings.home)
    ledger = open_ledger(upgrade=True)
    try:
        console.print(
            f"workspace [bold]{escape(str(settings.home))}[/] ready; "
            f"ledger {escape(ledger.safe_url)} at schema {ledger.revision()}",
            highlight=False,
            soft_wrap=True,
        )
    finally:
        ledger.close()


def register(app: typer.Typer) -> None:
    """Add `init` to the CLI."""
    app.command()(init)
