"""MySQL/MariaDB, PostgreSQL and SQLite as copy sources, through SQLAlchemy reflection.

Batches are key ranges over the primary key (or a unique index whose columns are all NOT NULL),
planned in one query with `row_number()` so the plan costs one index scan. A table with no such
key is cut into row positions over an ORDER BY of all its columns: rows equal in every column are
interchangeable, so the order is total up to rows no one can tell apart.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from etl.dbcopy.connect import sql_engine
from etl.dbcopy.keys import decode_key, decode_position, encode_key, encode_position
from etl.dbcopy.model import ColumnInfo, Dataset, KeyRange, Row
from etl.dbcopy.typemap import kind_of
from etl.dbcopy.urls import DbUrl
from etl.errors import ConfigError

_MARIADB_JSON = sa.text(
    "SELECT CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS "
    "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = :table AND CHECK_CLAUSE LIKE 'json_valid(%'"
)


def select_names(available: Sequence[str], include: Sequence[str], exclude: Sequence[str], what: str) -> list[str]:
    """Apply --tables/--exclude; a name in --tables that does not exist is the user's mistake."""
    missing = [name for name in include if name not in available]
    if missing:
        raise ConfigError(
            f"{what} {', '.join(missing)} not found in the source",
            fix=f"choose among: {', '.join(sorted(available)) or '(none)'}",
        )
    chosen = list(include) if include else list(available)
    return [name for name in chosen if name not in set(exclude)]


class RelationalSource:
    """A SQL database read table by table in keyed batches."""

    def __init__(self, url: DbUrl) -> None:
        self.url = url
        self.engine = sql_engine(url, must_exist=True)
        self.metadata = sa.MetaData()

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    # --- schema -------------------------------------------------------------------------------

    def _json_text_columns(self, table: str) -> set[str]:
        if self.engine.dialect.name != "mysql":
            return set()
        with self.engine.connect() as conn:
            return {str(name) for name in conn.execute(_MARIADB_JSON, {"table": table}).scalars()}

    def _key(self, table: sa.Table) -> tuple[tuple[str, ...], str]:
        primary = tuple(c.name for c in table.primary_key.columns)
        if primary:
            return primary, f"primary key ({', '.join(primary)})"
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            columns = [c for c in index.columns if isinstance(c, sa.Column)]
            if index.unique and columns and all(not c.nullable for c in columns):
                names = tuple(c.name for c in columns)
                return names, f"unique index {index.name} ({', '.join(names)})"
        return (), "row position, ordered by all columns (no primary key)"

    def _dataset(self, table: sa.Table) -> Dataset:
        json_text = self._json_text_columns(table.name)
        columns = tuple(
            ColumnInfo(c.name, kind_of(c.type, c.name in json_text), str(_type_label(c.type)), bool(c.nullable))
            for c in table.columns
        )
        key, keyed_by = self._key(table)
        with self.engine.connect() as conn:
            rows = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        parents = tuple(sorted({fk.column.table.name for fk in table.foreign_keys} - {table.name}))
        return Dataset(table.name, "table", rows, key, keyed_by, columns, table, parents)

    def datasets(self, include: Sequence[str], exclude: Sequence[str]) -> list[Dataset]:
        """Reflect the chosen tables and return them parents first (foreign-key dependency order)."""
        available = sa.inspect(self.engine).get_table_names()
        names = select_names(available, include, exclude, "table")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sa.exc.SAWarning)  # unknown column types reflect as NullType
            self.metadata.reflect(bind=self.engine, only=names)
            ordered = [t for t in sa.schema.sort_tables(self.metadata.tables.values()) if t.name in names]
        return [self._dataset(table) for table in ordered]

    # --- batches ------------------------------------------------------------------------------

    def plan(self, dataset: Dataset, batch_size: int) -> list[KeyRange] | None:
        """Key ranges of `batch_size` rows (the last one open-ended, so late inserts are not lost)."""
        if not dataset.keyed:
            starts = range(0, max(dataset.rows_estimate, 1), batch_size)
            bounds = [encode_position(s) for s in starts]
            return [
                KeyRange(seq, bound, bounds[seq + 1] if seq + 1 < len(bounds) else None)
                for seq, bound in enumerate(bounds)
            ]
        table: sa.Table = dataset.schema
        keys = [table.c[name] for name in dataset.key]
        number = sa.func.row_number().over(order_by=keys).label("etl_rn")
        numbered = sa.select(*keys, number).subquery()
        query = (
            sa.select(*[numbered.c[name] for name in dataset.key], numbered.c.etl_rn)
            .where(numbered.c.etl_rn % batch_size == 0)
            .order_by(numbered.c.etl_rn)
        )
        with self.engine.connect() as conn:
            marks = [(encode_key(tuple(row)[:-1]), int(tuple(row)[-1])) for row in conn.execute(query)]
        bounds = [key for key, number in marks if number < dataset.rows_estimate]
        edges: list[str | None] = [None, *bounds, None]
        return [KeyRange(seq, edges[seq], edges[seq + 1]) for seq in range(len(edges) - 1)]

    def _range_query(self, dataset: Dataset, key_range: KeyRange) -> sa.Select[Any]:
        table: sa.Table = dataset.schema
        if not dataset.keyed:
            start = decode_position(key_range.key_from) or 0
            end = decode_position(key_range.key_to)
            query = sa.select(table).order_by(*_orderable(table)).offset(start)
            return query.limit(end - start) if end is not None else query.limit(2**62)
        keys = [table.c[name] for name in dataset.key]
        query = sa.select(table).order_by(*keys)
        if key_range.key_from is not None:
            query = query.where(compare_key(keys, decode_key(key_range.key_from), ">"))
        if key_range.key_to is not None:
            query = query.where(compare_key(keys, decode_key(key_range.key_to), "<="))
        return query

    def read(self, dataset: Dataset, key_range: KeyRange) -> list[Row]:
        """Every row of one key range, as dicts keyed by column name."""
        names = [c.name for c in dataset.columns]
        return [dict(zip(names, values, strict=True)) for values in self.read_values(dataset, key_range)]

    def read_values(self, dataset: Dataset, key_range: KeyRange) -> list[tuple[Any, ...]]:
        """Every row of one key range as value tuples in the dataset's column order.

        MySQL and PostgreSQL go through the driver's own cursor: SQLAlchemy's per-row result
        processing cost more than the query. SQLite keeps it, because only SQLAlchemy's types turn
        the text SQLite stores for dates and decimals back into values.
        """
        query = self._range_query(dataset, key_range)
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                return [tuple(row) for row in conn.execute(query)]
            rows = driver_rows(conn, query)
        return self._parse_json(dataset, rows) if self.engine.dialect.name == "mysql" else rows

    def _parse_json(self, dataset: Dataset, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """MySQL's driver hands JSON columns over as text; parse them as SQLAlchemy and psycopg2 do."""
        table: sa.Table = dataset.schema
        positions = [i for i, c in enumerate(dataset.columns) if isinstance(table.c[c.name].type, sa.JSON)]
        if not positions:
            return rows
        parsed = []
        for row in rows:
            values = list(row)
            for i in positions:
                if isinstance(values[i], str | bytes):
                    values[i] = json.loads(values[i])
            parsed.append(tuple(values))
        return parsed

    def scan(self, dataset: Dataset, cursor: str | None, batch_size: int) -> tuple[list[Row], str | None]:
        """Tables are planned, never scanned by cursor."""
        raise NotImplementedError("relational tables are copied by planned key ranges")


def driver_rows(conn: sa.Connection, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """Run a SELECT on the DBAPI cursor under `conn` and return the driver's plain tuples."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    if compiled.positiontup is not None:
        parameters: Any = tuple(params[name] for name in compiled.positiontup)
    else:
        parameters = params
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _type_label(type_: Any) -> str:
    try:
        return str(type_)
    except Exception:  # NullType and exotic types have no generic rendering
        return type(type_).__name__


def compare_key(columns: list[sa.Column[Any]], values: tuple[Any, ...], op: str) -> sa.ColumnElement[bool]:
    """`key > value` for one column, a row-value comparison `(a, b) > (x, y)` for composite keys."""
    if len(columns) == 1:
        column, value = columns[0], sa.literal(values[0], columns[0].type)
        return column > value if op == ">" else column <= value
    left = sa.tuple_(*columns)
    right = sa.tuple_(*[sa.literal(v, c.type) for c, v in zip(columns, values, strict=True)])
    return left > right if op == ">" else left <= right


def _orderable(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    """Every column, with JSON cast to text (PostgreSQL's json has no ordering)."""
    return [sa.cast(c, sa.Text) if isinstance(c.type, sa.JSON) else c for c in table.columns]
