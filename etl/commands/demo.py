"""`etl demo`: the whole story on local simulators, for a first look."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from etl.context import get_settings
from etl.errors import RunFailed
from state.states import RunStatus

console = Console()


def demo(
    customers: Annotated[int, typer.Option(help="Customers to migrate (1 to 100000).", min=1, max=100_000)] = 100,
) -> None:
    """Migrate sample customers between local Sonar and Splynx simulators, fix a bad record, resume, audit.

    Example: `etl demo --customers 100`. Its workspace is `.etl/demo`; explore it afterwards with
    `etl --home .etl/demo status 1` or `etl --home .etl/demo sql "select * from item limit 5"`.
    """
    from etl.demo import run_demo

    settings = get_settings()
    result = run_demo(settings, customers, console, quiet=settings.quiet)
    if result.status != RunStatus.SUCCEEDED:
        raise RunFailed(
            f"demo run {result.run_id} ended {result.status}", fix=f"see `etl --home {result.workspace} failures`"
        )
    console.print(
        f"[green]done[/]: run {result.run_id} succeeded after {result.fixes} fix(es). "
        f"Explore: etl --home {result.workspace} status {result.run_id}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add `demo` to the CLI."""
    app.command()(demo)
