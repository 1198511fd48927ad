"""Build a source table's twin on another engine: mapped types, keys, indexes, foreign keys.

Why foreign keys are separate: data is copied in parallel batches in key order, so a child row
can arrive before its parent. Tables are created parents first, and their foreign keys are added
once all data is in (inline only for SQLite, which cannot ALTER TABLE ADD CONSTRAINT and does not
enforce them unless asked to).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from etl.dbcopy.model import Dataset
from etl.dbcopy.typemap import map_type

_CURRENT = {"current_timestamp", "current_timestamp()", "now()", "localtimestamp", "localtimestamp()"}
_LITERAL = re.compile(r"-?\d+(\.\d+)?|'(?:[^']|'')*'|true|false", re.IGNORECASE)
_CAST = re.compile(r"::[\w \"\.\[\]]+$")
MYSQL_INDEX_PREFIX = 255
MYSQL_ROW_BYTES = 65_535  # MySQL's row size limit, TEXT and BLOB bodies not counted
MYSQL_FOREIGN_TABLE = {"mysql_default_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
_MYSQL_TABLE_OPTIONS = {
    "engine": "mysql_engine",
    "default charset": "mysql_default_charset",
    "collate": "mysql_collate",
}


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key to add once both tables hold their data."""

    table: str
    name: str | None
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    ondelete: str | None
    onupdate: str | None

    def constraint(self) -> sa.ForeignKeyConstraint:
        """The SQLAlchemy constraint, to attach to the destination table."""
        return sa.ForeignKeyConstraint(
            list(self.columns),
            [f"{self.referred_table}.{c}" for c in self.referred_columns],
            name=self.name,
            ondelete=self.ondelete,
            onupdate=self.onupdate,
        )


def portable_default(column: sa.Column[Any], dst: str) -> Any:
    """Keep a server default only when every engine reads it the same: literals and the current time."""
    default = column.server_default
    text = str(getattr(getattr(default, "arg", None), "text", getattr(default, "arg", "")) or "").strip()
    while _CAST.search(text):
        text = _CAST.sub("", text).strip().strip("()") if text.startswith("(") else _CAST.sub("", text).strip()
    if text.lower() in _CURRENT:
        return sa.text("CURRENT_TIMESTAMP(6)" if dst == "mysql" else "CURRENT_TIMESTAMP")
    if text and text.upper() != "NULL" and _LITERAL.fullmatch(text):
        return sa.text(text)
    return None


def _column(dataset: Dataset, column: sa.Column[Any], src: str, dst: str) -> sa.Column[Any]:
    info = next(c for c in dataset.columns if c.name == column.name)
    type_ = map_type(info.kind, column.type, src, dst, dataset.name, column.name)
    if dst == "mysql" and column.name in dataset.key and isinstance(type_, sa.Text | mysql.LONGTEXT):
        type_ = sa.String(MYSQL_INDEX_PREFIX)  # MySQL cannot key an unbounded text column
    return sa.Column(
        column.name,
        type_,
        primary_key=column.primary_key,
        nullable=column.nullable,
        server_default=portable_default(column, dst),
        autoincrement=column.autoincrement if src == dst else "auto",
    )


def _index_kwargs(table: sa.Table, names: list[str], dst: str) -> dict[str, Any]:
    if dst != "mysql":
        return {}
    long = {
        n: MYSQL_INDEX_PREFIX
        for n in names
        if isinstance(table.c[n].type, sa.Text | sa.LargeBinary | mysql.LONGTEXT | mysql.LONGBLOB)
    }
    return {"mysql_length": long} if long else {}


def _indexes(source: sa.Table, target: sa.Table, dst: str, used: set[str]) -> None:
    seen: set[tuple[tuple[str, ...], bool]] = set()
    specs: list[tuple[str | None, list[str], bool]] = [
        (str(i.name) if i.name else None, [c.name for c in i.columns if isinstance(c, sa.Column)], bool(i.unique))
        for i in source.indexes
    ]
    specs += [
        (str(u.name) if u.name else None, [c.name for c in u.columns], True)
        for u in source.constraints
        if isinstance(u, sa.UniqueConstraint)
    ]
    for name, names, unique in sorted(specs, key=lambda s: (str(s[0]), s[1])):
        identity = (tuple(names), unique)
        if not names or identity in seen:
            continue  # expression indexes do not translate; duplicates come from unique constraints
        seen.add(identity)
        index_name = name or f"ix_{target.name}_{'_'.join(names)}"
        if dst != "mysql" and index_name in used:  # PostgreSQL and SQLite name indexes per schema
            index_name = f"{target.name}_{index_name}"
        used.add(index_name)
        sa.Index(index_name, *[target.c[n] for n in names], unique=unique, **_index_kwargs(target, names, dst))


def foreign_keys(dataset: Dataset, selected: Iterable[str]) -> list[ForeignKey]:
    """The foreign keys of a source table that point at tables copied too."""
    chosen = set(selected)
    source: sa.Table = dataset.schema
    return [
        ForeignKey(
            dataset.name,
            str(fk.name) if fk.name else None,
            tuple(c.name for c in fk.columns),
            fk.referred_table.name,
            tuple(e.column.name for e in fk.elements),
            fk.ondelete,
            fk.onupdate,
        )
        for fk in sorted(source.foreign_key_constraints, key=lambda f: str(f.name))
        if fk.referred_table.name in chosen
    ]


def _mysql_row_bytes(type_: Any) -> int:
    """What a column takes of MySQL's row limit: a utf8mb4 VARCHAR 4 bytes a character, TEXT/BLOB a pointer."""
    if _is_varchar(type_):
        return 4 * int(type_.length) + 2
    return 30 if isinstance(type_, sa.Numeric) else 12


def _is_varchar(type_: Any) -> bool:
    return isinstance(type_, sa.String) and not isinstance(type_, sa.Text | sa.Enum) and bool(type_.length)


def _fit_mysql_row(columns: Sequence[sa.Column[Any]], key: Sequence[str]) -> None:
    """Turn the longest VARCHARs into LONGTEXT until the row fits MySQL's 65 535 bytes; key columns stay.

    Why: PostgreSQL and SQLite have no row limit, so two varchar(10000) columns are fine there and
    refused by MySQL's CREATE TABLE; LONGTEXT holds the same strings (without checking the length).
    """
    while sum(_mysql_row_bytes(c.type) for c in columns) > MYSQL_ROW_BYTES:
        candidates = [c for c in columns if c.name not in key and _is_varchar(c.type)]
        if not candidates:
            return  # nothing left to move: the destination refuses the table and says why
        max(candidates, key=lambda c: _mysql_row_bytes(c.type)).type = mysql.LONGTEXT()


def _table_options(source: sa.Table, src: str, dst: str) -> dict[str, Any]:
    """MySQL tables: the source's engine and charset between MySQLs; utf8mb4 with binary collation otherwise.

    Why binary: PostgreSQL and SQLite compare strings exactly, so 'a' and 'A' may both be keys
    there; a case-insensitive MySQL collation would refuse the second as a duplicate.
    """
    if dst != "mysql":
        return {}
    if src != "mysql":
        return dict(MYSQL_FOREIGN_TABLE)
    reflected = source.dialect_options["mysql"]
    return {option: reflected[name] for name, option in _MYSQL_TABLE_OPTIONS.items() if reflected.get(name)}


def build_table(dataset: Dataset, metadata: sa.MetaData, src: str, dst: str, used_index_names: set[str]) -> sa.Table:
    """The destination table for a source dataset, without foreign keys."""
    source: sa.Table = dataset.schema
    columns = [_column(dataset, c, src, dst) for c in source.columns]
    if dst == "mysql" and src != "mysql":
        _fit_mysql_row(columns, dataset.key)
    target = sa.Table(dataset.name, metadata, *columns, **_table_options(source, src, dst))
    _indexes(source, target, dst, used_index_names)
    return target
