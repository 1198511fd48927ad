"""`etl extract`: read a selection from Sonar into Parquet staging, recorded in the ledger, nothing else."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from etl.context import get_settings, open_ledger
from etl.options import (
    ActiveFirstOption,
    AllOption,
    CustomerOption,
    EntitiesOption,
    IncludeArchivedOption,
    LimitOption,
    SinceOption,
    StatusOption,
    UntilOption,
    build_selection,
    parse_entities,
)
from etl.progress import ProgressReporter

console = Console()


class ExtractBars:
    """The extractor's progress protocol (entity, records) on the shared Rich bars."""

    def __init__(self, reporter: ProgressReporter) -> None:
        self.reporter = reporter

    def start(self, entity: str, total: int | None) -> None:
        """Add the entity's bar."""
        self.reporter.start(entity, f"extract {entity}", total)

    def advance(self, entity: str, records: int) -> None:
        """Move the entity's bar by one page."""
        self.reporter.advance(entity, records)


def extract(
    customer: CustomerOption = None,
    limit: LimitOption = None,
    all_: AllOption = False,
    status: StatusOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    active_first: ActiveFirstOption = True,
    include_archived: IncludeArchivedOption = False,
    entities: EntitiesOption = None,
) -> None:
    """Extract a selection from Sonar into Parquet staging (a ledger run of kind "extract").

    Example: `etl extract --status Active --limit 100`, then `etl sql "select count(*) from account"`.
    """
    selection = build_selection(
        customer=customer, limit=limit, all_=all_, status=status, since=since, until=until,
        active_first=active_first, include_archived=include_archived,
    )  # fmt: skip
    from extractors.sonar import SonarExtractor, extract_to_staging

    wanted = parse_entities(entities)
    settings = get_settings()
    with SonarExtractor.from_settings(settings) as extractor:
        ledger = open_ledger()
        try:
            with ProgressReporter(quiet=settings.quiet, console=console) as reporter:
                result = extract_to_staging(
                    extractor, ledger, settings.staging_dir, selection,
                    entities=wanted, progress=ExtractBars(reporter),
                )  # fmt: skip
        finally:
            ledger.close()
    table = Table(title=f"extract run {result.run_id}")
    table.add_column("entity")
    table.add_column("records", justify="right")
    for entity, count in result.counts.items():
        table.add_row(entity, str(count))
    console.print(table)
    console.print(f"staged under {settings.staging_dir / f'run={result.run_id}'}")


def register(app: typer.Typer) -> None:
    """Add `etl extract`."""
    app.command("extract")(extract)
