"""Each copied batch also lands as a Parquet file, so a copy can be audited with `etl sql`.

Layout: `<home>/staging/dbcopy/transfer=<id>/batch-<seq>.parquet` (zstd), one file per batch,
rewritten when the batch is. Columns keep their kind (ints, decimals, timestamps, binary);
JSON and anything without an Arrow type is stored as canonical text.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from etl.dbcopy.fit import mysql_time
from etl.dbcopy.model import ColumnInfo, Dataset, Row
from etl.dbcopy.rowhash import canonical_json
from etl.dbcopy.typemap import DAY


def batch_path(root: Path, transfer_id: int, seq: int) -> Path:
    """Where one batch of one transfer is staged."""
    return root / "dbcopy" / f"transfer={transfer_id}" / f"batch-{seq:06d}.parquet"


def _arrow_type(column: ColumnInfo) -> pa.DataType:
    return {
        "int": pa.int64(),
        "uint64": pa.uint64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "bytes": pa.large_binary(),
        "date": pa.date32(),
        "time": pa.time64("us"),
    }.get(column.kind, pa.large_string())


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return canonical_json(value)
    if kind == "time" and isinstance(value, dt.timedelta):
        return (dt.datetime.min + value).time() if dt.timedelta(0) <= value < DAY else mysql_time(value)
    if kind == "bytes":
        return bytes(value)
    if kind == "bool" and isinstance(value, int):
        return bool(value)  # MySQL's TINYINT(1) arrives as 0/1 from the driver
    if kind in ("int", "uint64", "float", "bool", "date", "time"):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, Decimal):
        return format(value, "f")
    return value if isinstance(value, str) else str(value)


_AS_IS = frozenset({"int", "uint64", "float", "bool", "date", "str", "enum"})


def _array(column: ColumnInfo, values: list[Any]) -> pa.Array:
    """One column's Arrow array; kinds Arrow takes as the driver hands them skip the per-value pass."""
    arrow_type = _arrow_type(column)
    if column.kind in _AS_IS:
        try:
            return pa.array(values, type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # e.g. a MySQL SET or a number in a text column: let _cell() spell it
    cells = [_cell(v, column.kind) for v in values]
    try:
        return pa.array(cells, type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in cells], type=pa.large_string())


def rows_table(columns: Sequence[ColumnInfo], rows: Sequence[Row]) -> pa.Table:
    """Rows as an Arrow table typed by column kind (timestamps and decimals as exact text)."""
    arrays = [_array(column, [row.get(column.name) for row in rows]) for column in columns]
    return pa.Table.from_arrays(arrays, names=[c.name for c in columns])


def staged_view(dataset: Dataset, rows: Sequence[Row]) -> tuple[tuple[ColumnInfo, ...], list[Row]]:
    """Columns and rows to stage: table rows as they are, documents as extended JSON, Redis entries raw."""
    if dataset.kind == "table":
        return dataset.columns, list(rows)
    if dataset.kind == "collection":
        from bson import json_util

        documents = (ColumnInfo("_id", "str", "id"), ColumnInfo("document", "str", "extended JSON"))
        return documents, [{"_id": str(r.get("_id")), "document": json_util.dumps(r, sort_keys=True)} for r in rows]
    columns = (
        ColumnInfo("key", "bytes", "key"),
        ColumnInfo("type", "str", "type"),
        ColumnInfo("pttl", "int", "ms"),
        ColumnInfo("dump", "bytes", "DUMP payload"),
    )
    return columns, [{k: r[k] for k in ("key", "type", "pttl", "dump")} for r in rows]


def write_batch(root: Path, transfer_id: int, seq: int, columns: Sequence[ColumnInfo], rows: Sequence[Row]) -> Path:
    """Write one batch atomically (temp file + rename) so a crash never leaves half a Parquet file."""
    path = batch_path(root, transfer_id, seq)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(f".tmp{os.getpid()}")
    pq.write_table(rows_table(columns, rows), temp, compression="zstd")
    temp.replace(path)
    return path
