"""Alembic owns the ledger schema: created from empty, a no-op at head, upgraded in place later."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from etl.errors import LedgerError
from state import migrate
from state.db import create_ledger_engine
from state.ledger import Ledger
from state.states import ItemState

TABLES = {"run", "item", "id_map", "override", "transfer", "chunk", "event"}

# A migration a later version of the tool might ship: a new column with a server default, so
# rows written by the older version get a value too.
LATER_MIGRATION = '''"""add run.operator

Revision ID: 0999
Revises: {down}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0999"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run") as batch_op:
        batch_op.add_column(sa.Column("operator", sa.String(64), nullable=False, server_default="nobody"))


def downgrade() -> None:
    with op.batch_alter_table("run") as batch_op:
        batch_op.drop_column("operator")
'''


def _engine(url: str) -> Engine:
    return create_ledger_engine(url)


def _shape(engine: Engine) -> dict[str, list[tuple[str, str, bool]]]:
    """Every ledger table's columns as (name, type, nullable): what an upgrade would change."""
    schema = inspect(engine)
    return {
        t: [(c["name"], str(c["type"]), c["nullable"]) for c in schema.get_columns(t)]
        + [(str(i["name"]), ",".join(map(str, i["column_names"])), bool(i["unique"])) for i in schema.get_indexes(t)]
        for t in sorted(TABLES)
    }


def _versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_open_migrates_an_empty_database_to_head_with_every_table_and_index(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    engine = _engine(ledger_url)
    try:
        schema = inspect(engine)
        assert TABLES | {"alembic_version"} <= set(schema.get_table_names())
        assert _versions(engine) == [migrate.head_revision()]
        item_indexes = {i["name"]: i["column_names"] for i in schema.get_indexes("item")}
        assert item_indexes["ix_item_run_state"] == ["run_id", "state"]
        chunk_indexes = {i["name"]: i["column_names"] for i in schema.get_indexes("chunk")}
        assert chunk_indexes["ix_chunk_transfer_state"] == ["transfer_id", "state"]
        id_map_unique = {u["name"]: u["column_names"] for u in schema.get_unique_constraints("id_map")}
        assert id_map_unique["uq_id_map_entity_source"] == ["entity", "source_id"]
        item_unique = {u["name"]: u["column_names"] for u in schema.get_unique_constraints("item")}
        assert item_unique["uq_item_run_entity_source"] == ["run_id", "entity", "source_id"]
    finally:
        engine.dispose()


def test_id_map_unique_index_refuses_a_second_row_for_the_same_record(ledger: Ledger) -> None:
    insert = text(
        "INSERT INTO id_map (entity, source_id, dest_id, created_at, updated_at) "
        "VALUES ('customer', '7', :dest, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    with ledger.writer.begin() as conn:
        conn.execute(insert, {"dest": "1"})
    with pytest.raises(Exception, match=r"(?i)unique"), ledger.writer.begin() as conn:
        conn.execute(insert, {"dest": "2"})
    assert ledger.dest_id("customer", "7") == "1"


def test_open_on_a_ledger_already_at_head_changes_nothing(ledger_url: str) -> None:
    first = Ledger.open(ledger_url)
    run_id = first.start_run("migrate", selection={"limit": 3})
    first.add_items(run_id, "customer", [("1", "h1")])
    first.close()
    engine = _engine(ledger_url)
    before = _shape(engine)
    engine.dispose()

    again = Ledger.open(ledger_url, upgrade=False)  # at head: no upgrade needed, so no refusal
    try:
        assert again.revision() == migrate.head_revision()
        assert again.get_run(run_id).selection == '{"limit": 3}'
        assert [i.source_id for i in again.items(run_id)] == ["1"]
    finally:
        again.close()
    Ledger.open(ledger_url).close()
    engine = _engine(ledger_url)
    try:
        assert _shape(engine) == before
        assert _versions(engine) == [migrate.head_revision()]
    finally:
        engine.dispose()


def test_open_without_upgrade_on_an_empty_database_refuses_with_the_etl_init_fix(ledger_url: str) -> None:
    with pytest.raises(LedgerError) as caught:
        Ledger.open(ledger_url, upgrade=False)
    assert "not initialised" in caught.value.message
    assert caught.value.fix is not None and "etl init" in caught.value.fix
    engine = _engine(ledger_url)
    try:
        assert not TABLES & set(inspect(engine).get_table_names()), "refusing must not create tables"
    finally:
        engine.dispose()


@pytest.fixture
def later_migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped migrations plus one more, as a later release of the tool would ship."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    current_head = migrate.head_revision()
    (copy / "versions" / "0999_add_run_operator.py").write_text(LATER_MIGRATION.format(down=current_head))
    return copy


def test_a_later_version_upgrades_an_older_ledger_in_place(
    ledger_url: str, later_migrations: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_head = migrate.head_revision()
    older = Ledger.open(ledger_url)  # written by "this" release
    run_id = older.start_run("migrate")
    older.add_items(run_id, "customer", [("1", "h"), ("2", "h")])
    older.move(run_id, "customer", "1", ItemState.EXTRACTED)
    older.close()

    monkeypatch.setattr(migrate, "MIGRATIONS", later_migrations)  # "upgrade the tool"
    assert migrate.head_revision() == "0999"
    with pytest.raises(LedgerError, match=f"is at schema {old_head}, not 0999"):
        Ledger.open(ledger_url, upgrade=False)

    newer = Ledger.open(ledger_url)
    try:
        assert newer.revision() == "0999"
        assert {i.source_id: i.state for i in newer.items(run_id)} == {"1": "extracted", "2": "pending"}
        newer.move(run_id, "customer", "1", ItemState.TRANSFORMED)  # the old ledger keeps working
    finally:
        newer.close()
    engine = _engine(ledger_url)
    try:
        with engine.connect() as conn:
            operator = conn.execute(text("SELECT operator FROM run WHERE id = :id"), {"id": run_id}).scalar()
        assert operator == "nobody"
        assert _versions(engine) == ["0999"]
    finally:
        engine.dispose()


def test_an_older_tool_refuses_a_ledger_written_by_a_newer_one(
    ledger_url: str, later_migrations: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(migrate, "MIGRATIONS", later_migrations)
        Ledger.open(ledger_url).close()
    with pytest.raises(LedgerError, match="newer than this etl knows") as caught:
        Ledger.open(ledger_url)
    assert caught.value.fix is not None


def test_downgrade_to_base_and_upgrade_again_recreates_the_schema(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    engine = _engine(ledger_url)
    try:
        config = migrate.alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            from alembic import command

            command.downgrade(config, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        assert migrate.current_revision(engine) is None
    finally:
        engine.dispose()
    reopened = Ledger.open(ledger_url)
    try:
        assert reopened.revision() == migrate.head_revision()
    finally:
        reopened.close()


def test_a_fresh_engine_sees_the_same_revision_as_the_ledger(ledger: Ledger) -> None:
    engine = create_engine(ledger.reader.url)
    try:
        assert migrate.current_revision(engine) == ledger.revision() == migrate.head_revision()
    finally:
        engine.dispose()
