"""`etl reconcile`: prove each migrated customer's balance in Splynx equals Sonar's, to the cent."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from etl.commands.failures import resolve_run
from etl.context import get_settings, open_ledger
from etl.errors import ReconcileDifference
from etl.report import RECONCILE_EVENT
from transformers.rules import cents_to_decimal

if TYPE_CHECKING:  # typing only: --help imports no pipeline
    from etl.reconcile import Reconciliation

console = Console()


def _money(cents: int | None) -> str:
    return "—" if cents is None else cents_to_decimal(cents)


def reconcile(
    run: Annotated[int | None, typer.Argument(help="The migration run (default: the latest).")] = None,
    all_lines: Annotated[bool, typer.Option("--all-lines", help="List customers and months that match too.")] = False,
) -> None:
    """Compare every customer's Splynx balance with its Sonar balance; exit 6 on any difference.

    A run that carried the full history is compared month by month too (debited, paid, credited).
    Balances are read live from both systems, owed amounts positive. Example: `etl reconcile 3`.
    """
    from etl.pipeline import open_migration
    from etl.reconcile import reconcile as reconcile_run

    settings = get_settings()
    ledger = open_ledger(upgrade=False)
    try:
        run_id = resolve_run(ledger, run)
        with open_migration(settings, ledger, rate=settings.rate, workers=1, quiet=True) as migration:
            result = reconcile_run(ledger, migration.extractor.client, migration.loader.client, run_id)
        ledger.event(run_id, json.dumps(result.to_record()), entity=RECONCILE_EVENT)  # the run report shows it
    finally:
        ledger.close()
    _print_balances(run_id, result, all_lines)
    _print_months(run_id, result, all_lines)
    total = sum(abs(line.difference_cents) for line in result.balances if not line.matches)
    summary = result.summary()
    if result.differences:
        raise ReconcileDifference(
            f"{summary} (total {_money(total)})", fix="see the fix column; then run `etl reconcile` again"
        )
    what = "every balance" + (" and every monthly total" if result.months else "")
    console.print(f"{summary}: {what} matches to the cent")


def _print_balances(run_id: int, result: Reconciliation, all_lines: bool) -> None:
    table = Table(title=f"run {run_id}: balances (owed, positive)")
    for column in ("account", "customer", "Sonar", "Splynx", "difference", "fix"):
        table.add_column(column, justify="right" if column in ("Sonar", "Splynx", "difference") else "left")
    for line in result.balances:
        if line.matches and not all_lines:
            continue
        diff = "" if line.matches else _money(None if line.splynx_cents is None else line.difference_cents)
        fix = "" if line.matches else line.fix()
        table.add_row(line.account_id, line.customer_id or "—", _money(line.sonar_cents), _money(line.splynx_cents),
                      diff, fix)  # fmt: skip
    if table.row_count:
        console.print(table)


def _print_months(run_id: int, result: Reconciliation, all_lines: bool) -> None:
    table = Table(title=f"run {run_id}: monthly totals of its customers")
    for column in ("month", "kind", "Sonar", "Splynx", "difference"):
        table.add_column(column, justify="left" if column in ("month", "kind") else "right")
    for line in result.months:
        if line.matches and not all_lines:
            continue
        diff = "" if line.matches else _money(line.difference_cents)
        table.add_row(line.month, line.kind, _money(line.sonar_cents), _money(line.splynx_cents), diff)
    if table.row_count:
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add `reconcile` to the CLI."""
    app.command()(reconcile)
