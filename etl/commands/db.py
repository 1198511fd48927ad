"""`etl db copy` and `etl db verify`: resumable, checkpointed database copies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from etl.context import get_settings, open_ledger
from etl.logs import register_secrets

if TYPE_CHECKING:  # the engines' drivers load only when a copy runs, not for `etl --help`
    from etl.dbcopy.copier import CopyReport
    from etl.dbcopy.plan import PlannedDataset

console = Console()
db_app = typer.Typer(help="Copy databases (MySQL, PostgreSQL, SQLite, MongoDB, Redis) resumably.", no_args_is_help=True)

Names = Annotated[
    list[str] | None, typer.Option(help="Only these tables/collections (repeatable, or comma-separated).")
]
Exclude = Annotated[
    list[str] | None, typer.Option(help="Skip these tables/collections (repeatable, or comma-separated).")
]
BatchSize = Annotated[int, typer.Option(help="Rows per batch, i.e. per checkpoint.", min=1)]


def _names(values: list[str] | None) -> tuple[str, ...]:
    return tuple(n.strip() for v in values or [] for n in v.split(",") if n.strip())


def _hide_passwords(*urls: str) -> None:
    """Register URL passwords with the log scrubber before anything can print them."""
    register_secrets([urlsplit(u).password if "://" in u else None for u in urls])


def _plan_tables(plan: list[PlannedDataset]) -> list[Table]:
    summary = Table(title="plan")
    for column in ("dataset", "kind", "rows", "batches", "batched by", "after"):
        summary.add_column(column)
    tables = [summary]
    for item in plan:
        summary.add_row(
            item.name, item.kind, str(item.rows), str(item.batches), item.keyed_by, ", ".join(item.depends_on)
        )
        if item.columns:
            mapping = Table(title=f"{item.name}: type mapping")
            for column in ("column", "source type", "destination type"):
                mapping.add_column(column)
            for row in item.columns:
                mapping.add_row(*row)
            tables.append(mapping)
    return tables


def _report_table(report: CopyReport) -> Table:
    table = Table(
        title=f"run {report.run_id}: copied in {report.seconds:.1f}s ({report.ledger_seconds:.2f}s in the ledger)"
    )
    for column in ("dataset", "status", "rows", "batches copied", "batches resumed", "checksum"):
        table.add_column(column)
    for item in report.datasets:
        table.add_row(item.name, item.status, str(item.rows), str(item.batches), str(item.resumed), item.checksum[:16])
    return table


@db_app.command("copy")
def copy(
    source: Annotated[
        str, typer.Argument(help="Source URL: mysql://, postgresql://, sqlite:///path, mongodb://, redis://")
    ],
    destination: Annotated[str, typer.Argument(help="Destination URL, same families as the source.")],
    tables: Names = None,
    exclude: Exclude = None,
    batch_size: BatchSize = 10_000,
    workers: Annotated[int, typer.Option(help="Tables copied in parallel.", min=1)] = 1,
    dry_run: Annotated[bool, typer.Option(help="Print the plan (tables, rows, batches, types) and stop.")] = False,
    schema_only: Annotated[bool, typer.Option(help="Create tables, keys, indexes; copy no rows.")] = False,
    data_only: Annotated[bool, typer.Option(help="Copy rows into tables that already exist.")] = False,
) -> None:
    """Copy tables (collections, keys) with every batch checkpointed; rerun the same command to resume.

    Example: `etl db copy mysql://root@127.0.0.1/radius postgresql://postgres@127.0.0.1/radius --batch-size 5000`.
    """
    from etl.dbcopy.copier import CopyOptions, copy_database
    from etl.dbcopy.plan import plan_copy

    _hide_passwords(source, destination)
    options = CopyOptions(
        tables=_names(tables),
        exclude=_names(exclude),
        batch_size=batch_size,
        workers=workers,
        schema_only=schema_only,
        data_only=data_only,
        staging=get_settings().staging_dir,
    )
    if dry_run:
        for table in _plan_tables(plan_copy(source, destination, options)):
            console.print(table)
        return
    ledger = open_ledger()
    try:
        report = copy_database(source, destination, ledger, options)
    finally:
        ledger.close()
    console.print(_report_table(report))


@db_app.command("verify")
def verify(
    source: Annotated[str, typer.Argument(help="Source URL of a finished copy.")],
    destination: Annotated[str, typer.Argument(help="Destination URL of that copy.")],
    tables: Names = None,
    exclude: Exclude = None,
    batch_size: BatchSize = 10_000,
) -> None:
    """Compare both sides batch by batch (count + checksum); a difference names the table and key range.

    Example: `etl db verify sqlite:///radius.db postgresql://postgres@127.0.0.1/radius`.
    """
    from etl.dbcopy.copier import CopyOptions
    from etl.dbcopy.verify import verify_copy

    _hide_passwords(source, destination)
    options = CopyOptions(tables=_names(tables), exclude=_names(exclude), batch_size=batch_size)
    report = verify_copy(source, destination, options)
    if report.mismatches:
        for mismatch in report.mismatches[1:]:
            console.print(f"mismatch: {mismatch.one_line()}", highlight=False, soft_wrap=True)
        raise report.mismatches[0]
    console.print(f"{report.datasets} dataset(s), {report.batches} batch(es): identical")


def register(app: typer.Typer) -> None:
    """Add the `db` command group to the CLI."""
    app.add_typer(db_app, name="db")
