"""`etl run`, `etl resume` and `etl plan`: the migration itself, thin over `etl.pipeline`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from etl.commands.status import counts_table, skip_table
from etl.context import get_settings, open_ledger
from etl.errors import ConfigError, RunFailed
from etl.history import BALANCE
from etl.options import (
    ActiveFirstOption,
    AllOption,
    CustomerOption,
    IncludeArchivedOption,
    LimitOption,
    SinceOption,
    StatusOption,
    UntilOption,
    build_selection,
    positive,
)
from etl.phases import parse_phases
from state.states import RunStatus

if TYPE_CHECKING:  # the pipeline imports every stage: loaded when a command runs, not for --help
    from etl.pipeline import RunOutcome
    from state.ledger import Ledger

console = Console()

PhasesOption = Annotated[
    list[str] | None,
    typer.Option("--phases", help="Only these phases: foundation,network,inventory,customers.", show_default=False),
]
StopOption = Annotated[
    bool,
    typer.Option("--stop-on-error/--continue-on-error", help="Stop at the first failed record (default) or go on."),
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", "-w", help="Parallel writers to Splynx (1 to 64).", min=1, max=64)
]
RateOption = Annotated[
    float | None, typer.Option("--rate", help="Requests per second to Splynx (shared).", callback=positive)
]


def print_outcome(ledger: Ledger, outcome: RunOutcome) -> None:
    """The end-of-run summary: counts per entity and state, then the first failures with their fixes."""
    console.print(counts_table(ledger, outcome.run_id))
    reasons = ledger.skip_reasons(outcome.run_id)
    if reasons:
        console.print(skip_table(reasons, "skipped, by reason"))
    if outcome.deleted_in_sonar:
        console.print(f"{len(outcome.deleted_in_sonar)} account(s) no longer in Sonar: {outcome.deleted_in_sonar[:10]}")
    if not outcome.failures:
        return
    table = Table(title=f"{len(outcome.failures)} failed (first 10)")
    for column in ("entity", "sonar id", "field", "error", "suggested fix"):
        table.add_column(column, overflow="fold")
    for f in outcome.failures[:10]:
        table.add_row(f.entity, f.source_id, f.field or "", f.error or "", f.fix or "")
    console.print(table)


def finish(outcome: RunOutcome) -> None:
    """Exit non-zero when records failed, naming the way forward."""
    if outcome.status != RunStatus.FAILED:
        console.print(f"run {outcome.run_id} {outcome.status}: {outcome.message}")
        return
    first = outcome.failures[0] if outcome.failures else None
    then = f"then `etl resume {outcome.run_id}`"
    fix = f"{first.fix}; {then}" if first and first.fix else f"see `etl failures {outcome.run_id}`, {then}"
    raise RunFailed(f"run {outcome.run_id} stopped: {outcome.message}", fix=fix)


def run(
    customer: CustomerOption = None,
    limit: LimitOption = None,
    all_: AllOption = False,
    status: StatusOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    active_first: ActiveFirstOption = True,
    include_archived: IncludeArchivedOption = False,
    phases: PhasesOption = None,
    stop_on_error: StopOption = True,
    workers: WorkersOption = None,
    rate: RateOption = None,
    sync_deletes: Annotated[bool, typer.Option("--sync-deletes", help="Disable in Splynx what Sonar deleted.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Ignore the incremental watermark.")] = False,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Read each record back after writing.")] = True,
    history: Annotated[
        str | None,
        typer.Option(
            "--history", help="History: balance (one opening balance each) or full (every debit, discount, payment)."
        ),
    ] = None,
    history_since: Annotated[
        str | None,
        typer.Option("--history-since", help="Full history from this day (YYYY-MM-DD); earlier: brought forward."),
    ] = None,
) -> None:
    """Migrate a selection from Sonar to Splynx; a later run brings over only what changed.

    Examples: `etl run --customer 1042`, `etl run --limit 100`, `etl run --all --workers 8`,
    `etl run --all --history full --history-since 2024-01-01`.
    """
    from etl.pipeline import RunOptions, open_migration

    selection = build_selection(
        customer=customer, limit=limit, all_=all_, status=status, since=since, until=until,
        active_first=active_first, include_archived=include_archived,
    )  # fmt: skip
    settings = get_settings()
    options = RunOptions(
        phases=parse_phases(phases), stop_on_error=stop_on_error, workers=_workers(workers, settings.workers),
        rate=rate if rate is not None else settings.rate, sync_deletes=sync_deletes, full=full, verify=verify,
        history=history or settings.history_mode or BALANCE, history_since=history_since or settings.history_since,
    )  # fmt: skip
    ledger = open_ledger()
    try:
        with open_migration(settings, ledger, rate=options.rate, workers=options.workers, quiet=settings.quiet,
                            verify=verify) as migration:  # fmt: skip
            outcome = migration.run(selection, options)
        print_outcome(ledger, outcome)
    finally:
        ledger.close()
    finish(outcome)


def resume(
    run_id: Annotated[int | None, typer.Argument(help="Run to resume; default the newest unfinished one.")] = None,
    workers: WorkersOption = None,
    rate: RateOption = None,
    stop_on_error: Annotated[
        bool | None, typer.Option("--stop-on-error/--continue-on-error", help="Change the error policy.")
    ] = None,
) -> None:
    """Continue a failed or interrupted run: only what is not done runs again.

    Example: `etl fix account 1042 --set email=jane@example.com` then `etl resume`.
    """
    from etl.pipeline import open_migration

    settings = get_settings()
    ledger = open_ledger(upgrade=False)
    try:
        target = run_id if run_id is not None else _unfinished_run(ledger)
        with open_migration(settings, ledger, rate=rate or settings.rate, workers=_workers(workers, settings.workers),
                            quiet=settings.quiet) as migration:  # fmt: skip
            outcome = migration.resume(target, workers=workers, rate=rate, stop_on_error=stop_on_error)
        print_outcome(ledger, outcome)
    finally:
        ledger.close()
    finish(outcome)


def plan(
    customer: CustomerOption = None,
    limit: LimitOption = None,
    all_: AllOption = False,
    status: StatusOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    active_first: ActiveFirstOption = True,
    include_archived: IncludeArchivedOption = False,
    phases: PhasesOption = None,
) -> None:
    """Show what a run would do (create, update, skip, delete per entity) without writing anything.

    Example: `etl plan --all`.
    """
    selection = build_selection(
        customer=customer, limit=limit, all_=all_, status=status, since=since, until=until,
        active_first=active_first, include_archived=include_archived,
    )  # fmt: skip
    from etl.plan import plan as build_plan

    settings = get_settings()
    ledger = open_ledger(upgrade=False)
    try:
        result = build_plan(settings, ledger, selection, parse_phases(phases))
    finally:
        ledger.close()
    table = Table(title="plan (nothing written)")
    columns = ("create", "update", "skip", "invalid", "delete")
    table.add_column("entity")
    for column in columns:
        table.add_column(column, justify="right")
    for entity, per in result.counts.items():
        table.add_row(entity, *[str(per.get(c, 0)) for c in columns])
    console.print(table)
    if result.skip_reasons:
        console.print(skip_table(result.skip_reasons, "would skip, by reason"))



def _workers(value: int | None, default: int) -> int:
    """The flag, else `[etl] workers`; both are range-checked where they are read (Typer, etl.config)."""
    return value if value is not None else default


def _unfinished_run(ledger: Ledger) -> int:
    run = ledger.latest_run("migrate", statuses=[RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.RUNNING])
    if run is None or run.id is None:
        raise ConfigError("there is no unfinished migration run to resume", fix="see `etl runs`")
    return run.id


def register(app: typer.Typer) -> None:
    """Add `run`, `resume` and `plan` to the CLI."""
    app.command()(run)
    app.command()(resume)
    app.command()(plan)
