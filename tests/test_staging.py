"""Parquet staging: declared schemas, lineage columns, stable hashes, numbered parts, newest-wins reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from etl.errors import ConfigError
from etl.staging import (
    StagingWriter,
    entity_dir,
    part_files,
    read_records,
    schema_for,
    source_hash,
    staged_entities,
)
from extractors.sonar_queries import entities


def account(account_id: str, **extra: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": account_id,
        "created_at": "2024-01-02T03:04:05+02:00",
        "updated_at": "2024-01-03T00:00:00+00:00",
        "_version": "1",
        "name": f"Customer {account_id}",
        "account_status_id": "1",
        "activation_date": "2024-01-02",
        "next_recurring_charge_amount": 4999,
        "parent_account_id": None,
        "is_delinquent": False,
        "contacts": {"entities": [{"id": "9", "name": "Ann", "phone_numbers": {"entities": []}}]},
    }
    record.update(extra)
    return record


def test_every_extracted_entity_has_a_declared_schema_with_lineage() -> None:
    assert set(staged_entities()) == set(entities())
    for entity in staged_entities():
        names = schema_for(entity).names
        assert names[:4] == ["id", "created_at", "updated_at", "_version"]
        assert names[-4:] == ["_run_id", "_extracted_at", "_source_hash", "_raw"]


def test_unknown_entity_has_no_schema() -> None:
    with pytest.raises(ConfigError, match="no staging schema"):
        schema_for("invoice")


def test_source_hash_ignores_key_order_and_changes_with_content() -> None:
    first = {"id": "1", "name": "A", "nested": {"b": 1, "a": [1, 2]}}
    reordered = {"nested": {"a": [1, 2], "b": 1}, "name": "A", "id": "1"}
    assert source_hash(first) == source_hash(reordered)
    assert source_hash(first) != source_hash({**first, "name": "B"})
    assert len(source_hash(first)) == 64


def test_page_is_written_with_typed_columns_lineage_and_raw(tmp_path: Path) -> None:
    writer = StagingWriter(tmp_path, run_id=7)
    stamp = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    path = writer.write("account", [account("1"), account("2")], extracted_at=stamp)
    assert path == entity_dir(tmp_path, 7, "account") / "part-000000.parquet"
    table = pq.read_table(path)
    assert table.schema == schema_for("account")
    rows = table.to_pylist()
    assert rows[0]["id"] == "1"
    assert rows[0]["created_at"] == datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert rows[0]["next_recurring_charge_amount"] == 4999
    assert rows[0]["_run_id"] == 7 and rows[0]["_extracted_at"] == stamp
    assert rows[0]["_source_hash"] == source_hash(account("1"))
    assert json.loads(rows[0]["_raw"]) == account("1")
    assert json.loads(rows[0]["contacts"])["entities"][0]["name"] == "Ann"
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_all_null_page_keeps_the_declared_types_so_pages_union(tmp_path: Path) -> None:
    writer = StagingWriter(tmp_path, run_id=1)
    writer.write("account", [account("1", parent_account_id=None, next_recurring_charge_amount=None)])
    writer.write("account", [account("2", parent_account_id="1")])
    files = [str(p) for p in part_files(tmp_path, 1, "account")]
    rows = duckdb.connect().execute(f"select id, parent_account_id from read_parquet({files}) order by id").fetchall()
    assert rows == [("1", None), ("2", "1")]


def test_parts_are_numbered_on_and_continue_after_a_restart(tmp_path: Path) -> None:
    StagingWriter(tmp_path, run_id=3).write("account", [account("1")])
    StagingWriter(tmp_path, run_id=3).write("account", [account("2")])
    assert [p.name for p in part_files(tmp_path, 3, "account")] == ["part-000000.parquet", "part-000001.parquet"]
    assert not list(entity_dir(tmp_path, 3, "account").glob("*.tmp"))


def test_empty_page_writes_nothing(tmp_path: Path) -> None:
    assert StagingWriter(tmp_path, run_id=1).write("account", []) is None
    assert part_files(tmp_path, 1, "account") == []


def test_read_records_returns_the_newest_version_of_each_id_once(tmp_path: Path) -> None:
    writer = StagingWriter(tmp_path, run_id=2)
    writer.write("account", [account("1"), account("2")])
    writer.write("account", [account("2", name="Renamed")])
    found = {r["id"]: (r["name"], h) for r, h in read_records(tmp_path, 2, "account")}
    assert found == {
        "1": ("Customer 1", source_hash(account("1"))),
        "2": ("Renamed", source_hash(account("2", name="Renamed"))),
    }
    only = [r["id"] for r, _ in read_records(tmp_path, 2, "account", ids=["2"])]
    assert only == ["2"]


def test_unwritable_staging_dir_is_a_one_line_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "staging"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ConfigError, match="cannot write staging file"):
        StagingWriter(blocker, run_id=1).write("account", [account("1")])
