"""A value the destination type can never hold fails its batch in one line that says so, with exit 5.

The line names the table, the column, the key range and the fix (widen the column or exclude the
table), never "rerun": rerunning the same copy would meet the same value. The run is failed in the
ledger, every batch verified before it stays verified, the refused batch committed nothing, and
once the user has widened the column the same command resumes and completes.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from typer.testing import CliRunner

from etl.cli import INTERNAL_ERROR, app
from etl.dbcopy.copier import CopyOptions, copy_database
from etl.dbcopy.errors import BatchRefused, SchemaRefused, ValueRefused
from etl.dbcopy.fit import unfit
from etl.dbcopy.refusal import refusal
from state.ledger import Ledger
from state.states import ChunkState, RunStatus, TransferState
from tests.fixtures.databases import MakeDb, sa_url

FIX = "the destination column type cannot hold this value"


def run_copy(home: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("ETL_HOME", str(home))
    return CliRunner().invoke(app, ["db", "copy", *args])


def open_ledger(home: Path) -> Ledger:
    return Ledger.open(f"sqlite:///{home / 'ledger.db'}")


def assert_one_line_refusal(result: Any, table: str, column: str, key_range: str) -> str:
    line = result.output.strip()
    assert result.exit_code == BatchRefused.exit_code != INTERNAL_ERROR, result.output
    assert len(line.splitlines()) == 1, line
    assert "Traceback" not in line and "internal error" not in line
    assert table in line and f"column {column}" in line and key_range in line, line
    assert FIX in line and "exclude" in line, line
    assert "rerun" not in line.lower(), line
    return line


def sql_rows(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(sa_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(query)]
    finally:
        engine.dispose()


def sql_exec(url: str, *statements: str) -> None:
    engine = sa.create_engine(sa_url(url))
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.mark.services
def test_value_too_wide_for_an_existing_column_is_refused_then_resumes_after_widening(
    make_db: MakeDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = make_db("sqlite"), make_db("postgresql")
    with sqlite3.connect(src.removeprefix("sqlite:///")) as conn:
        conn.execute("CREATE TABLE meter (id INTEGER PRIMARY KEY, reading INTEGER)")
        readings = [(i, 5_000_000_000 if i == 25 else i) for i in range(1, 31)]
        conn.executemany("INSERT INTO meter VALUES (?, ?)", readings)
    sql_exec(dst, "CREATE TABLE meter (id bigint PRIMARY KEY, reading integer)")  # the user's narrower table
    home = tmp_path / "home"

    result = run_copy(home, monkeypatch, src, dst, "--data-only", "--batch-size", "10")

    line = assert_one_line_refusal(result, "meter", "reading", "([20], +inf]")
    assert "5000000000" in line
    ledger = open_ledger(home)
    try:
        (run,) = ledger.runs()
        assert run.status == RunStatus.FAILED and "meter" in (run.message or "")
        (transfer,) = ledger.transfers(run.id)
        assert transfer.state == TransferState.FAILED
        assert [(c.seq, c.state) for c in ledger.chunks(transfer.id)] == [
            (0, ChunkState.VERIFIED),
            (1, ChunkState.VERIFIED),
            (2, ChunkState.FAILED),
        ]
    finally:
        ledger.close()
    assert sql_rows(dst, "SELECT id, reading FROM meter ORDER BY id") == [(i, i) for i in range(1, 21)]

    sql_exec(dst, "ALTER TABLE meter ALTER COLUMN reading TYPE bigint")  # the fix the line gave
    again = run_copy(home, monkeypatch, src, dst, "--data-only", "--batch-size", "10")
    assert again.exit_code == 0, again.output
    expected = [(i, 5_000_000_000 if i == 25 else i) for i in range(1, 31)]
    assert sql_rows(dst, "SELECT id, reading FROM meter ORDER BY id") == expected
    ledger = open_ledger(home)
    try:
        assert [r.status for r in ledger.runs()] == [RunStatus.SUCCEEDED, RunStatus.FAILED]  # newest first
    finally:
        ledger.close()


@dataclass(frozen=True)
class BadValue:
    """A source table whose row 7 holds a value the mapped destination type cannot hold."""

    src: str
    dst: str
    ddl: str
    insert: str
    column: str
    reason: str  # what the line must say about the value


BAD_VALUES = {
    "nan-into-mysql-double": BadValue(
        "postgresql",
        "mysql",
        "CREATE TABLE probe (id integer PRIMARY KEY, ratio double precision)",
        "INSERT INTO probe SELECT i, CASE WHEN i = 7 THEN 'NaN'::float8 ELSE i / 4.0 END FROM generate_series(1, 9) i",
        "ratio",
        "NaN",
    ),
    "unsigned-bigint-into-sqlite": BadValue(
        "mysql",
        "sqlite",
        "CREATE TABLE probe (id INT PRIMARY KEY, counter BIGINT UNSIGNED)",
        "INSERT INTO probe VALUES (1,1),(2,2),(3,3),(4,4),(5,5),(6,6),(7,18446744073709551615),(8,8),(9,9)",
        "counter",
        "18446744073709551615",
    ),
    "nul-character-into-postgresql-text": BadValue(
        "sqlite",
        "postgresql",
        "CREATE TABLE probe (id INTEGER PRIMARY KEY, note TEXT)",
        "INSERT INTO probe WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9)"
        " SELECT i, CASE WHEN i = 7 THEN 'a' || char(0) || 'b' ELSE 'ok' END FROM n",
        "note",
        "U+0000",
    ),
    "negative-mysql-time-into-postgresql": BadValue(
        "mysql",
        "postgresql",
        "CREATE TABLE probe (id INT PRIMARY KEY, clock TIME)",
        "INSERT INTO probe VALUES (1,'01:00'),(2,'02:00'),(3,'03:00'),(4,'04:00'),(5,'05:00'),(6,'06:00'),"
        "(7,'-01:00:00'),(8,'08:00'),(9,'09:00')",
        "clock",
        "-01:00:00",
    ),
    "tinyint1-not-a-boolean-into-postgresql": BadValue(
        "mysql",
        "postgresql",
        "CREATE TABLE probe (id INT PRIMARY KEY, flag TINYINT(1))",
        "INSERT INTO probe VALUES (1,1),(2,0),(3,1),(4,0),(5,1),(6,0),(7,2),(8,1),(9,0)",
        "flag",
        "2 is not a boolean",
    ),
    "mysql-zero-date-into-postgresql": BadValue(
        "mysql",
        "postgresql",
        "CREATE TABLE probe (id INT PRIMARY KEY, day DATE)",
        "INSERT INTO probe VALUES (1,'2024-01-01'),(2,'2024-01-02'),(3,'2024-01-03'),(4,'2024-01-04'),"
        "(5,'2024-01-05'),(6,'2024-01-06'),(7,'0000-00-00'),(8,'2024-01-08'),(9,'2024-01-09')",
        "day",
        "0000-00-00",
    ),
    "long-text-key-into-mysql": BadValue(
        "postgresql",
        "mysql",
        "CREATE TABLE probe (id text PRIMARY KEY, n integer)",
        "INSERT INTO probe SELECT CASE WHEN i = 7 THEN repeat('k', 300) ELSE 'k' || i END, i"
        " FROM generate_series(1, 9) i",
        "id",
        "300 characters",
    ),
}


@pytest.mark.services
@pytest.mark.parametrize("case", list(BAD_VALUES.values()), ids=list(BAD_VALUES))
def test_a_value_the_destination_type_cannot_hold_fails_in_one_line_with_exit_5(
    case: BadValue, make_db: MakeDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = make_db(case.src), make_db(case.dst)
    sql_exec(src, case.ddl, case.insert)
    home = tmp_path / "home"

    result = run_copy(home, monkeypatch, src, dst, "--batch-size", "3")

    line = assert_one_line_refusal(result, "probe", case.column, "keys (")
    assert case.reason in line, line
    ledger = open_ledger(home)
    try:
        (run,) = ledger.runs()
        assert run.status == RunStatus.FAILED
        (transfer,) = ledger.transfers(run.id)
        states = [c.state for c in ledger.chunks(transfer.id)]
        assert states[:2] == [ChunkState.VERIFIED, ChunkState.VERIFIED] and states[2] == ChunkState.FAILED
        verified = sum(c.rows or 0 for c in ledger.chunks(transfer.id) if c.state == ChunkState.VERIFIED)
    finally:
        ledger.close()
    assert sql_rows(dst, "SELECT count(*) FROM probe") == [(verified,)] == [(6,)]  # the refused batch left nothing


@pytest.mark.services
def test_a_table_the_destination_cannot_create_is_named_in_one_line_with_exit_5(
    make_db: MakeDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = make_db("postgresql"), make_db("mysql")
    sql_exec(src, "CREATE TABLE account (login varchar(1000) PRIMARY KEY)", "INSERT INTO account VALUES ('jane')")
    home = tmp_path / "home"

    result = run_copy(home, monkeypatch, src, dst)  # 1000 utf8mb4 characters: over MySQL's 3072-byte key

    line = result.output.strip()
    assert result.exit_code == SchemaRefused.exit_code and len(line.splitlines()) == 1, line
    assert "table account" in line and "key was too long" in line and "--exclude account" in line, line
    ledger = open_ledger(home)
    try:
        assert [r.status for r in ledger.runs()] == [RunStatus.FAILED]
    finally:
        ledger.close()


@pytest.mark.services
def test_a_value_the_destination_stores_differently_names_its_column_and_row(
    make_db: MakeDb, copy_ledger: Ledger
) -> None:
    src, dst = make_db("postgresql"), make_db("sqlite")
    sql_exec(
        src, "CREATE TABLE price (id integer PRIMARY KEY, label text)", "INSERT INTO price VALUES (1, 'a'), (2, 'b')"
    )
    sql_exec(
        dst,
        "CREATE TABLE price (id INTEGER PRIMARY KEY, label TEXT)",
        "CREATE TRIGGER shout AFTER INSERT ON price BEGIN UPDATE price SET label = upper(label) WHERE id = 2; END",
    )  # a destination that changes what it is given: no type rule predicts it, the read-back sees it

    with pytest.raises(ValueRefused) as refused:
        copy_database(src, dst, copy_ledger, CopyOptions(data_only=True))

    line = refused.value.one_line()
    assert "price keys (-inf, +inf]: column label: 'b' was stored as 'B' (row [2])" in line and FIX in line, line
    assert sql_rows(dst, "SELECT count(*) FROM price") == [(0,)]
    assert [r.status for r in copy_ledger.runs()] == [RunStatus.FAILED]


# (value, kind, destination type, destination engine, what the reason says; None: the value fits)
FIT_RULES = [
    (2**31, "int", sa.INTEGER(), "postgresql", "out of range for INTEGER"),
    (2**31 - 1, "int", sa.INTEGER(), "postgresql", None),
    (-(2**63), "int", sa.BIGINT(), "sqlite", None),
    (2**63, "uint64", sa.BIGINT(), "sqlite", "out of range for BIGINT"),
    (256, "int", mysql.TINYINT(unsigned=True), "mysql", "out of range for TINYINT UNSIGNED (0 to 255)"),
    (-1, "int", mysql.INTEGER(unsigned=True), "mysql", "out of range"),
    ("x", "int", sa.BIGINT(), "postgresql", "'x' is not an integer"),
    ("x", "int", sa.BIGINT(), "sqlite", None),  # SQLite keeps text in an INTEGER column as it is
    (float("nan"), "float", mysql.DOUBLE(), "mysql", "NaN cannot be stored in MySQL DOUBLE"),
    (float("-inf"), "float", mysql.DOUBLE(), "mysql", "-Infinity cannot be stored"),
    (float("nan"), "float", sa.Float(), "postgresql", None),
    (float("nan"), "float", sa.Float(), "sqlite", "stores NULL"),
    (0.1, "float", postgresql.REAL(), "postgresql", None),  # PostgreSQL prints a real back in its shortest form
    (1 / 3, "float", postgresql.REAL(), "postgresql", "needs double precision"),
    (0.123457, "float", mysql.FLOAT(), "mysql", None),
    (0.1234567, "float", mysql.FLOAT(), "mysql", "gives back 0.123457"),
    (5e-324, "float", mysql.DOUBLE(), "mysql", None),
    (Decimal("3.50"), "decimal", sa.NUMERIC(10, 0), "postgresql", "rounded to 0 decimal places"),
    (Decimal("12345.6"), "decimal", sa.NUMERIC(5, 1), "mysql", "5 digits before the decimal point"),
    (Decimal("1234.5"), "decimal", sa.NUMERIC(5, 1), "mysql", None),
    (Decimal("NaN"), "decimal", sa.NUMERIC(), "postgresql", None),
    (Decimal("NaN"), "decimal", sa.NUMERIC(65, 30), "mysql", "NaN cannot be stored"),
    (Decimal("12345678901234567"), "decimal", sa.NUMERIC(), "sqlite", "keeps decimals as doubles"),
    (Decimal("99999.9999999999"), "decimal", sa.NUMERIC(30, 10), "sqlite", None),
    ("a\x00b", "str", sa.TEXT(), "postgresql", "U+0000"),
    ("a\x00b", "str", mysql.LONGTEXT(), "mysql", None),
    ("é" * 6, "str", sa.VARCHAR(5), "postgresql", "6 characters do not fit VARCHAR(5)"),
    ("é" * 6, "str", sa.VARCHAR(5), "sqlite", None),  # SQLite does not enforce lengths
    ("🚀" * 5, "str", sa.VARCHAR(5), "mysql", None),  # lengths count characters, not bytes
    ("é" * 40_000, "str", mysql.TEXT(), "mysql", "80000 bytes do not fit MySQL TEXT (65535 bytes)"),
    ("ab ", "str", mysql.CHAR(3), "mysql", "drops"),
    ("🚀", "str", mysql.VARCHAR(5, charset="utf8mb3"), "mysql", "utf8mb3"),
    (b"\x00" * 300, "bytes", mysql.TINYBLOB(), "mysql", "300 bytes do not fit"),
    (b"\x00" * 300, "bytes", postgresql.BYTEA(), "postgresql", None),
    ("0000-00-00", "date", sa.DATE(), "postgresql", "zero dates"),
    ("0000-00-00", "date", sa.DATE(), "mysql", None),
    (dt.datetime(2040, 1, 1), "datetime", mysql.TIMESTAMP(), "mysql", "outside MySQL TIMESTAMP"),
    (dt.datetime(1, 1, 1, 0, 0, 0, 5), "datetime", mysql.DATETIME(fsp=6), "mysql", None),
    (dt.datetime(2024, 1, 1, 0, 0, 0, 5), "datetime", mysql.DATETIME(), "mysql", "rounds away (0 digits kept)"),
    (dt.datetime(1, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))), "datetime", sa.DATETIME(), "sqlite", "UTC"),
    (dt.timedelta(hours=30), "time", sa.TIME(), "postgresql", "30:00:00 is outside"),
    (dt.timedelta(hours=-1), "time", mysql.TIME(fsp=6), "mysql", None),
    (dt.timedelta(hours=23, microseconds=1), "time", sa.TIME(), "sqlite", None),
    (2, "bool", sa.BOOLEAN(), "postgresql", "2 is not a boolean"),
    (1, "bool", sa.BOOLEAN(), "sqlite", None),
    (2, "bool", mysql.TINYINT(display_width=1), "mysql", None),  # MySQL's TINYINT(1) holds 2 as it is
    (None, "int", sa.SMALLINT(), "postgresql", None),
]


@pytest.mark.parametrize(("value", "kind", "type_", "dst", "says"), FIT_RULES)
def test_fit_rules_name_what_a_destination_type_cannot_hold(
    value: Any, kind: str, type_: Any, dst: str, says: str | None
) -> None:
    reason = unfit(value, kind, type_, dst)
    assert reason is None if says is None else (reason is not None and says in reason), reason


def test_driver_errors_without_an_unfit_value_are_classified_by_code() -> None:
    import psycopg2.errors
    import pymysql

    value = refusal(pymysql.err.DataError(1264, "Out of range value for column 'big' at row 1"), "t", "(1, 2]", None)
    assert isinstance(value, ValueRefused) and value.column == "big" and "rerun" not in value.one_line()
    truncated = refusal(psycopg2.errors.StringDataRightTruncation("value too long"), "t", "(1, 2]", None)
    assert isinstance(truncated, ValueRefused) and "not named by the driver" in truncated.one_line()
    deadlock = refusal(pymysql.err.OperationalError(1213, "Deadlock found"), "t", "(1, 2]", None)
    assert type(deadlock) is BatchRefused and "rolled back whole" in deadlock.one_line()
    duplicate = refusal(pymysql.err.IntegrityError(1062, "Duplicate entry 'a'"), "t", "(1, 2]", None)
    assert type(duplicate) is BatchRefused and "conflicting row" in duplicate.one_line()
    assert all(e.exit_code == 5 for e in (value, truncated, deadlock, duplicate))


def test_fit_rules_read_wide_decimals_exactly() -> None:
    top = Decimal("99999999999999999999.9999999999")  # 30 digits: beyond Decimal's default 28-digit context
    assert unfit(top, "decimal", sa.NUMERIC(30, 10), "postgresql") is None
    assert "rounded to 9 decimal places" in (unfit(top, "decimal", sa.NUMERIC(30, 9), "mysql") or "")
