"""`etl extract`: read a selection from Sonar into Parquet staging, recorded in the ledger, nothing else."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

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
from extractors.sonar import SonarExtractor, extract_to_staging

console = Console()


class RateColumn(ProgressColumn):
    """Records per second of a task."""

    def render(self, task: Task) -> Text:
        """Show the smoothed rate, or nothing before the first page."""
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="progress.data.speed")


class RichExtractProgress:
    """One Rich task per entity, with rate and ETA (ETA only where a total is known)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def start(self, entity: str, total: int | None) -> None:
        """Add the entity's bar."""
        self.tasks[entity] = self.progress.add_task(entity, total=total)

    def advance(self, entity: str, records: int) -> None:
        """Move the entity's bar by one page."""
        self.progress.advance(self.tasks[entity], records)


def _progress(quiet: bool) -> Progress:
    columns: list[ProgressColumn] = [
        TextColumn("[bold]{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    return Progress(*columns, console=console, disable=quiet, transient=False)


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
    wanted = parse_entities(entities)
    settings = get_settings()
    with SonarExtractor.from_settings(settings) as extractor:
        ledger = open_ledger()
        try:
            with _progress(settings.quiet) as progress:
                result = extract_to_staging(
                    extractor, ledger, settings.staging_dir, selection,
                    entities=wanted, progress=RichExtractProgress(progress),
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
