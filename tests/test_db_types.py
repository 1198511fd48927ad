"""Type mapping between engines: the destination column types, and values that survive the trip."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from etl.dbcopy.copier import CopyOptions, copy_database
from etl.dbcopy.model import ColumnInfo
from etl.dbcopy.rowhash import canonical, combine, row_hash
from etl.dbcopy.typemap import kind_of, map_type, type_name
from state.ledger import Ledger
from tests.fixtures.databases import MakeDb, sa_url

MYSQL_DDL = """
CREATE TABLE sample (
  id INT UNSIGNED PRIMARY KEY AUTO_INCREMENT,
  tiny TINYINT, small SMALLINT, medium MEDIUMINT, plain INT, big BIGINT,
  ubig BIGINT UNSIGNED, price DECIMAL(14,4), ratio FLOAT, exact DOUBLE,
  name VARCHAR(80) NOT NULL DEFAULT 'none', body TEXT, data BLOB, bigdata LONGBLOB,
  at DATETIME, stamp TIMESTAMP NULL, day DATE, clock TIME,
  flag TINYINT(1), doc JSON, state ENUM('active','blocked','new'),
  KEY ix_name (name)
)
"""

EXPECTED_PG = {
    "id": "BIGINT",
    "tiny": "SMALLINT",
    "small": "SMALLINT",
    "medium": "INTEGER",
    "plain": "INTEGER",
    "big": "BIGINT",
    "ubig": "NUMERIC(20, 0)",
    "price": "NUMERIC(14, 4)",
    "ratio": "DOUBLE PRECISION",  # MySQL FLOAT: its values, as the driver reads them, are doubles
    "exact": "DOUBLE PRECISION",
    "name": "VARCHAR(80)",
    "body": "TEXT",
    "data": "BYTEA",
    "bigdata": "BYTEA",
    "at": "TIMESTAMP WITHOUT TIME ZONE",
    "stamp": "TIMESTAMP WITHOUT TIME ZONE",
    "day": "DATE",
    "clock": "TIME WITHOUT TIME ZONE",
    "flag": "BOOLEAN",
    "doc": "JSONB",
    "state": "sample_state_enum",
}


@pytest.mark.services
def test_mysql_types_map_to_postgresql_and_values_survive(make_db: MakeDb, copy_ledger: Ledger) -> None:
    src, dst = make_db("mysql"), make_db("postgresql")
    source = sa.create_engine(sa_url(src))
    with source.begin() as conn:
        conn.exec_driver_sql(MYSQL_DDL)
        conn.exec_driver_sql(
            "INSERT INTO sample VALUES (1, -128, -32768, 8388607, -2147483648, -9223372036854775808,"
            " 18446744073709551615, 1234567890.1234, 1.5, 0.1, 'Zoë 🚀', 'long ✓ text', x'00ff10',"
            " REPEAT(x'ab', 3000000), '2024-02-29 23:59:58', '2038-01-01 00:00:00', '1999-12-31', '23:59:59',"
            ' 1, \'{"speed": {"down": 100, "up": 20.5}, "tags": ["fiber", null]}\', \'blocked\')'
        )
        conn.exec_driver_sql("INSERT INTO sample (id, name) VALUES (2, DEFAULT)")
    copy_database(src, dst, copy_ledger, CopyOptions(batch_size=1))

    dest = sa.create_engine(sa_url(dst))
    columns = {c["name"]: c for c in sa.inspect(dest).get_columns("sample")}
    pg_types = {name: str(c["type"].compile(dialect=dest.dialect)) for name, c in columns.items()}
    assert pg_types == EXPECTED_PG
    assert columns["name"]["nullable"] is False and "none" in str(columns["name"]["default"])
    assert [i["name"] for i in sa.inspect(dest).get_indexes("sample")] == ["ix_name"]
    with dest.connect() as conn:
        full, empty = conn.execute(sa.text("SELECT * FROM sample ORDER BY id")).mappings().all()
        next_id = conn.execute(sa.text("INSERT INTO sample (name) VALUES ('x') RETURNING id")).scalar_one()
    assert next_id == 3  # the sequence was moved past the copied ids
    assert (full["tiny"], full["small"], full["medium"], full["plain"]) == (-128, -32768, 8388607, -2147483648)
    assert (full["big"], full["ubig"]) == (-9223372036854775808, Decimal(18446744073709551615))
    assert (full["price"], full["ratio"], full["exact"]) == (Decimal("1234567890.1234"), 1.5, 0.1)
    assert (full["name"], full["body"]) == ("Zoë 🚀", "long ✓ text")
    assert bytes(full["data"]) == b"\x00\xff\x10" and bytes(full["bigdata"]) == b"\xab" * 3_000_000
    assert full["at"] == dt.datetime(2024, 2, 29, 23, 59, 58) and full["stamp"] == dt.datetime(2038, 1, 1)
    assert (full["day"], full["clock"]) == (dt.date(1999, 12, 31), dt.time(23, 59, 59))
    assert full["flag"] is True and full["state"] == "blocked"
    assert full["doc"] == {"speed": {"down": 100, "up": 20.5}, "tags": ["fiber", None]}
    assert all(empty[k] is None for k in EXPECTED_PG if k not in ("id", "name")) and empty["name"] == "none"


@pytest.mark.services
def test_postgresql_types_map_to_mysql(make_db: MakeDb, copy_ledger: Ledger) -> None:
    src, dst = make_db("postgresql"), make_db("mysql")
    source = sa.create_engine(sa_url(src))
    ident = uuid.uuid4()
    with source.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE device (id uuid PRIMARY KEY, seen timestamptz, raw bytea, note text, meta jsonb,"
            " up boolean, amount numeric, code varchar(20000))"
        )
        conn.execute(
            sa.text("INSERT INTO device VALUES (:id, :seen, :raw, :note, :meta, true, :amount, 'c')"),
            {
                "id": ident,
                "seen": dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                "raw": b"\x00" * 70_000,
                "note": "x" * 70_000,
                "meta": json.dumps({"a": 1}),
                "amount": Decimal("12345678901234567890.123456789"),
            },
        )
    copy_database(src, dst, copy_ledger, CopyOptions())
    dest = sa.create_engine(sa_url(dst))
    types = {c["name"]: str(c["type"].compile(dialect=dest.dialect)) for c in sa.inspect(dest).get_columns("device")}
    assert types["id"] == "VARCHAR(36)" and types["raw"] == "LONGBLOB" and types["note"] == "LONGTEXT"
    assert types["seen"] == "DATETIME(6)" and types["up"] == "TINYINT(1)" and types["amount"] == "DECIMAL(65, 30)"
    assert types["code"] == "LONGTEXT"
    with dest.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM device")).mappings().one()
    assert row["id"] == str(ident) and row["seen"] == dt.datetime(2024, 5, 1, 10, 0, 0, 123456)  # UTC
    assert len(row["raw"]) == 70_000 and json.loads(row["meta"]) == {"a": 1} and row["up"] == 1
    assert row["amount"] == Decimal("12345678901234567890.123456789")


def test_canonical_values_agree_across_driver_representations() -> None:
    assert canonical(True, "bool") == canonical(1, "int") == canonical(Decimal("1.00"), "decimal")
    assert canonical(1.5, "float") == canonical(Decimal("1.50"), "decimal")
    assert canonical('{"b": 1, "a": [1]}', "json") == canonical({"a": [1], "b": 1}, "json")
    aware = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert canonical(aware, "datetime") == canonical(dt.datetime(2024, 1, 1, 10), "datetime")
    assert canonical(dt.timedelta(hours=23, minutes=59, seconds=59), "time") == canonical(dt.time(23, 59, 59), "time")
    assert canonical(memoryview(b"ab"), "bytes") == canonical(b"ab", "bytes")
    assert canonical(None, "str") != canonical("", "str")


def test_batch_checksum_ignores_order_but_counts_duplicates() -> None:
    columns = (ColumnInfo("a", "int", "INT"),)
    one, two = row_hash(columns, {"a": 1}), row_hash(columns, {"a": 2})
    assert combine([one, two]) == combine([two, one])
    assert combine([one, one]) != combine([one]) and combine([one, one]) != combine([])


# (source engine, reflected source type, destination engine, destination DDL): the widths that carry every value.
CROSS_ENGINE_TYPES = [
    ("sqlite", sa.INTEGER(), "postgresql", "BIGINT"),  # SQLite integers hold 64 bits whatever they are declared
    ("sqlite", sa.SMALLINT(), "mysql", "BIGINT"),
    ("sqlite", sa.REAL(), "postgresql", "DOUBLE PRECISION"),  # SQLite REAL is an 8-byte double
    ("sqlite", sa.REAL(), "mysql", "DOUBLE"),
    ("sqlite", sa.CHAR(6), "postgresql", "VARCHAR(6)"),
    ("mysql", mysql.FLOAT(), "postgresql", "DOUBLE PRECISION"),
    ("mysql", mysql.DOUBLE(asdecimal=True), "sqlite", "DOUBLE"),
    ("mysql", mysql.SMALLINT(unsigned=True), "postgresql", "INTEGER"),
    ("mysql", mysql.INTEGER(unsigned=True), "postgresql", "BIGINT"),
    ("mysql", mysql.BIGINT(unsigned=True), "postgresql", "NUMERIC(20, 0)"),
    ("mysql", mysql.BIGINT(unsigned=True), "sqlite", "BIGINT"),
    ("mysql", mysql.CHAR(6), "postgresql", "VARCHAR(6)"),  # MySQL strips CHAR's trailing spaces, PostgreSQL pads
    ("postgresql", postgresql.REAL(), "mysql", "DOUBLE"),  # MySQL FLOAT gives back 6 digits: never a destination
    ("postgresql", sa.INTEGER(), "mysql", "INTEGER"),
    ("postgresql", sa.NUMERIC(100, 40), "mysql", "NUMERIC(65, 30)"),  # MySQL's widest DECIMAL
    ("postgresql", sa.NUMERIC(), "mysql", "NUMERIC(65, 30)"),
    ("postgresql", sa.NUMERIC(12, 2), "sqlite", "NUMERIC(12, 2)"),
    ("postgresql", sa.VARCHAR(20000), "mysql", "LONGTEXT"),
    ("postgresql", sa.TEXT(), "mysql", "LONGTEXT"),
    ("postgresql", postgresql.BYTEA(), "mysql", "LONGBLOB"),
    ("sqlite", sa.INTEGER(), "sqlite", "INTEGER"),  # same engine: kept as it is
    ("mysql", mysql.FLOAT(), "mysql", "FLOAT"),
    ("postgresql", postgresql.REAL(), "postgresql", "REAL"),
]


@pytest.mark.parametrize(("src", "type_", "dst", "expected"), CROSS_ENGINE_TYPES)
def test_cross_engine_types_are_wide_enough_for_every_source_value(
    src: str, type_: Any, dst: str, expected: str
) -> None:
    mapped = map_type(kind_of(type_), type_, src, dst, "t", "c")
    assert type_name(mapped, dst) == expected


@pytest.mark.services
def test_sqlite_integer_and_real_become_bigint_and_double_precision(make_db: MakeDb, copy_ledger: Ledger) -> None:
    src = make_db("sqlite")
    with sqlite3.connect(src.removeprefix("sqlite:///")) as conn:
        conn.execute("CREATE TABLE reading (id INTEGER PRIMARY KEY, counter INTEGER, value REAL)")
        conn.executemany("INSERT INTO reading VALUES (?, ?, ?)", [(1, 2**31, 0.1), (2, -(2**63), 1 / 3)])
    for engine, double in (("postgresql", "DOUBLE PRECISION"), ("mysql", "DOUBLE")):
        dst = make_db(engine)
        copy_database(src, dst, copy_ledger, CopyOptions())
        dest = sa.create_engine(sa_url(dst))
        columns = {c["name"]: c["type"].compile(dialect=dest.dialect) for c in sa.inspect(dest).get_columns("reading")}
        with dest.connect() as conn:
            rows = [tuple(r) for r in conn.exec_driver_sql("SELECT id, counter, value FROM reading ORDER BY id")]
        dest.dispose()
        assert (columns["counter"].split("(")[0], columns["value"]) == ("BIGINT", double), engine  # MariaDB: BIGINT(20)
        assert rows == [(1, 2**31, 0.1), (2, -(2**63), 1 / 3)], engine


@pytest.mark.services
def test_postgresql_table_wider_than_a_mysql_row_fits_and_keys_stay_case_sensitive(
    make_db: MakeDb, copy_ledger: Ledger
) -> None:
    src, dst = make_db("postgresql"), make_db("mysql")
    wide = ["é" * 10_000, "🚀" * 10_000, "x" * 9_999 + " "]
    source = sa.create_engine(sa_url(src))
    with source.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE note (id text PRIMARY KEY, a varchar(10000), b varchar(10000), c varchar(10000))"
        )
        values = {"a": wide[0], "b": wide[1], "c": wide[2]}
        conn.execute(sa.text("INSERT INTO note VALUES ('a', :a, :b, :c), ('A', '', '', '')"), values)
    source.dispose()
    copy_database(src, dst, copy_ledger, CopyOptions())  # 3 columns of 40 002 bytes: over MySQL's 65 535-byte row

    dest = sa.create_engine(sa_url(dst))
    types = [str(c["type"].compile(dialect=dest.dialect)) for c in sa.inspect(dest).get_columns("note")]
    with dest.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql("SELECT id, a, b, c FROM note ORDER BY id COLLATE utf8mb4_bin")]
        collation = conn.exec_driver_sql(
            "SELECT table_collation FROM information_schema.tables WHERE table_name = 'note'"
        )
        table_collation = collation.scalar_one()
    dest.dispose()
    assert types[0] == "VARCHAR(255)" and "VARCHAR(10000)" in types and "LONGTEXT" in types
    assert rows == [("A", "", "", ""), ("a", *wide)]  # 'a' and 'A' are two keys, as on PostgreSQL
    assert table_collation == "utf8mb4_bin"
