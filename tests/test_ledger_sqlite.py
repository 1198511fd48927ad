"""The SQLite ledger runs with the settings the checkpoint protocol relies on, on every connection."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from etl.errors import ConfigError
from state.ledger import Ledger

SYNC_LEVELS = {"0": "OFF", "1": "NORMAL", "2": "FULL", "3": "EXTRA"}


def _pragmas(ledger: Ledger, engine_name: str) -> dict[str, str]:
    engine = getattr(ledger, engine_name)
    with engine.connect() as conn:
        return {
            name: str(conn.execute(text(f"PRAGMA {name}")).scalar())
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }


@pytest.mark.parametrize("sync", ["NORMAL", "FULL"])
def test_every_connection_uses_wal_foreign_keys_a_busy_timeout_and_the_chosen_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sync: str
) -> None:
    monkeypatch.setenv("ETL_LEDGER_SYNC", sync.lower())
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        for engine_name in ("reader", "writer"):
            pragmas = _pragmas(ledger, engine_name)
            assert pragmas["journal_mode"] == "wal"
            assert SYNC_LEVELS[pragmas["synchronous"]] == sync
            assert pragmas["foreign_keys"] == "1"
            assert int(pragmas["busy_timeout"]) >= 30000
    finally:
        ledger.close()


def test_the_default_sync_level_is_normal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ETL_LEDGER_SYNC", raising=False)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        assert SYNC_LEVELS[_pragmas(ledger, "writer")["synchronous"]] == "NORMAL"
    finally:
        ledger.close()


def test_an_unknown_sync_level_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_LEDGER_SYNC", "sometimes")
    with pytest.raises(ConfigError, match="ETL_LEDGER_SYNC"):
        Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")


def test_foreign_keys_refuse_an_item_of_a_run_that_does_not_exist(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        with pytest.raises(Exception, match=r"(?i)foreign key"):
            ledger.add_items(12345, "customer", [("1", None)])
        with ledger.reader.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM item")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM event")).scalar() == 0
    finally:
        ledger.close()


def test_the_writer_takes_the_write_lock_at_begin(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        with ledger.writer.begin() as conn:  # nothing written yet, but BEGIN IMMEDIATE holds the lock
            other = Ledger(ledger.url)
            try:
                with other.reader.connect() as probe:
                    probe.exec_driver_sql("PRAGMA busy_timeout=0")
                    with pytest.raises(Exception, match="locked"):
                        probe.exec_driver_sql("BEGIN IMMEDIATE")
                    probe.exec_driver_sql("SELECT count(*) FROM run").scalar()  # WAL: readers still read
            finally:
                other.close()
            conn.exec_driver_sql("SELECT 1")
    finally:
        ledger.close()
