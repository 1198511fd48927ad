"""`etl sql` / etl.audit: DuckDB over staged Parquet, db-copy batches and the ledger; docs/audit.md's queries."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from etl.audit import open_audit, run_query, sql_blocks, to_csv, to_json
from etl.errors import ConfigError, RecordProblem
from etl.sandbox.sonar import SonarSimulator
from etl.selection import Selection
from etl.staging import read_records
from extractors.sonar import SonarClient, SonarExtractor, extract_to_staging
from state.ledger import ChunkPlan, Ledger
from state.states import ChunkState, ItemState, TransferState

DOC = Path(__file__).resolve().parents[1] / "docs" / "audit.md"


@dataclass
class Fixture:
    home: Path
    ledger: Ledger
    run_id: int
    second_run_id: int
    failed_ids: list[str]
    changed_id: str

    @property
    def staging(self) -> Path:
        return self.home / "staging"


def _load_accounts(ledger: Ledger, staging: Path, run_id: int) -> tuple[list[str], str]:
    """Pretend a loader ran: most accounts verified (with id_map), two active static-IP accounts failed."""
    accounts = [r for r, _ in read_records(staging, run_id, "account")]
    accounts.sort(key=lambda r: int(r["id"]))
    static_active = [a["id"] for a in accounts
                     if a["account_status"]["activates_account"] and a["ip_assignments"]["entities"]]
    failed = static_active[:2]
    for number, account in enumerate(accounts):
        sid = account["id"]
        ledger.move(run_id, "account", sid, ItemState.TRANSFORMED)
        if sid in failed:
            ledger.fail(run_id, "account", sid, RecordProblem(
                "ip_in_use", "IPv4 address already used by another customer", "ipv4", "198.18.0.10",
                "free the address in Splynx or fix the assignment in Sonar"))
            continue
        if number % 4 == 3:
            continue  # left transformed: never reached Splynx
        ledger.move(run_id, "account", sid, ItemState.LOADING, request={"name": account["name"]})
        ledger.move(run_id, "account", sid, ItemState.LOADED, dest_id=str(1000 + number))
        item = ledger.item(run_id, "account", sid)
        assert item is not None
        ledger.map("account", sid, str(1000 + number), run_id=run_id, source_hash=item.source_hash)
    changed = next(a["id"] for a in accounts if ledger.dest_id("account", a["id"]))
    ledger.map("account", changed, ledger.dest_id("account", changed) or "", run_id=run_id, source_hash="0" * 64)
    ledger.add_override("account", changed, {"name": "Fixed Name"}, reason="name too long in Sonar")
    return failed, changed


def _db_copy(ledger: Ledger, staging: Path, run_id: int) -> None:
    transfer = ledger.open_transfer(run_id=run_id, kind="table", source="mysql://src/db", destination="pg://dst/db",
                                    name="radacct", size=None, fingerprint="f1")
    assert transfer.id is not None
    ledger.plan_chunks(transfer.id, [ChunkPlan(seq, key_from=str(seq * 10), key_to=str(seq * 10 + 9))
                                     for seq in range(3)])
    for seq in range(2):
        ledger.record_chunk(transfer.id, seq, state=ChunkState.VERIFIED, rows=10)
    ledger.finish_transfer(transfer.id, TransferState.FAILED, error="stopped for the test")
    folder = staging / "dbcopy" / f"transfer={transfer.id}"
    folder.mkdir(parents=True)
    for seq in range(2):
        table = pa.table({"radacctid": list(range(seq * 10, seq * 10 + 10)), "username": [f"u{i}" for i in range(10)]})
        pq.write_table(table, folder / f"batch-{seq:06d}.parquet")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    home = tmp_path_factory.mktemp("audit")
    ledger = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
    with SonarSimulator(customers=60, seed=7, token="t") as sim:
        extractor = SonarExtractor(SonarClient(sim.url, "t"), page_size=25)
        run_id = extract_to_staging(extractor, ledger, home / "staging", Selection()).run_id
        second = extract_to_staging(extractor, ledger, home / "staging", Selection(customer_ids=("1", "2"))).run_id
    failed, changed = _load_accounts(ledger, home / "staging", run_id)
    _db_copy(ledger, home / "staging", run_id)
    ledger.event(second, "referenced by the selection but not returned by Sonar", "service", "9")
    yield Fixture(home, ledger, run_id, second, failed, changed)
    ledger.close()


def query(fx: Fixture, sql: str, run_id: int | None = None) -> list[tuple[Any, ...]]:
    con = open_audit(fx.staging, fx.ledger, run_id=run_id)
    try:
        return run_query(con, sql).rows
    finally:
        con.close()


def test_every_staged_entity_ledger_table_and_dbcopy_is_a_view(audited: Fixture) -> None:
    con = open_audit(audited.staging, audited.ledger)
    names = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert {"account", "account_service", "service", "user", "dbcopy"} <= names
    assert {"run", "item", "id_map", "override", "transfer", "chunk", "event"} <= names


def test_question_active_static_ip_customers_that_failed_is_one_query(audited: Fixture) -> None:
    sql = next(b for b in sql_blocks(DOC.read_text()) if "static" in b or "ip_assignments" in b)
    rows = query(audited, sql)
    assert [r[0] for r in rows] == audited.failed_ids
    assert rows[0][2] == "ip_in_use" and rows[0][5] == "free the address in Splynx or fix the assignment in Sonar"


def test_run_option_limits_the_staged_views_to_one_run(audited: Fixture) -> None:
    everything = query(audited, "select count(*) from account")[0][0]
    second = query(audited, "select count(*), min(_run_id), max(_run_id) from account", run_id=audited.second_run_id)
    assert second[0] == (2, audited.second_run_id, audited.second_run_id)
    assert everything > 2


def test_staged_hash_equals_the_ledger_items_hash(audited: Fixture) -> None:
    rows = query(audited, """
        select count(*) filter (where i.source_hash = a._source_hash), count(*)
        from account a join item i on i.entity = 'account' and i.source_id = a.id and i.run_id = a._run_id""")
    matched, total = rows[0]
    assert matched == total and total > 50


def test_a_bad_query_is_a_one_line_error_listing_the_tables(audited: Fixture) -> None:
    with pytest.raises(ConfigError) as caught:
        query(audited, "select * from invoices")
    line = caught.value.one_line()
    assert "query failed" in line and "account" in line and "\n" not in line


def test_empty_workspace_still_has_the_ledger_tables(tmp_path: Path, audited: Fixture) -> None:
    con = open_audit(tmp_path / "staging", audited.ledger)
    assert run_query(con, "select count(*) from run").rows[0][0] >= 2


def test_ledger_tables_read_the_same_from_postgresql(ledger: Ledger, tmp_path: Path) -> None:
    run_id = ledger.start_run("extract")
    ledger.add_items(run_id, "account", [("1", "h1"), ("2", "h2")], state=ItemState.EXTRACTED)
    rows = run_query(open_audit(tmp_path, ledger), "select source_id, state from item order by source_id").rows
    assert rows == [("1", "extracted"), ("2", "extracted")]


def test_csv_and_json_renderings(audited: Fixture) -> None:
    con = open_audit(audited.staging, audited.ledger)
    first_run = f"select id, name, created_at from account where _run_id = {audited.run_id} order by id::int limit 2"
    result = run_query(con, first_run)
    parsed = list(csv.DictReader(io.StringIO(to_csv(result))))
    assert [r["id"] for r in parsed] == ["1", "2"]
    records = json.loads(to_json(result))
    assert records[0]["id"] == "1" and records[0]["created_at"].startswith("20")


SQL_BLOCKS = list(sql_blocks(DOC.read_text(encoding="utf-8")))


def test_the_audit_doc_has_a_dozen_queries() -> None:
    assert len(SQL_BLOCKS) >= 12


@pytest.mark.parametrize("sql", SQL_BLOCKS, ids=[f"query{n + 1}" for n in range(len(SQL_BLOCKS))])
def test_every_documented_query_runs_and_returns_rows(audited: Fixture, sql: str) -> None:
    assert query(audited, sql), "the fixture run should give every documented question an answer"


def test_documented_answers_match_the_ledger(audited: Fixture) -> None:
    changed = query(audited, SQL_BLOCKS[4])
    assert {r[0] for r in changed} == {audited.changed_id}
    never_loaded = {r[0] for r in query(audited, SQL_BLOCKS[3])}
    loaded = {i.source_id for i in audited.ledger.items(audited.run_id, entity="account")
              if i.state == ItemState.LOADED}
    assert never_loaded and not never_loaded & loaded


def test_sql_command_prints_csv_and_json(audited: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.cli import app

    monkeypatch.setenv("ETL_HOME", str(audited.home))
    monkeypatch.delenv("ETL_LEDGER_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(app, ["sql", "select state, count(*) n from item group by state order by state",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    states = {r["state"]: int(r["n"]) for r in csv.DictReader(io.StringIO(result.stdout))}
    assert states["failed"] == 2 and states["loaded"] > 0
    result = runner.invoke(app, ["sql", "select count(*) as n from account", "--format", "json",
                                 "--run", str(audited.second_run_id)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"n": 2}]
    result = runner.invoke(app, ["sql", "select * from nowhere"])
    assert result.exit_code == 2 and "query failed" in result.output
