"""`etl demo`: the whole story (migrate, fail, fix, resume, audit) on its own simulators."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from etl.cli import app
from state.ledger import OVERRIDE, Ledger
from state.states import ItemState, RunStatus


def test_demo_fixes_the_two_bad_records_and_ends_with_a_succeeded_run(tmp_path: Path) -> None:
    env = {"ETL_HOME": str(tmp_path / "home"), "ETL_CONFIG": str(tmp_path / "absent.toml"), "COLUMNS": "200",
           "ETL_LEDGER_URL": None, "ETL_SONAR_URL": None, "ETL_SPLYNX_URL": None}  # fmt: skip

    result = CliRunner().invoke(app, ["demo", "--customers", "20"], env=env)

    assert result.exit_code == 0, result.output
    assert "succeeded after 2 fix(es)" in result.output
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'home' / 'demo' / 'ledger.db'}", upgrade=False)
    try:
        (run,) = ledger.runs(kind="migrate")
        assert run.status == RunStatus.SUCCEEDED
        fixed = overridden(ledger)
        assert ("account", "4") in fixed and len(fixed) == 2
        assert not ledger.items(run.id or 0, state=ItemState.FAILED)
        assert len(ledger.mapped("account")) == 19  # 20 less the archived account 8
    finally:
        ledger.close()


def overridden(ledger: Ledger) -> set[tuple[str, str]]:
    """(entity, Sonar id) of every override recorded: the demo's fixes."""
    with ledger.reader.connect() as conn:
        return {(e, s) for e, s in conn.execute(select(OVERRIDE.c.entity, OVERRIDE.c.source_id))}
