"""The stop → fix → resume flow and a rollback with the ledger in PostgreSQL instead of SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from state.states import ItemState, RunStatus
from tests.fixtures.ledger import postgres_schema
from tests.fixtures.pipeline import Sandbox, SandboxFactory, splynx_markers

pytestmark = pytest.mark.services


@pytest.fixture
def pg_sandbox(make_sandbox: SandboxFactory) -> Iterator[Sandbox]:
    """The usual sandbox, its ledger in a fresh PostgreSQL schema (skipped locally without PostgreSQL)."""
    with postgres_schema() as url:
        box = make_sandbox(ledger_url=url)
        box.etl("init")
        yield box


def test_stop_fix_resume_on_a_postgresql_ledger(pg_sandbox: Sandbox) -> None:
    pg_sandbox.etl("run", "--limit", "8", "--workers", "1", code=1)
    with pg_sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.FAILED
        assert {i.source_id for i in ledger.items(1, state=ItemState.FAILED)} == {"4"}

    pg_sandbox.etl("fix", "account", "4", "--set", "name=Northwest Regional Cooperative")
    pg_sandbox.etl("fix", "account", "6", "--set", "login=sonar-6")
    pg_sandbox.etl("resume")

    with pg_sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.SUCCEEDED
        assert ledger.counts(1)["account"] == {"verified": 8}
    pg_sandbox.check()


def test_rollback_on_a_postgresql_ledger(pg_sandbox: Sandbox) -> None:
    pg_sandbox.etl("run", "--limit", "3")
    assert len(pg_sandbox.customers()) == 3

    pg_sandbox.etl("rollback", "1", "--yes")

    assert splynx_markers(pg_sandbox.splynx) == {}
    with pg_sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.ROLLED_BACK
        assert not ledger.mapped("account")
