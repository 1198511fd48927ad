"""`etl status` and `etl runs`: what the ledger knows, as Rich tables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from etl.context import open_ledger
from state.states import ItemState

if TYPE_CHECKING:
    from state.ledger import Ledger
    from state.models import Run

console = Console()
STATE_ORDER = [s.value for s in ItemState]


def runs_table(runs: list[Run], title: str = "runs") -> Table:
    """A table of runs, newest first."""
    table = Table(title=title)
    for column in ("run", "kind", "status", "started", "finished", "parent", "owner", "message"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            str(run.id),
            run.kind,
            run.status,
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            f"{run.finished_at:%Y-%m-%d %H:%M:%S}" if run.finished_at else "",
            str(run.parent_run_id or ""),
            run.owner or "",
            (run.message or "")[:60],
        )
    return table


def counts_table(ledger: Ledger, run_id: int) -> Table:
    """One run's items: a row per entity, a column per state that occurs."""
    run = ledger.get_run(run_id)
    counts = ledger.counts(run_id)
    states = [s for s in STATE_ORDER if any(s in per for per in counts.values())]
    table = Table(title=f"run {run.id} ({run.kind}, {run.status})")
    table.add_column("entity")
    for state in states:
        table.add_column(state, justify="right")
    table.add_column("total", justify="right")
    for entity, per in counts.items():
        table.add_row(entity, *[str(per.get(s, 0)) for s in states], str(sum(per.values())))
    return table


def skip_table(reasons: Mapping[str, Mapping[str, int]], title: str) -> Table:
    """Entity, reason and count of the records deliberately not migrated, most frequent first."""
    table = Table(title=title)
    for column in ("entity", "reason", "items"):
        table.add_column(column, overflow="fold", justify="right" if column == "items" else "left")
    for entity, per in reasons.items():
        for reason, n in sorted(per.items(), key=lambda x: -x[1]):
            table.add_row(entity, reason, str(n))
    return table


def status(run: Annotated[int | None, typer.Argument(help="Run id; omit to list recent runs.")] = None) -> None:
    """Show recent runs, or one run's item counts per entity and state.

    Example: `etl status 3`.
    """
    from etl.runlock import refresh_statuses

    ledger = open_ledger(upgrade=False)
    try:
        refresh_statuses(ledger)
        if run is None:
            recent = ledger.runs(limit=20)
            console.print(runs_table(recent) if recent else "no runs yet: start one with `etl run` or `etl demo`")
        else:
            console.print(counts_table(ledger, run))
            transfers = ledger.transfers(run)
            if transfers:
                console.print(f'{len(transfers)} transfer(s); see `etl sql "select * from transfer"`')
    finally:
        ledger.close()


def runs(
    kind: Annotated[str | None, typer.Option(help="Only runs of this kind (migrate, extract, copy…).")] = None,
    limit: Annotated[int, typer.Option(help="How many runs to show.", min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List runs, newest first. Example: `etl runs --kind migrate`."""
    from etl.runlock import refresh_statuses

    ledger = open_ledger(upgrade=False)
    try:
        refresh_statuses(ledger)
        found = ledger.runs(kind=kind, limit=limit)
    finally:
        ledger.close()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in found], indent=2))
    else:
        console.print(runs_table(found) if found else "no runs yet")


def register(app: typer.Typer) -> None:
    """Add `status` and `runs` to the CLI."""
    app.command()(status)
    app.command()(runs)
