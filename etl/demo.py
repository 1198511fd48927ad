"""`etl demo`: a whole migration on the embedded default, narrated for a new user.

It starts both simulators in-process, migrates N customers with stop-on-error, hits the sandbox's
deliberately bad records, fixes each with a local override exactly as a user would
(`etl fix …`), resumes, and ends with an audit query over staging and the ledger. Everything
lives in a fresh workspace (`<home>/demo`), so a demo never mixes with a real migration's ledger.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from etl.audit import open_audit, run_query
from etl.config import Secret, Settings, default_ledger_url
from etl.errors import ConfigError
from etl.pipeline import RunOptions, RunOutcome, open_migration
from etl.report import Failure
from etl.sandbox.pair import SandboxPair
from etl.selection import Selection
from state.ledger import Ledger
from state.states import RunStatus

MAX_FIXES = 5
AUDIT_QUERY = """
SELECT a.id AS sonar_id, left(a.name, 40) AS sonar_name, m.dest_id AS splynx_customer, i.state,
       count(DISTINCT s.id) AS services
FROM account a
JOIN item i ON i.entity = 'account' AND i.source_id = a.id AND i.run_id = a._run_id
LEFT JOIN id_map m ON m.entity = 'account' AND m.source_id = a.id
LEFT JOIN account_service s ON s.account_id = a.id
GROUP BY 1, 2, 3, 4 ORDER BY CAST(sonar_id AS INTEGER) LIMIT 8
"""


@dataclass
class DemoResult:
    """The run the demo made and how many fixes it took."""

    run_id: int
    status: RunStatus
    fixes: int
    workspace: Path


def suggest_value(failure: Failure) -> str:
    """A value a person would plausibly type to fix the sandbox's planted problems."""
    field = failure.field or ""
    if field == "name":
        return f"Customer {failure.source_id}"
    if field == "login":
        return f"sonar-{failure.source_id}"
    if "email" in field:
        return f"customer{failure.source_id}@example.com"
    raise ConfigError(f"the demo cannot fix {failure.entity} {failure.source_id} ({field}): {failure.error}")


def demo_settings(base: Settings, workspace: Path, pair: SandboxPair) -> Settings:
    """Settings pointing at the workspace and the running simulators."""
    return base.with_overrides(
        home=workspace,
        ledger_url=default_ledger_url(workspace),
        sonar_url=pair.sonar.url,
        sonar_token=Secret(pair.token),
        splynx_url=pair.splynx.base_url,
        splynx_key=Secret(pair.key),
        splynx_secret=Secret(pair.secret),
    )


def fresh_workspace(home: Path) -> Path:
    """`<home>/demo`, emptied."""
    workspace = home / "demo"
    shutil.rmtree(workspace, ignore_errors=True)
    (workspace / "staging").mkdir(parents=True, exist_ok=True)
    return workspace


def run_demo(base: Settings, customers: int, console: Console, *, quiet: bool = False) -> DemoResult:
    """Migrate, fail, fix, resume, audit: the whole story on local simulators."""
    workspace = fresh_workspace(base.home)
    with SandboxPair(customers=customers, splynx_db=workspace / "splynx.db") as pair:
        settings = demo_settings(base, workspace, pair)
        console.rule("1. the sandbox")
        console.print(f"Sonar simulator with {customers} customers at {pair.sonar.url}")
        console.print(f"Splynx simulator (empty) at {pair.splynx.base_url}; workspace {workspace}")
        ledger = Ledger.open(settings.ledger_url)
        try:
            with open_migration(settings, ledger, rate=None, workers=4, quiet=quiet) as migration:
                console.rule(f"2. etl run --limit {customers}  (stop on the first error)")
                outcome = migration.run(Selection(limit=customers), RunOptions())
                fixes = 0
                while outcome.status == RunStatus.FAILED and outcome.failures and fixes < MAX_FIXES:
                    fixes += 1
                    outcome = fix_and_resume(ledger, migration.resume, outcome, console, fixes)
            console.rule("4. the result")
            show_counts(ledger, outcome, console)
            console.rule("5. an audit query: etl sql")
            show_audit(settings, ledger, console)
        finally:
            ledger.close()
    return DemoResult(outcome.run_id, outcome.status, fixes, workspace)


def fix_and_resume(ledger: Ledger, resume: object, outcome: RunOutcome, console: Console, n: int) -> RunOutcome:
    """Show the failure, record the override a user would, and resume the run."""
    failure = outcome.failures[0]
    console.rule(f"3.{n} a record failed: fix it and resume")
    console.print(f"[red]{failure.entity} {failure.source_id} failed[/]: {failure.error}", highlight=False)
    console.print(f"suggested fix: {failure.fix}", highlight=False)
    value = suggest_value(failure)
    ledger.add_override(failure.entity, failure.source_id, {failure.field or "": value}, "fixed in etl demo")
    console.print(f"$ etl fix {failure.entity} {failure.source_id} --set {failure.field}={value!r}", highlight=False)
    console.print(f"$ etl resume {outcome.run_id}")
    assert callable(resume)
    result: RunOutcome = resume(outcome.run_id)
    return result


def show_counts(ledger: Ledger, outcome: RunOutcome, console: Console) -> None:
    """The final counts per entity."""
    from etl.commands.status import counts_table

    console.print(counts_table(ledger, outcome.run_id))
    console.print(f"run {outcome.run_id}: {outcome.status} ({outcome.message})")


def show_audit(settings: Settings, ledger: Ledger, console: Console) -> None:
    """Staged Sonar accounts joined with their ledger state and Splynx ids."""
    console.print(f"[dim]{AUDIT_QUERY.strip()}[/]", highlight=False)
    result = run_query(open_audit(settings.staging_dir, ledger), AUDIT_QUERY)
    table = Table()
    for column in result.columns:
        table.add_column(column)
    for row in result.rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)
