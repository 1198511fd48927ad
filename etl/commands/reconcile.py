"""`etl reconcile`: prove each migrated customer's balance in Splynx equals Sonar's, to the cent."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from etl.commands.failures import resolve_run
from etl.context import get_settings, open_ledger
from etl.errors import ReconcileDifference
from transformers.rules import cents_to_decimal

console = Console()


def _money(cents: int | None) -> str:
    return "—" if cents is None else cents_to_decimal(cents)


def reconcile(
    run: Annotated[int | None, typer.Argument(help="The migration run (default: the latest).")] = None,
    all_lines: Annotated[bool, typer.Option("--all-lines", help="List customers that match too.")] = False,
) -> None:
    """Compare every customer's Splynx balance with its Sonar balance; exit 6 on any difference.

    Balances are read live from both systems, owed amounts positive. Example: `etl reconcile 3`.
    """
    from etl.pipeline import open_migration
    from etl.reconcile import reconcile as reconcile_run

    settings = get_settings()
    ledger = open_ledger(upgrade=False)
    try:
        run_id = resolve_run(ledger, run)
        with open_migration(settings, ledger, rate=settings.rate, workers=1, quiet=True) as migration:
            lines = list(reconcile_run(ledger, migration.extractor.client, migration.loader.client, run_id))
    finally:
        ledger.close()
    table = Table(title=f"run {run_id}: balances (owed, positive)")
    for column in ("account", "customer", "Sonar", "Splynx", "difference", "fix"):
        table.add_column(column, justify="right" if column in ("Sonar", "Splynx", "difference") else "left")
    wrong = [line for line in lines if not line.matches]
    for line in lines if all_lines else wrong:
        diff = "" if line.matches else _money(line.difference_cents)
        fix = "" if line.matches else line.fix()
        row = (line.account_id, line.customer_id or "—", _money(line.sonar_cents), _money(line.splynx_cents), diff, fix)
        table.add_row(*row)
    if table.row_count:
        console.print(table)
    total = sum(abs(line.difference_cents) for line in wrong)
    summary = f"{len(lines)} customers reconciled, {len(wrong)} differ"
    if wrong:
        raise ReconcileDifference(
            f"{summary} (total {_money(total)})", fix="see the fix column; then run `etl reconcile` again"
        )
    console.print(f"{summary}: every balance matches to the cent")


def register(app: typer.Typer) -> None:
    """Add `reconcile` to the CLI."""
    app.command()(reconcile)
