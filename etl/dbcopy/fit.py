"""What a destination column can hold: the check that names the column, row and value of a refused batch.

Why after a failure and not before every write: the fast path prepares every value of every row
and almost all of them fit, so checking each against its column would cost as much as writing it.
When the destination does refuse a batch (or stores a value differently), the user needs the
column, the row and the value, and the drivers do not always say: PostgreSQL's "integer out of
range" names no column, pymysql refuses NaN before sending anything, SQLite turns NaN into NULL
without a word. So the refused batch is checked value by value against these rules — the limits
listed in docs/databases.md, "What each mapping carries".
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from etl.dbcopy.keys import encode_key
from etl.dbcopy.model import Dataset, Row
from etl.dbcopy.typemap import DAY, type_name

ENGINE_NAMES = {"mysql": "MySQL", "postgresql": "PostgreSQL", "sqlite": "SQLite"}
_MYSQL_INT_BITS: tuple[tuple[type, int], ...] = (
    (mysql.TINYINT, 8),
    (mysql.MEDIUMINT, 24),
    (sa.SmallInteger, 16),
    (sa.BigInteger, 64),
)
_MYSQL_TEXT_BYTES = {  # MySQL's sized TEXT and BLOB types, by class name; LONGTEXT/LONGBLOB hold 4 GB
    "TINYTEXT": 255,
    "TEXT": 65_535,
    "MEDIUMTEXT": 16_777_215,
    "TINYBLOB": 255,
    "BLOB": 65_535,
    "MEDIUMBLOB": 16_777_215,
}
_MYSQL_TIMESTAMP = (dt.datetime(1970, 1, 1, 0, 0, 1), dt.datetime(2038, 1, 19, 3, 14, 7, 999999))

Check = Callable[[Any, str, Any, str], str | None]


@dataclass(frozen=True)
class Unfit:
    """The first value of a batch its destination column cannot hold, and why."""

    column: str
    row_key: str | None
    reason: str


def mysql_time(value: dt.timedelta) -> str:
    """A MySQL TIME as MySQL spells it (`-01:00:00`, `838:59:59`), not as Python's `-1 day, 23:00:00`."""
    sign, rest = ("-", -value) if value < dt.timedelta(0) else ("", value)
    hours, seconds = divmod(int(rest.total_seconds()), 3600)
    fraction = f".{rest.microseconds:06d}" if rest.microseconds else ""
    return f"{sign}{hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}{fraction}"


def _spell(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("-Infinity" if value < 0 else "Infinity")
    if isinstance(value, dt.timedelta):
        return mysql_time(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return str(value)


def _int_bounds(type_: Any, dst: str) -> tuple[int, int]:
    """The smallest and largest integer a destination integer type holds (SQLite ignores widths)."""
    bits = 64 if dst == "sqlite" else 32
    if dst == "postgresql":
        bits = 16 if isinstance(type_, sa.SmallInteger) else 64 if isinstance(type_, sa.BigInteger) else 32
    elif dst == "mysql":
        bits = next((b for cls, b in _MYSQL_INT_BITS if isinstance(type_, cls)), 32)
    if dst == "mysql" and getattr(type_, "unsigned", False):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _integer(value: Any, kind: str, type_: Any, dst: str) -> str | None:
    if not isinstance(type_, sa.Integer):
        return None
    try:
        number = Decimal(value) if isinstance(value, int | str | Decimal) else Decimal(repr(float(value)))
    except (InvalidOperation, TypeError, ValueError):
        number = Decimal("NaN")
    if not number.is_finite() or number != number.to_integral_value():
        return None if dst == "sqlite" else f"{_spell(value)} is not an integer"
    low, high = _int_bounds(type_, dst)
    if not low <= number <= high:
        return f"{_spell(value)} is out of range for {type_name(type_, dst)} ({low} to {high})"
    return None


def _float32(number: float) -> float:
    """The single-precision value a REAL/FLOAT column stores for `number` (OverflowError when too large)."""
    stored = float(struct.unpack("f", struct.pack("f", number))[0])
    if math.isinf(stored) and math.isfinite(number):
        raise OverflowError(f"{number} is beyond single precision")
    return stored


def _single_back(number: float, type_: Any) -> float:
    """What a single-precision column gives back: MySQL prints 6 digits, PostgreSQL the shortest exact text."""
    stored = _float32(number)
    if isinstance(type_, mysql.FLOAT):
        return float(f"{stored:.6g}")
    for digits in range(1, 10):  # 9 digits always read back as the same single
        shortest = float(f"{stored:.{digits}g}")
        if struct.unpack("f", struct.pack("f", shortest))[0] == stored:
            return shortest
    return stored


def _float(value: Any, kind: str, type_: Any, dst: str) -> str | None:
    if not isinstance(type_, sa.Float) or not isinstance(value, float | int | Decimal):
        return None
    number = float(value)
    name = f"{ENGINE_NAMES[dst]} {type_name(type_, dst)}"
    if not math.isfinite(number) and dst == "mysql":
        return f"{_spell(number)} cannot be stored in {name} (MySQL has no NaN nor infinity)"
    if math.isnan(number) and dst == "sqlite":
        return "NaN cannot be stored in SQLite (it stores NULL instead)"
    single = isinstance(type_, mysql.FLOAT) or (dst == "postgresql" and isinstance(type_, sa.REAL))
    if not single or not math.isfinite(number):
        return None
    try:
        back = _single_back(number, type_)
    except OverflowError:
        return f"{_spell(value)} is out of range for {name} (single precision)"
    return None if back == number else f"{_spell(value)} needs double precision; {name} gives back {back!r}"


def _sqlite_decimal(number: Decimal, type_: Any) -> str | None:
    """SQLite keeps decimals as doubles, read back with the column's scale: what survives is what prints back."""
    scale = type_.scale if type_.scale is not None else 10
    try:
        back = Decimal(f"{float(number):.{scale}f}")
    except (InvalidOperation, OverflowError):
        back = None
    if back != number:
        return f"{number} does not survive SQLite, which keeps decimals as doubles (15 significant digits)"
    return None


def _decimal(value: Any, kind: str, type_: Any, dst: str) -> str | None:
    if not isinstance(type_, sa.Numeric) or isinstance(type_, sa.Float):
        return None
    try:
        number = Decimal(value if isinstance(value, Decimal | int | str) else repr(value))
    except (InvalidOperation, TypeError, ValueError):
        return f"{_spell(value)} is not a number"
    name = f"{ENGINE_NAMES[dst]} {type_name(type_, dst)}"
    if not number.is_finite():
        fits = dst == "postgresql" and (number.is_nan() or type_.precision is None)
        return None if fits else f"{_spell(float(number))} cannot be stored in {name}"
    if dst == "sqlite":
        return _sqlite_decimal(number, type_)
    if type_.precision is None:
        return None
    scale = type_.scale or 0
    whole = max(number.adjusted() + 1, 0) if number else 0
    if whole > type_.precision - scale:
        return f"{number} has {whole} digits before the decimal point; {name} holds {type_.precision - scale}"
    if _digits_beyond(number, scale):
        places = "place" if scale == 1 else "places"
        return f"{number} would be rounded to {scale} decimal {places} by {name}"
    return None


def _digits_beyond(number: Decimal, scale: int) -> bool:
    """Nonzero digits after the `scale`-th decimal, read off the digits (Decimal arithmetic rounds to 28)."""
    _, digits, exponent = number.as_tuple()
    extra = -int(exponent) - scale
    return extra > 0 and any(digits[-extra:])


def _text_capacity(value: str, type_: Any, dst: str) -> str | None:
    name = type_name(type_, dst)
    limit = _MYSQL_TEXT_BYTES.get(type(type_).__name__) if dst == "mysql" else None
    if limit is not None and len(value.encode()) > limit:
        return f"{len(value.encode())} bytes do not fit MySQL {name} ({limit} bytes)"
    length = getattr(type_, "length", None)
    if dst != "sqlite" and length and len(value) > length:
        return f"{len(value)} characters do not fit {name}"
    if dst == "mysql" and isinstance(type_, sa.CHAR) and value != value.rstrip(" "):
        return f"{_spell(value)} ends with spaces, which MySQL {name} drops"
    if dst == "postgresql" and isinstance(type_, sa.CHAR) and length and len(value) < length:
        return f"{_spell(value)} is shorter than {name}, which pads it with spaces"
    return None


def _text(value: Any, kind: str, type_: Any, dst: str) -> str | None:
    if not isinstance(type_, sa.String) or not isinstance(value, str):
        return None
    if dst == "postgresql" and "\x00" in value:
        return f"text with U+0000 (NUL) cannot be stored in PostgreSQL {type_name(type_, dst)}"
    enums = getattr(type_, "enums", None)
    if enums and value not in enums:
        return f"{_spell(value)} is not one of the values of {type_name(type_, dst)}"
    narrow = dst == "mysql" and getattr(type_, "charset", None) in ("utf8", "utf8mb3")
    if narrow and any(ord(c) > 0xFFFF for c in value):
        return f"{_spell(value)} has characters beyond U+FFFF (emoji) that a utf8mb3 column cannot hold"
    return _text_capacity(value, type_, dst)


def _binary(value: Any, kind: str, type_: Any, dst: str) -> str | None:
    if not isinstance(type_, sa.types._Binary) or not isinstance(value, bytes | bytearray | memoryview):
        return None
    size, name = len(bytes(value)), type_name(type_, dst)
    limit = _MYSQL_TEXT_BYTES.get(type(type_).__name__) if dst == "mysql" else None
    length = getattr(type_, "length", None) if dst != "sqlite" else None
    if (limit is not None and size > limit) or (length and size > length):
        return f"{size} bytes do not fit {name}"
    if dst == "mysql" and isinstance(type_, mysql.BINARY) and length and size < length:
        return f"{size} bytes are shorter than MySQL {name}, which pads them with zero bytes"
    return None


def _fraction_digits(type_: Any, dst: str) -> int:
    return int(getattr(type_, "fsp", None) or 0) if dst == "mysql" else 6


def _lost_fraction(value: Any, type_: Any, dst: str) -> str | None:
    digits = _fraction_digits(type_, dst)
    micro = getattr(value, "microseconds" if isinstance(value, dt.timedelta) else "microsecond", 0)
    if micro % 10 ** (6 - digits):
        return f"{_spell(value)} has microseconds that {type_name(type_, dst)} rounds away ({digits} digits kept)"
    return None


def _datetime(value: Any, kind: str, type_: Any, dst: str) -> str | None:
    if not isinstance(type_, sa.DateTime):
        return None
    if not isinstance(value, dt.datetime):
        return None if dst == "mysql" else f"{_spell(value)} is not a datetime {ENGINE_NAMES[dst]} can hold"
    naive = value
    if value.tzinfo is not None:
        try:
            naive = value.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError:
            return f"{value.isoformat()} has no UTC time within the years 1 to 9999"
    if dst == "mysql" and isinstance(type_, sa.TIMESTAMP) and not _MYSQL_TIMESTAMP[0] <= naive <= _MYSQL_TIMESTAMP[1]:
        return f"{naive.isoformat(sep=' ')} is outside MySQL TIMESTAMP's 1970-01-01 to 2038-01-19 (UTC)"
    return _lost_fraction(naive, type_, dst)


def _date(value: Any, kind: str, type_: Any, dst: str) -> str | None:
    if not isinstance(type_, sa.Date) or isinstance(value, dt.date) or dst == "mysql":
        return None
    return f"{_spell(value)} is not a date {ENGINE_NAMES[dst]} DATE can hold (zero dates have no equivalent)"


def _time(value: Any, kind: str, type_: Any, dst: str) -> str | None:
    if not isinstance(type_, sa.Time):
        return None
    if isinstance(value, dt.timedelta) and dst != "mysql" and not dt.timedelta(0) <= value < DAY:
        return f"{mysql_time(value)} is outside the 00:00:00 to 23:59:59.999999 of {ENGINE_NAMES[dst]} TIME"
    return _lost_fraction(value, type_, dst) if isinstance(value, dt.time | dt.timedelta) else None


def _boolean(value: Any, kind: str, type_: Any, dst: str) -> str | None:
    if not isinstance(type_, sa.Boolean) or isinstance(value, bool) or value in (0, 1):
        return None
    return f"{_spell(value)} is not a boolean (0 or 1), which {ENGINE_NAMES[dst]} BOOLEAN needs"


CHECKS: tuple[Check, ...] = (_boolean, _integer, _float, _decimal, _text, _binary, _datetime, _date, _time)


def unfit(value: Any, kind: str, dst_type: Any, dst: str) -> str | None:
    """Why the destination column type cannot hold `value` exactly, or None when it can."""
    if value is None:
        return None
    for check in CHECKS:
        reason = check(value, kind, dst_type, dst)
        if reason:
            return reason
    return None


def first_unfit(dataset: Dataset, table: sa.Table, rows: Sequence[Row], dst: str) -> Unfit | None:
    """The first value of a batch (in row order, then column order) its destination column cannot hold."""
    for row in rows:
        for column in dataset.columns:
            reason = unfit(row.get(column.name), column.kind, table.c[column.name].type, dst)
            if reason:
                key = encode_key([row.get(k) for k in dataset.key]) if dataset.key else None
                return Unfit(column.name, key, reason)
    return None
