"""Canonical per-row hashes and order-independent batch checksums, identical on every engine.

Why canonical: MySQL hands back `1` where PostgreSQL hands back `True`, `Decimal('1.50')` where
SQLite hands back `1.5`, JSON as text where psycopg2 parses it. Each value is first reduced to
one canonical form per kind, then hashed; a row hash is sha256 over its values in column order.

Why a sum: a batch checksum is the sum of its row hashes modulo 2**256, so it does not depend on
the order the engines return rows in, counts duplicate rows (XOR would cancel them), and the
checksum of a whole table is the sum of its batch checksums.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from etl.dbcopy.model import ColumnInfo, Dataset, Row

MODULUS = 2**256
NUMERIC_KINDS = frozenset({"int", "uint64", "decimal", "float", "bool"})


def _number(value: Any) -> str:
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    if not number.is_finite():
        return str(number)
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _time(value: Any) -> str:
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
        whole = int(seconds)
        return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{value.microseconds:06d}"
    return str(value.strftime("%H:%M:%S.%f"))


def json_value(value: Any) -> Any:
    """Parse JSON that arrives as text (MySQL, SQLite) so it compares with parsed JSON (psycopg2)."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def canonical_json(value: Any) -> str:
    """One spelling of a JSON document: sorted keys, no whitespace, numbers as Python prints them."""
    return json.dumps(json_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical(value: Any, kind: str) -> bytes:
    """Reduce one value to bytes that are equal exactly when the values are equal across engines."""
    if value is None:
        return b"\x00"
    exact = type(value)
    if isinstance(value, str) and exact is str and kind != "json" and kind not in NUMERIC_KINDS:
        return b"s" + value.encode()  # the common cases first: this runs for every value of every row
    if exact is int:
        return b"n" + str(value).encode()
    if kind == "json":
        return b"j" + canonical_json(value).encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return b"b" + bytes(value)
    if isinstance(value, bool | int | float | Decimal):
        return b"n" + _number(int(value) if isinstance(value, bool) else value).encode()
    if isinstance(value, dt.datetime):
        return b"t" + _datetime(value).encode()
    if isinstance(value, dt.date):
        return b"d" + value.isoformat().encode()
    if isinstance(value, dt.time | dt.timedelta):
        return b"h" + _time(value).encode()
    if isinstance(value, uuid.UUID):
        return b"s" + str(value).encode()
    if kind in ("int", "uint64", "decimal", "float", "bool") and isinstance(value, str):
        return b"n" + _number(value).encode()
    return b"s" + str(value).encode()


_NULL = len(b"\x00").to_bytes(8, "big") + b"\x00"


def _framed(encoded: bytes) -> bytes:
    return len(encoded).to_bytes(8, "big") + encoded


def value_encoder(kind: str) -> Callable[[Any], bytes]:
    """`canonical()` specialised for one column kind, length prefix included, for the per-row loop.

    Why: the generic function walks an isinstance chain for every value; this one tests the one or
    two exact types a driver hands back for the kind and falls back to `canonical()` for anything
    else, so the bytes are always identical (tests/test_db_types.py checks the two against each other).
    """

    def generic(value: Any) -> bytes:
        return _NULL if value is None else _framed(canonical(value, kind))

    if kind in ("str", "enum"):
        return lambda v: _framed(b"s" + v.encode()) if type(v) is str else generic(v)
    if kind in ("int", "uint64"):
        return lambda v: _framed(b"n" + str(v).encode()) if type(v) is int else generic(v)
    if kind == "bool":
        return lambda v: _framed(b"n1" if v else b"n0") if type(v) is bool or v in (0, 1) else generic(v)
    if kind == "bytes":
        return lambda v: _framed(b"b" + v) if type(v) is bytes else generic(v)
    if kind == "datetime":
        return lambda v: _datetime_encoded(v) if type(v) is dt.datetime and v.tzinfo is None else generic(v)
    return generic


def _datetime_encoded(value: dt.datetime) -> bytes:
    """`_datetime()` without strftime (slow): isoformat agrees with it for naive values of years ≥ 1000."""
    if value.year < 1000:
        return _framed(b"t" + _datetime(value).encode())
    text = value.isoformat()
    return _framed(b"t" + (text if value.microsecond else text + ".000000").encode())


def row_hasher(columns: Sequence[ColumnInfo]) -> Callable[[Sequence[Any]], int]:
    """A function hashing one row given as values in column order: equal to `row_hash` on the same row."""
    encoders = [value_encoder(c.kind) for c in columns]
    sha256 = hashlib.sha256

    def hash_values(values: Sequence[Any]) -> int:
        return int.from_bytes(sha256(b"".join([e(v) for e, v in zip(encoders, values, strict=True)])).digest(), "big")

    return hash_values


def values_checksum(columns: Sequence[ColumnInfo], rows: Iterable[Sequence[Any]]) -> str:
    """The batch checksum of rows given as value tuples in column order (the fast path of `checksum`)."""
    hash_values = row_hasher(columns)
    return f"{sum(map(hash_values, rows)) % MODULUS:064x}"


def row_hash(columns: Sequence[ColumnInfo], row: Row) -> int:
    """sha256 over the canonical values of one row, in the dataset's column order, as an integer."""
    digest = hashlib.sha256()
    for column in columns:
        encoded = canonical(row.get(column.name), column.kind)
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return int.from_bytes(digest.digest(), "big")


def document_hash(document: Row) -> int:
    """sha256 of a schemaless document (a Mongo document, a Redis entry) in canonical JSON."""
    from bson import json_util

    text = json_util.dumps(document, sort_keys=True, json_options=json_util.CANONICAL_JSON_OPTIONS)
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


def combine(hashes: Iterable[int]) -> str:
    """Order-independent checksum of many row hashes (or of many batch checksums) as 64 hex digits."""
    total = 0
    for value in hashes:
        total = (total + value) % MODULUS
    return f"{total:064x}"


def combine_hex(checksums: Iterable[str]) -> str:
    """Sum batch checksums into the table checksum: the same number as hashing every row at once."""
    return combine(int(value, 16) for value in checksums)


def checksum(dataset: Dataset, rows: Iterable[Row]) -> str:
    """The batch checksum of rows of a dataset: typed canonical values for tables, documents otherwise."""
    if dataset.kind == "table":
        names = [c.name for c in dataset.columns]
        return values_checksum(dataset.columns, ([row.get(n) for n in names] for row in rows))
    if dataset.kind == "keyspace":  # the value, not its DUMP encoding; whether it expires, not when
        return combine(
            document_hash({"key": r["key"], "type": r["type"], "value": r["value"], "expires": r["pttl"] > 0})
            for r in rows
        )
    return combine(document_hash(row) for row in rows)
