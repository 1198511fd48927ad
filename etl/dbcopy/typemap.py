"""Column kinds of reflected types, and the type each kind becomes on another engine.

Why kinds first: a reflected MySQL `TINYINT(1)`, a PostgreSQL `boolean` and a SQLite `BOOLEAN`
are all one kind, `bool`; the mapping then goes kind → destination type, so adding an engine is
one column of the table in docs/databases.md, not a matrix of special cases. A copy between two
databases of the same engine keeps the reflected types untouched.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from etl.dbcopy.model import ColumnInfo
from etl.dbcopy.rowhash import canonical_json, json_value

MYSQL_VARCHAR_MAX = 16383  # utf8mb4 characters that fit a VARCHAR; beyond that LONGTEXT
MYSQL_DECIMAL_MAX = (65, 30)  # DECIMAL's largest precision and scale
DAY = dt.timedelta(days=1)  # a MySQL TIME beyond this is a duration no other engine's TIME holds


def _is_mysql_bool(type_: Any) -> bool:
    return isinstance(type_, mysql.TINYINT) and getattr(type_, "display_width", None) == 1


def kind_of(type_: Any, json_text: bool = False) -> str:
    """The canonical kind of a reflected column type (`json_text`: MariaDB's JSON, stored as LONGTEXT)."""
    checks: list[tuple[type | tuple[type, ...], str]] = [
        (sa.Boolean, "bool"),
        (sa.Enum, "enum"),
        (sa.JSON, "json"),
        (sa.Uuid, "uuid"),
        (sa.Float, "float"),
        (sa.Numeric, "decimal"),
        (sa.DateTime, "datetime"),
        (sa.Date, "date"),
        (sa.Time, "time"),
        (sa.Interval, "other"),
    ]
    if _is_mysql_bool(type_):
        return "bool"
    if isinstance(type_, sa.Integer | mysql.YEAR):
        return "uint64" if isinstance(type_, sa.BigInteger) and getattr(type_, "unsigned", False) else "int"
    for cls, kind in checks:
        if isinstance(type_, cls):
            return kind
    if isinstance(type_, sa.String | mysql.SET):
        return "json" if json_text else "str"
    if isinstance(type_, sa.types._Binary | mysql.BIT):
        return "bytes"
    return "other"


def _int_type(type_: Any, src: str) -> Any:
    """The narrowest integer type that holds every value of the source type.

    SQLite has no fixed-width integers: a column declared INTEGER (or SMALLINT) holds 64 bits.
    MySQL's unsigned types need the next wider signed type.
    """
    unsigned = getattr(type_, "unsigned", False)
    if src == "sqlite" or isinstance(type_, sa.BigInteger):
        return sa.BigInteger()
    if isinstance(type_, mysql.TINYINT | sa.SmallInteger | mysql.YEAR):
        return sa.Integer() if unsigned and isinstance(type_, sa.SmallInteger) else sa.SmallInteger()
    if isinstance(type_, mysql.MEDIUMINT):
        return sa.Integer()
    return sa.BigInteger() if unsigned else sa.Integer()


def _string_type(type_: Any, dst: str) -> Any:
    """VARCHAR keeps its length; CHAR becomes VARCHAR, because engines disagree on its trailing spaces.

    PostgreSQL pads a char(n) value with spaces, MySQL strips them when reading, SQLite does
    neither: only VARCHAR gives every engine back the string it was given.
    """
    length = getattr(type_, "length", None)
    if isinstance(type_, sa.Enum | mysql.SET) or not length:
        return mysql.LONGTEXT() if dst == "mysql" else sa.Text()
    if dst == "mysql" and length > MYSQL_VARCHAR_MAX:
        return mysql.LONGTEXT()
    return sa.String(length)


def _decimal_type(type_: Any, dst: str) -> Any:
    """NUMERIC(p,s) as it is; MySQL's DECIMAL stops at (65,30), so wider ones are clamped (values beyond refuse)."""
    precision, scale = getattr(type_, "precision", None), getattr(type_, "scale", None)
    if dst != "mysql":
        return sa.Numeric(precision, scale, asdecimal=True)
    if precision is None:
        return sa.Numeric(*MYSQL_DECIMAL_MAX)
    scale = min(scale or 0, MYSQL_DECIMAL_MAX[1])
    return sa.Numeric(max(min(precision, MYSQL_DECIMAL_MAX[0]), scale), scale)


def _mapped(kind: str, type_: Any, src: str, dst: str, table: str, column: str) -> Any:
    if kind == "int":
        return _int_type(type_, src)
    if kind == "uint64":
        return {"postgresql": sa.Numeric(20, 0), "mysql": mysql.BIGINT(unsigned=True)}.get(dst, sa.BigInteger())
    if kind == "float":
        return sa.Double()  # a single-precision value, as its driver reads it, is a double: never narrower
    simple: dict[str, Any] = {
        "bool": sa.Boolean(),
        "decimal": None,
        "date": sa.Date(),
        "uuid": sa.String(36),
        "json": postgresql.JSONB() if dst == "postgresql" else sa.JSON(),
        "bytes": mysql.LONGBLOB() if dst == "mysql" else sa.LargeBinary(),
        "datetime": mysql.DATETIME(fsp=6)
        if dst == "mysql"
        else sa.DateTime(timezone=bool(getattr(type_, "timezone", False)) and dst == "postgresql"),
        "time": mysql.TIME(fsp=6) if dst == "mysql" else sa.Time(),
    }
    if kind == "decimal":
        return _decimal_type(type_, dst)
    if kind in simple:
        return simple[kind]
    if kind == "enum":
        values = list(type_.enums)
        if dst == "postgresql":
            return postgresql.ENUM(*values, name=f"{table}_{column}_enum")
        if dst == "mysql":
            return mysql.ENUM(*values)
        return sa.Enum(*values, native_enum=False, create_constraint=False, length=max(map(len, values), default=1))
    if kind == "str":
        return _string_type(type_, dst)
    return mysql.LONGTEXT() if dst == "mysql" else sa.Text()


def map_type(kind: str, type_: Any, src: str, dst: str, table: str, column: str) -> Any:
    """The destination type of a column: unchanged between same engines, mapped by kind otherwise."""
    if src == dst:
        copied = type_.copy() if hasattr(type_, "copy") else type_
        return copied
    return _mapped(kind, type_, src, dst, table, column)


def type_name(type_: Any, engine: str) -> str:
    """A type as the engine's DDL spells it, for the plan and the docs."""
    dialects: dict[str, Any] = {"mysql": mysql.dialect, "postgresql": postgresql.dialect}
    dialect = dialects.get(engine, sqlite.dialect)()
    try:
        return str(type_.compile(dialect=dialect))
    except Exception:  # a type the dialect cannot render still deserves a name in the plan
        return repr(type_)


def _time_of_day(value: dt.timedelta) -> dt.time:
    """A MySQL TIME (a timedelta) as a time of day; beyond one day no other engine's TIME can hold it."""
    if not dt.timedelta(0) <= value < DAY:
        raise ValueError(f"TIME {value} is not a time of day")
    return (dt.datetime.min + value).time()


def prepare_value(value: Any, kind: str, source_type: str, dst_type: Any, dst: str) -> Any:
    """Turn a value read from the source into one the destination driver stores losslessly."""
    if value is None:
        return None
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(dst_type, sa.JSON) and isinstance(value, str) and "JSON" not in source_type.upper():
        return json_value(value)  # MariaDB JSON arrives as LONGTEXT text
    if isinstance(value, dict | list) and not isinstance(dst_type, sa.JSON):
        return canonical_json(value)  # JSON into a text column (MariaDB's JSON reflects as LONGTEXT)
    if isinstance(value, dt.datetime) and value.tzinfo is not None and dst != "postgresql":
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dt.timedelta) and dst != "mysql":
        return _time_of_day(value)
    if isinstance(value, uuid.UUID) and not isinstance(dst_type, sa.Uuid):
        return str(value)
    if kind == "other" and not isinstance(value, str | int | float | bytes):
        return str(value)
    if kind == "bool" and not isinstance(value, bool) and isinstance(dst_type, sa.Boolean):
        return bool(value)
    return value


# Kinds whose common driver values every engine stores as they are: the exact Python types.
_STORED_AS_IS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "uint64": (int,),
    "decimal": (Decimal, int),
    "float": (float,),
    "str": (str,),
    "enum": (str,),
    "date": (dt.date,),
    "bytes": (bytes,),
}


def preparer(column: ColumnInfo, dst_type: Any, dst: str) -> Callable[[Any], Any]:
    """`prepare_value` for one column, skipping it for values of the exact types stored as they are.

    Why: the copier prepares every value of every row; the exact-type test is a fraction of the
    generic function's chain of checks, and any other value still takes the generic path.
    """

    def generic(value: Any) -> Any:
        return prepare_value(value, column.kind, column.source_type, dst_type, dst)

    plain = _STORED_AS_IS.get(column.kind)
    if plain is None or isinstance(dst_type, sa.JSON):
        if column.kind == "datetime":
            return lambda v: v if type(v) is dt.datetime and v.tzinfo is None else generic(v)
        return generic
    return lambda v: v if v is None or type(v) in plain else generic(v)
