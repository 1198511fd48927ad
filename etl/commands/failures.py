"""`etl failures` and `etl fix`: see what failed and why, and record a local fix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from etl.context import open_ledger
from etl.errors import ConfigError
from state.states import RunStatus

if TYPE_CHECKING:
    from state.ledger import Ledger

console = Console()


def resolve_run(ledger: Ledger, run: int | None, kind: str = "migrate") -> int:
    """The run the user named, or the newest run of that kind."""
    if run is not None:
        return ledger.get_run(run).id or run
    latest = ledger.latest_run(kind)
    if latest is None or latest.id is None:
        raise ConfigError(f"there is no {kind} run yet", fix="start one with `etl run`")
    return latest.id


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    """Turn `field=value` strings into a patch, refusing anything else in one line."""
    patch: dict[str, str] = {}
    for text in assignments:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set {text!r} is not field=value", fix="write e.g. --set email=a@example.com")
        patch[name.strip()] = value
    return patch


def failures(
    run: Annotated[int | None, typer.Argument(help="Run id; default the newest migration run.")] = None,
) -> None:
    """List a run's failed items (entity, Sonar id, field, error, suggested fix) and what it skipped, and why.

    Example: `etl failures 3`.
    """
    from etl.commands.status import skip_table
    from etl.load_stage import UNCHANGED
    from etl.report import failures as failed_items

    ledger = open_ledger(upgrade=False)
    try:
        run_id = resolve_run(ledger, run)
        found = failed_items(ledger, run_id)
        reasons = ledger.skip_reasons(run_id)
    finally:
        ledger.close()
    deliberate = {e: {r: n for r, n in per.items() if r != UNCHANGED} for e, per in reasons.items()}
    deliberate = {e: per for e, per in deliberate.items() if per}
    if deliberate:  # not failures, but records the run did not migrate: an operator checks these too
        console.print(skip_table(deliberate, f"run {run_id}: not migrated, by reason"))
    if not found:
        console.print(f"run {run_id} has no failed items")
        return
    table = Table(title=f"run {run_id}: {len(found)} failed")
    for column in ("entity", "sonar id", "field", "error", "suggested fix"):
        table.add_column(column, overflow="fold")
    for f in found:
        table.add_row(f.entity, f.source_id, f.field or "", f.error or "", f.fix or "")
    console.print(table)


def fix(
    entity: Annotated[str, typer.Argument(help="Entity, e.g. account.")],
    source_id: Annotated[str, typer.Argument(help="Sonar id of the record.")],
    assignments: Annotated[list[str], typer.Option("--set", help="field=value (Splynx field names).")],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit trail.")] = None,
) -> None:
    """Record a local override of a record; `etl resume` then migrates it with the fix.

    Example: `etl fix account 1042 --set email=jane@example.com --reason "typo in Sonar"`.
    """
    from transformers.registry import TRANSFORMERS

    if entity not in TRANSFORMERS:
        raise ConfigError(f"unknown entity {entity!r}", fix=f"use one of {', '.join(sorted(TRANSFORMERS))}")
    patch = parse_assignments(assignments)
    ledger = open_ledger(upgrade=False)
    try:
        if not ledger.known(entity, source_id):
            console.print(
                f"[yellow]warning:[/] no run has seen {entity} {source_id} yet; "
                "the override applies when it is extracted (check the id)",
                highlight=False,
            )
        override_id = ledger.add_override(entity, source_id, patch, reason)
        latest = ledger.latest_run("migrate", statuses=[RunStatus.FAILED, RunStatus.INTERRUPTED])
    finally:
        ledger.close()
    console.print(f"override {override_id} recorded for {entity} {source_id}: {patch}")
    if latest is not None:
        console.print(f"now run `etl resume {latest.id}`")


def register(app: typer.Typer) -> None:
    """Add `failures` and `fix` to the CLI."""
    app.command()(failures)
    app.command()(fix)
