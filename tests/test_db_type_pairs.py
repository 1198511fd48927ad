"""The type map, property-tested: extreme values copied between every pair of real engines read back equal.

Each example creates a fresh table on the source engine with that engine's own types (SQLite
INTEGER and REAL, MySQL BIGINT UNSIGNED and FLOAT, PostgreSQL real and timestamptz...), fills it
with the widest values the pair can carry (docs/databases.md, "What each mapping carries") plus
hypothesis' rows, copies it with `copy_database` and compares the two sides row by row.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from etl.dbcopy.copier import CopyOptions, copy_database
from etl.dbcopy.fit import unfit
from etl.dbcopy.typemap import kind_of
from state.ledger import Ledger
from tests.fixtures.databases import MakeDb, sa_url

ENGINES = ["mysql", "postgresql", "sqlite"]
PAIRS = [(s, d) for s in ENGINES for d in ENGINES]
INT16, INT32, INT64 = 2**15, 2**31, 2**63
MAX_DOUBLE = 1.7976931348623157e308
LONG_TEXT = "naïve café 日本語 🚀\t\\ line\n" * 4_000  # ~100 000 characters: beyond MySQL TEXT's 64 KB
UTC_OFFSETS = [dt.UTC, dt.timezone(dt.timedelta(hours=14)), dt.timezone(dt.timedelta(hours=-12, minutes=-30))]
Pair = tuple[str, str]


@dataclass(frozen=True)
class Column:
    """One column of the test table: its DDL per source engine, its values and edge values per pair."""

    name: str
    ddl: dict[str, str]  # source engine → type; an engine missing here has no such type
    values: Callable[[Pair], st.SearchStrategy[Any]]
    edges: Callable[[Pair], tuple[Any, ...]]
    exact_on_source: bool = True  # the source reads back what was inserted (not MySQL FLOAT's 6 digits)


def _involves(pair: Pair, engine: str) -> bool:
    return engine in pair


def _int_bound(width: int) -> Callable[[Pair], int]:
    """SQLite has no fixed-width integers: every SQLite integer column holds 64 bits."""
    return lambda pair: INT64 if pair[0] == "sqlite" else width


def _ints(width: int) -> tuple[Callable[[Pair], st.SearchStrategy[Any]], Callable[[Pair], tuple[Any, ...]]]:
    bound = _int_bound(width)
    return (
        lambda pair: st.integers(-bound(pair), bound(pair) - 1),
        lambda pair: (-bound(pair), bound(pair) - 1, 0, -1),
    )


def _unsigned_max(pair: Pair) -> int:
    """SQLite's INTEGER stops at 2**63 - 1: the documented limit of BIGINT UNSIGNED → SQLite."""
    return INT64 - 1 if pair[1] == "sqlite" else 2**64 - 1


def _doubles(pair: Pair) -> st.SearchStrategy[float]:
    """MySQL has no NaN nor infinities; SQLite turns NaN into NULL; PostgreSQL keeps both."""
    no_mysql = not _involves(pair, "mysql")
    return st.floats(allow_nan=pair == ("postgresql", "postgresql"), allow_infinity=no_mysql)


def _double_edges(pair: Pair) -> tuple[float, ...]:
    edges = (0.1, 0.30000000000000004, 1e308, -MAX_DOUBLE, MAX_DOUBLE, 5e-324, 2.2250738585072014e-308, -0.0)
    return edges if _involves(pair, "mysql") else (*edges, math.inf, -math.inf)


def _decimals(pair: Pair) -> st.SearchStrategy[Decimal]:
    """SQLite keeps decimals as doubles: 15 digits, the 10 of the scale included; the others hold DECIMAL(30,10)."""
    if _involves(pair, "sqlite"):
        return st.integers(-(10**15) + 1, 10**15 - 1).map(lambda n: Decimal(n).scaleb(-10))
    return st.decimals(-(Decimal(10) ** 20) + 1, Decimal(10) ** 20 - 1, places=10, allow_nan=False)


def _decimal_edges(pair: Pair) -> tuple[Decimal, ...]:
    if _involves(pair, "sqlite"):
        return Decimal("99999.9999999999"), Decimal("-99999.9999999999"), Decimal("0.0000000001")
    top = "99999999999999999999.9999999999"  # 30 digits: Decimal arithmetic would round it to 28
    return Decimal(top), Decimal("-" + top), Decimal("0.0000000001"), Decimal(0)


def _texts(pair: Pair, max_size: int) -> st.SearchStrategy[str]:
    """Any unicode but lone surrogates (not UTF-8); PostgreSQL text cannot hold U+0000."""
    banned = "\x00" if _involves(pair, "postgresql") else ""
    return st.text(st.characters(exclude_categories=("Cs",), exclude_characters=banned), max_size=max_size)


def _text_edges(pair: Pair) -> tuple[str, ...]:
    edges = ("", " trailing  ", "🚀" * 3, LONG_TEXT)
    return edges if _involves(pair, "postgresql") else (*edges, "nul\x00inside")


def _label_edges(pair: Pair) -> tuple[str, ...]:
    return ("", "x" * 40, "🚀" * 40, "ends with spaces   ")


def _blob_edges(pair: Pair) -> tuple[bytes, ...]:
    return (b"", b"\x00" * 16, bytes(range(256)), bytes(range(256)) * 4_000)


def _stamps_tz(pair: Pair) -> st.SearchStrategy[dt.datetime]:
    """Aware datetimes a day inside Python's range, so every offset converts to UTC."""
    return st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30), timezones=st.sampled_from(UTC_OFFSETS))


COLUMNS: tuple[Column, ...] = (
    Column("small_n", {"mysql": "SMALLINT", "postgresql": "smallint", "sqlite": "SMALLINT"}, *_ints(INT16)),
    Column("int_n", {"mysql": "INT", "postgresql": "integer", "sqlite": "INTEGER"}, *_ints(INT32)),
    Column("big_n", {"mysql": "BIGINT", "postgresql": "bigint", "sqlite": "INTEGER"}, *_ints(INT64)),
    Column(
        "ubig_n",
        {"mysql": "BIGINT UNSIGNED"},
        lambda pair: st.integers(0, _unsigned_max(pair)),
        lambda pair: (0, _unsigned_max(pair), INT64 - 1),
    ),
    Column(
        "double_n", {"mysql": "DOUBLE", "postgresql": "double precision", "sqlite": "REAL"}, _doubles, _double_edges
    ),
    Column(
        "single_n",
        {"mysql": "FLOAT", "postgresql": "real", "sqlite": "FLOAT"},
        lambda pair: st.floats(width=32, allow_nan=False, allow_infinity=False),
        lambda pair: (0.1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 16777217.0),
        exact_on_source=False,
    ),
    Column(
        "amount",
        {"mysql": "DECIMAL(30,10)", "postgresql": "numeric(30,10)", "sqlite": "NUMERIC(30,10)"},
        _decimals,
        _decimal_edges,
    ),
    Column(
        "body", {"mysql": "LONGTEXT", "postgresql": "text", "sqlite": "TEXT"}, lambda p: _texts(p, 300), _text_edges
    ),
    Column(
        "label",
        {"mysql": "VARCHAR(40)", "postgresql": "varchar(40)", "sqlite": "VARCHAR(40)"},
        lambda p: _texts(p, 40),
        _label_edges,
    ),
    Column(
        "code",
        {"mysql": "CHAR(6)", "postgresql": "char(6)", "sqlite": "CHAR(6)"},
        lambda p: st.sampled_from(["", "ab", "abcdef", "é"]),
        lambda p: ("abcdef", "a"),
        exact_on_source=False,  # CHAR pads (PostgreSQL) or strips (MySQL) trailing spaces on the source already
    ),
    Column(
        "payload",
        {"mysql": "LONGBLOB", "postgresql": "bytea", "sqlite": "BLOB"},
        lambda p: st.binary(max_size=64),
        _blob_edges,
    ),
    Column(
        "day",
        {"mysql": "DATE", "postgresql": "date", "sqlite": "DATE"},
        lambda p: st.dates(),
        lambda p: (dt.date.min, dt.date.max, dt.date(2024, 2, 29)),
    ),
    Column(
        "moment",
        {"mysql": "DATETIME(6)", "postgresql": "timestamp", "sqlite": "DATETIME"},
        lambda p: st.datetimes(),
        lambda p: (dt.datetime.min, dt.datetime.max, dt.datetime(1970, 1, 1)),
    ),
    Column(
        "clock",
        {"mysql": "TIME(6)", "postgresql": "time", "sqlite": "TIME"},
        lambda p: st.times(),
        lambda p: (dt.time.min, dt.time.max, dt.time(12, 0, 0, 1)),
    ),
    Column(
        "flag",
        {"mysql": "TINYINT(1)", "postgresql": "boolean", "sqlite": "BOOLEAN"},
        lambda p: st.booleans(),
        lambda p: (True, False),
    ),
    Column(
        "stamp_tz",
        {"postgresql": "timestamptz"},
        _stamps_tz,
        lambda p: (dt.datetime(1, 1, 2, tzinfo=UTC_OFFSETS[1]), dt.datetime(9999, 12, 30, 23, 59, 59, 999999, dt.UTC)),
    ),
)


def columns_of(engine: str) -> list[Column]:
    return [c for c in COLUMNS if engine in c.ddl]


def edge_rows(pair: Pair) -> list[dict[str, Any]]:
    """Every column's edge values spread over rows (the first edges, the second ones...) and a row of NULLs."""
    columns = columns_of(pair[0])
    width = max(len(c.edges(pair)) for c in columns)
    rows = [{c.name: c.edges(pair)[i % len(c.edges(pair))] for c in columns} for i in range(width)]
    return [*rows, dict.fromkeys((c.name for c in columns), None)]


def random_rows(pair: Pair) -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries({c.name: st.none() | c.values(pair) for c in columns_of(pair[0])})
    return st.lists(row, min_size=1, max_size=5)


def create_and_fill(engine: sa.Engine, src: str, table: str, rows: list[dict[str, Any]]) -> None:
    """A table with the source engine's own types, filled through SQLAlchemy's typed inserts."""
    columns = ", ".join(f"{c.name} {c.ddl[src]}" for c in columns_of(src))
    suffix = " CHARACTER SET utf8mb4" if src == "mysql" else ""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, {columns}){suffix}")
        reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
        conn.execute(reflected.insert(), [{"id": i, **row} for i, row in enumerate(rows, start=1)])


def read_rows(engine: sa.Engine, table: str) -> list[dict[str, Any]]:
    """The driver's values; SQLite's through its SQLAlchemy types, the only way its dates come back as dates.

    Not SQLAlchemy's types on MySQL: they turn a DOUBLE into a Decimal of 10 places, losing digits.
    """
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            return [dict(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id").mappings()]
        reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
        return [dict(r) for r in conn.execute(sa.select(reflected).order_by(reflected.c.id)).mappings()]


def comparable(value: Any) -> Any:
    """One value as the copy must preserve it, whatever the driver hands back for it."""
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dt.timedelta):  # MySQL TIME
        return (dt.datetime.min + value).time()
    return value


def assert_same(expected: list[dict[str, Any]], actual: list[dict[str, Any]], names: list[str], what: str) -> None:
    assert len(actual) == len(expected), what
    for want, got in zip(expected, actual, strict=True):
        for name in names:
            assert comparable(got[name]) == comparable(want[name]), f"{what}: row {want['id']} column {name}"


def assert_fits(source: sa.Engine, dest: sa.Engine, dst: str, table: str, rows: list[dict[str, Any]]) -> None:
    """The fit rules find nothing wrong with values that copied fine: a false alarm would misname a refusal."""
    with source.connect() as conn:
        src_types = {c.name: c.type for c in sa.Table(table, sa.MetaData(), autoload_with=conn).columns}
    with dest.connect() as conn:
        dst_types = {c.name: c.type for c in sa.Table(table, sa.MetaData(), autoload_with=conn).columns}
    for row in rows:
        for name, value in row.items():
            assert unfit(value, kind_of(src_types[name]), dst_types[name], dst) is None, (name, value)


_tables = itertools.count()


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.parametrize(("src_engine", "dst_engine"), PAIRS, ids=[f"{s}-to-{d}" for s, d in PAIRS])
def test_extreme_values_copy_between_engines_and_read_back_equal(
    src_engine: str, dst_engine: str, make_db: MakeDb, copy_ledger: Ledger
) -> None:
    pair = (src_engine, dst_engine)
    src, dst = make_db(src_engine), make_db(dst_engine)
    source, dest = sa.create_engine(sa_url(src)), sa.create_engine(sa_url(dst))

    # No shrinking: each step is a real copy, and a failing row of at most five is readable as it is.
    @settings(max_examples=4, deadline=None, database=None, phases=[Phase.explicit, Phase.generate])
    @given(generated=random_rows(pair))
    def copies_exactly(generated: list[dict[str, Any]]) -> None:
        table = f"sample_{next(_tables)}"
        rows = [*edge_rows(pair), *generated]
        create_and_fill(source, src_engine, table, rows)
        copy_database(src, dst, copy_ledger, CopyOptions(tables=(table,), batch_size=3))
        on_source, on_dest = read_rows(source, table), read_rows(dest, table)
        names = ["id", *(c.name for c in columns_of(src_engine))]
        exact = ["id", *(c.name for c in columns_of(src_engine) if c.exact_on_source)]
        assert_same([{"id": i, **r} for i, r in enumerate(rows, start=1)], on_source, exact, "source")
        assert_same(on_source, on_dest, names, f"{src_engine} → {dst_engine}")
        assert_fits(source, dest, dst_engine, table, on_source)

    try:
        copies_exactly()
    finally:
        source.dispose()
        dest.dispose()
