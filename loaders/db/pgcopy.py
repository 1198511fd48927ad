"""Rows into PostgreSQL through `COPY … FROM STDIN`, the server's bulk path.

Why text format: every value the copier prepares (str, int, bool, Decimal, float, dates, bytes,
JSON documents, UUIDs) has one exact PostgreSQL text spelling, and the text format needs only four
characters escaped. Columns of other kinds (arrays, intervals, network types…) keep the INSERT
path, see `copy_safe`. COPY runs on the connection of the batch's transaction, after the delete of
its key range, so a batch is still replaced all at once or not at all.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from etl.dbcopy.model import Dataset

COPY_KINDS = frozenset(
    {"int", "uint64", "decimal", "float", "bool", "str", "enum", "bytes", "datetime", "date", "time", "json", "uuid"}
)
_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
NULL = "\\N"


def _text(value: Any) -> str:
    return str(value).translate(_ESCAPES)


_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: lambda v: v.translate(_ESCAPES),
    int: str,
    bool: lambda v: "t" if v else "f",
    float: repr,  # shortest text that reads back as the same double; 'inf' and 'nan' included
    Decimal: str,
    bytes: lambda v: "\\\\x" + v.hex(),
    dt.datetime: lambda v: v.isoformat(sep=" "),
    dt.date: dt.date.isoformat,
    dt.time: dt.time.isoformat,
    uuid.UUID: str,
}


def _value(value: Any) -> str:
    if value is None:
        return NULL
    return _BY_TYPE.get(type(value), _text)(value)


def _json(value: Any) -> str:
    if value is None:
        return NULL
    return json.dumps(value, ensure_ascii=False, default=str).translate(_ESCAPES)


def copy_safe(dataset: Dataset, table: sa.Table) -> bool:
    """True when every column is of a kind whose COPY text spelling is exact."""
    return all(c.kind in COPY_KINDS for c in dataset.columns) and all(c.name in table.c for c in dataset.columns)


def copy_payload(encoders: Sequence[Callable[[Any], str]], rows: Sequence[Sequence[Any]]) -> bytes:
    """The COPY text of prepared rows (values in column order), one line per row."""
    lines = ["\t".join([encode(v) for encode, v in zip(encoders, row, strict=True)]) for row in rows]
    lines.append("")
    return "\n".join(lines).encode()


def encoders_for(dataset: Dataset, table: sa.Table) -> list[Callable[[Any], str]]:
    """One text encoder per column: JSON columns are serialised, everything else spelled by type."""
    return [_json if isinstance(table.c[c.name].type, sa.JSON) else _value for c in dataset.columns]


def copy_rows(conn: sa.Connection, dataset: Dataset, table: sa.Table, rows: Sequence[Sequence[Any]]) -> None:
    """COPY prepared rows into `table` on the connection (and so in the transaction) of `conn`."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(c.name) for c in dataset.columns)
    sql = f"COPY {quote(table.name)} ({columns}) FROM STDIN WITH (FORMAT text, ENCODING 'UTF8')"
    payload = io.BytesIO(copy_payload(encoders_for(dataset, table), rows))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(sql, payload)
    finally:
        cursor.close()
