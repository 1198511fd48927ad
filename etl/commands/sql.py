"""`etl sql`: query staged Sonar data and the ledger together with DuckDB."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from etl.context import get_settings, open_ledger

if TYPE_CHECKING:  # DuckDB and pyarrow load only when a query runs
    from etl.audit import QueryResult

console = Console()


class OutputFormat(StrEnum):
    """How `etl sql` prints its rows."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def _table(result: QueryResult) -> Table:
    table = Table(show_lines=False)
    for column in result.columns:
        table.add_column(column, overflow="fold")
    for row in result.rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


def sql(
    query: Annotated[str, typer.Argument(help="One SQL statement (DuckDB dialect).")],
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="table, csv or json.")] = OutputFormat.TABLE,
    run: Annotated[int | None, typer.Option("--run", help="Only this run's staged data.")] = None,
) -> None:
    """Query staged entities (a view each), `dbcopy`, and the ledger tables (run, item, id_map, …).

    Example: `etl sql "select state, count(*) from item group by state" --format csv`.
    """
    from etl.audit import open_audit, run_query, to_csv, to_json

    settings = get_settings()
    ledger = open_ledger(upgrade=False)
    try:
        con = open_audit(settings.staging_dir, ledger, run_id=run)
        result = run_query(con, query)
        con.close()
    finally:
        ledger.close()
    if output is OutputFormat.TABLE:
        console.print(_table(result))
    else:
        typer.echo((to_csv(result) if output is OutputFormat.CSV else to_json(result)).rstrip("\n"))


def register(app: typer.Typer) -> None:
    """Add `etl sql`."""
    app.command("sql")(sql)
