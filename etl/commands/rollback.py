"""`etl rollback`: undo what one migration run created in Splynx."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from etl.context import get_settings, open_ledger
from etl.errors import ConfigError
from etl.phases import rollback_order
from etl.runlock import migration_lock

console = Console()


def rollback(
    run_id: Annotated[int, typer.Argument(help="The migration run to roll back.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking.")] = False,
) -> None:
    """Delete from Splynx exactly what a run created (never what it only updated), children first.

    The one kind of update it takes back is a put-only write with an undo body: an inventory item's
    customer is set back to none before the customers are deleted.

    Example: `etl rollback 3 --yes`. Interrupted? Run the same command again.
    """
    from etl.pipeline import open_migration
    from etl.rollback import created_items, undoable_items
    from etl.rollback import rollback as rollback_run

    settings = get_settings()
    ledger = open_ledger(upgrade=False)
    try:
        count = sum(len(created_items(ledger, run_id, e)) + len(undoable_items(ledger, run_id, e))
                    for e in rollback_order())  # fmt: skip
        ledger.get_run(run_id)
        if count == 0:
            console.print(f"run {run_id} has nothing left to roll back")
            return
        if not yes and not typer.confirm(f"Undo {count} write(s) that run {run_id} made in Splynx?"):
            raise ConfigError("rollback not confirmed", fix="answer y, or pass --yes")
        with (
            migration_lock(settings.home, "migration or rollback", ledger=ledger),
            open_migration(settings, ledger, rate=settings.rate, workers=1, quiet=settings.quiet) as migration,
            migration.progress as progress,
        ):
            context = migration.context()
            outcome = rollback_run(ledger, migration.loader, settings.staging_dir, run_id, progress, context)
    finally:
        ledger.close()
    console.print(
        f"run {run_id} rolled back by run {outcome.rollback_run_id}: "
        f"{outcome.deleted} deleted, {outcome.already_gone} already gone"
        + (f", {outcome.undone} put back" if outcome.undone else "")
    )


def register(app: typer.Typer) -> None:
    """Add `rollback` to the CLI."""
    app.command()(rollback)
