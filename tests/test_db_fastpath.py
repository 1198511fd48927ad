"""The fast paths of `etl db copy` agree exactly with the reference definitions they replace."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import mysql

from etl.dbcopy.copier import CopyOptions, copy_database
from etl.dbcopy.errors import ValueRefused
from etl.dbcopy.model import ColumnInfo
from etl.dbcopy.rowhash import combine, row_hash, values_checksum
from etl.dbcopy.verify import verify_copy
from state.ledger import Ledger
from state.states import ChunkState
from tests.fixtures.databases import MakeDb, sa_url

COLUMNS = (
    ColumnInfo("i", "int", "INT"),
    ColumnInfo("s", "str", "TEXT"),
    ColumnInfo("b", "bool", "BOOLEAN"),
    ColumnInfo("d", "decimal", "NUMERIC"),
    ColumnInfo("t", "datetime", "TIMESTAMP"),
    ColumnInfo("x", "bytes", "BYTEA"),
)
ROWS = st.tuples(
    st.none() | st.integers(),
    st.none() | st.text(),
    st.none() | st.booleans() | st.sampled_from([0, 1]),
    st.none() | st.decimals(allow_nan=False, places=4),
    st.none() | st.datetimes(min_value=dt.datetime(1, 1, 1)),
    st.none() | st.binary(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(ROWS, max_size=8))
def test_fast_batch_checksum_equals_the_reference_row_hashes(rows: list[tuple[Any, ...]]) -> None:
    names = [c.name for c in COLUMNS]
    reference = combine(row_hash(COLUMNS, dict(zip(names, row, strict=True))) for row in rows)
    assert values_checksum(COLUMNS, rows) == reference


NASTY = ["tab\there", "new\nline", "cr\rlf\r\n", "back\\slash \\N", "\\.", "", "naïve 日本語 🚀", "'quote\""]


@pytest.mark.services
@pytest.mark.parametrize("src_engine", ["mysql", "sqlite"])
def test_copy_into_postgresql_keeps_text_escapes_nulls_and_bytes_exact(
    src_engine: str, make_db: MakeDb, copy_ledger: Ledger, tmp_path: Path
) -> None:
    src, dst = make_db(src_engine), make_db("postgresql")
    md = sa.MetaData()
    table = sa.Table(
        "sample",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text),
        sa.Column("raw", sa.LargeBinary),
        sa.Column("amount", sa.Numeric(20, 6)),
        sa.Column("ratio", sa.Double),
        sa.Column("at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")),
    )
    values = [
        {
            "id": i,
            "body": text,
            "raw": bytes([i, 0, 92, 9, 10, 255]),
            "amount": Decimal("-12345.125000") if i % 2 else None,
            "ratio": 0.1 * i,
            "at": dt.datetime(2024, 2, 29, 23, 59, 59, 120000 * (i % 2)),
        }
        for i, text in enumerate([*NASTY, None], start=1)
    ]
    engine = sa.create_engine(sa_url(src))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), values)
    engine.dispose()

    report = copy_database(src, dst, copy_ledger, CopyOptions(batch_size=4, staging=tmp_path))
    dest = sa.create_engine(sa_url(dst))
    with dest.connect() as conn:
        copied = [dict(r) for r in conn.execute(sa.text("SELECT * FROM sample ORDER BY id")).mappings()]
    dest.dispose()
    for row in copied:
        row["raw"] = bytes(row["raw"])
    assert copied == values
    transfer_id = report.datasets[0].transfer_id
    assert transfer_id is not None
    chunks = copy_ledger.chunks(transfer_id)
    assert len(chunks) == 3 and all(c.state == ChunkState.VERIFIED for c in chunks)
    assert verify_copy(src, dst, CopyOptions(batch_size=4)).mismatches == []


@pytest.mark.services
def test_a_batch_the_destination_stores_differently_is_refused_naming_table_and_range(
    make_db: MakeDb, copy_ledger: Ledger
) -> None:
    src, dst = make_db("mysql"), make_db("postgresql")
    source = sa.create_engine(sa_url(src))
    with source.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE price (id INT PRIMARY KEY, amount DECIMAL(10,2))")
        conn.exec_driver_sql("INSERT INTO price VALUES (1, 1.00), (2, 2.00), (3, 3.50), (4, 4.00)")
    source.dispose()
    dest = sa.create_engine(sa_url(dst))
    with dest.begin() as conn:  # a destination column that rounds: COPY accepts 3.50 and stores 4
        conn.exec_driver_sql("CREATE TABLE price (id INTEGER PRIMARY KEY, amount NUMERIC(10,0))")

    with pytest.raises(ValueRefused, match=r"price keys \(\[2\], \+inf\]: column amount: 3.50 would be rounded"):
        copy_database(src, dst, copy_ledger, CopyOptions(batch_size=2, data_only=True))
    with dest.connect() as conn:
        held = [tuple(r) for r in conn.execute(sa.text("SELECT id, amount FROM price ORDER BY id"))]
    dest.dispose()
    assert held == [(1, Decimal(1)), (2, Decimal(2))]  # the refused batch was rolled back whole
    failed = [c for t in copy_ledger.transfers() if t.id is not None for c in copy_ledger.chunks(t.id)]
    assert [(c.seq, c.state) for c in failed] == [(0, ChunkState.VERIFIED), (1, ChunkState.FAILED)]
