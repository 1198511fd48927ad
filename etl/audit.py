"""Ask questions across staged data and the ledger with SQL: DuckDB over Parquet and ledger tables.

Why DuckDB with the ledger read through SQLAlchemy into Arrow: one query can join what Sonar said
(staging) with what happened to it (items, events, id map), e.g. "which active customers with a static
IP failed to load, and why". Reading the ledger through its own driver works the same for SQLite and
PostgreSQL and needs no DuckDB extension download (the machine may be offline).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Boolean, DateTime, Float, Integer, Table, select
from sqlalchemy.types import TypeDecorator, TypeEngine

from etl.errors import ConfigError
from state.ledger import CHUNK, EVENT, ID_MAP, ITEM, OVERRIDE, RUN, TRANSFER, Ledger

LEDGER_TABLES: dict[str, Table] = {
    "run": RUN, "item": ITEM, "id_map": ID_MAP, "override": OVERRIDE,
    "transfer": TRANSFER, "chunk": CHUNK, "event": EVENT,
}  # fmt: skip
"""Ledger tables exposed as views, under their own names."""

BATCH_ROWS = 50_000
_RUN_DIR = re.compile(r"^run=(\d+)$")
_ENTITY_DIR = re.compile(r"^entity=([a-z_][a-z0-9_]*)$")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _file_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def staged_files(staging_dir: Path, run_id: int | None = None) -> dict[str, list[Path]]:
    """Parquet parts per entity: of every run, or of one run."""
    found: dict[str, list[Path]] = {}
    if not staging_dir.is_dir():
        return found
    for run_dir in sorted(staging_dir.iterdir()):
        match = _RUN_DIR.match(run_dir.name)
        if not match or (run_id is not None and int(match.group(1)) != run_id):
            continue
        for entity_dir in sorted(run_dir.iterdir()):
            entity = _ENTITY_DIR.match(entity_dir.name)
            parts = sorted(entity_dir.glob("part-*.parquet")) if entity else []
            if entity and parts:
                found.setdefault(entity.group(1), []).extend(parts)
    return found


def dbcopy_files(staging_dir: Path) -> list[Path]:
    """Batches staged by database copies: `staging/dbcopy/transfer=<id>/batch-*.parquet`."""
    return sorted((staging_dir / "dbcopy").glob("transfer=*/batch-*.parquet"))


def _arrow_type(sql_type: TypeEngine[Any]) -> pa.DataType:
    while isinstance(sql_type, TypeDecorator):  # sqlmodel's AutoString, UTCDateTime: judge by what they wrap
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, Boolean):
        return pa.bool_()
    if isinstance(sql_type, Integer):
        return pa.int64()
    if isinstance(sql_type, Float):
        return pa.float64()
    if isinstance(sql_type, DateTime):
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def ledger_table(ledger: Ledger, table: Table) -> pa.Table:
    """One ledger table as Arrow, read in batches through SQLAlchemy (SQLite or PostgreSQL alike)."""
    schema = pa.schema([(c.name, _arrow_type(c.type)) for c in table.columns])
    batches: list[pa.RecordBatch] = []
    with ledger.reader.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(select(table))
        for rows in result.partitions(BATCH_ROWS):
            columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
            arrays = [pa.array([_plain(v) for v in col], type=f.type) for col, f in zip(columns, schema, strict=True)]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def _plain(value: Any) -> Any:
    """Enum members (StrEnum states) as their text; everything else unchanged."""
    return value.value if hasattr(value, "value") and isinstance(value.value, str) else value


def open_audit(
    staging_dir: Path, ledger: Ledger | None = None, *, run_id: int | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per staged entity, `dbcopy`, and the ledger's tables.

    Args:
        staging_dir: `<home>/staging`.
        ledger: the ledger whose tables become views (None: staging only).
        run_id: only this run's staged parts (the ledger tables stay whole; filter on `run_id`).
    """
    con = duckdb.connect(":memory:")
    for entity, parts in staged_files(staging_dir, run_id).items():
        con.execute(
            f"CREATE VIEW {_quote(entity)} AS SELECT * FROM read_parquet({_file_list(parts)}, union_by_name = true)"
        )
    batches = dbcopy_files(staging_dir)
    if batches:
        con.execute(
            "CREATE VIEW dbcopy AS SELECT * FROM "
            f"read_parquet({_file_list(batches)}, union_by_name = true, hive_partitioning = true)"
        )
    if ledger is not None:
        for name, table in LEDGER_TABLES.items():
            con.register(name, ledger_table(ledger, table))
    return con


def views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of every view and registered table, for `etl sql --list` and error hints."""
    rows = con.execute("SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()
    return [str(r[0]) for r in rows]


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of one query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> QueryResult:
    """Run one SQL statement, turning DuckDB's errors into a one-line ConfigError."""
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description or ()]
        rows = cursor.fetchall() if columns else []
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(
            f"query failed: {first}", fix=f"tables are: {', '.join(views(con)) or 'none staged yet'}"
        ) from exc
    return QueryResult(columns, rows)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def to_json(result: QueryResult) -> str:
    """Rows as a JSON array of objects."""
    records = [{c: _json_value(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows]
    return json.dumps(records, indent=2, default=str, ensure_ascii=False)


def to_csv(result: QueryResult) -> str:
    """Rows as CSV with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows([[_json_value(v) for v in row] for row in result.rows])
    return out.getvalue()


def sql_blocks(markdown: str) -> Iterable[str]:
    """The ```sql fenced blocks of a Markdown text (docs/audit.md's queries, for its test)."""
    for match in re.finditer(r"```sql\n(.*?)```", markdown, flags=re.DOTALL):
        yield match.group(1).strip()


__all__ = [
    "LEDGER_TABLES",
    "QueryResult",
    "dbcopy_files",
    "ledger_table",
    "open_audit",
    "run_query",
    "sql_blocks",
    "staged_files",
    "to_csv",
    "to_json",
    "views",
]
