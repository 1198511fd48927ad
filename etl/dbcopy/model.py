"""The plain data every database backend speaks: datasets, key ranges and rows.

Why plain dataclasses: the copier, the planner (`--dry-run`), the checksums and the ledger all
reason about the same few facts — what is copied, in which order, in which key ranges — without
knowing which engine is behind them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Row = dict[str, Any]
DatasetKind = Literal["table", "collection", "keyspace"]

# Canonical column kinds: what a value *is*, whatever engine stores it. They drive the type
# mapping, the Parquet staging schema and the canonical row hash.
KINDS = (
    "int",
    "uint64",
    "decimal",
    "float",
    "bool",
    "str",
    "bytes",
    "datetime",
    "date",
    "time",
    "json",
    "uuid",
    "enum",
    "other",
)


@dataclass(frozen=True)
class ColumnInfo:
    """One source column: its name, canonical kind and the source type as the engine spells it."""

    name: str
    kind: str
    source_type: str
    nullable: bool = True


@dataclass
class Dataset:
    """A table, collection or keyspace to copy, with what orders its batches.

    `key` empty means the table has no usable unique key: its batches are row positions in an
    order over all columns (see docs/databases.md, "Tables without a primary key").
    """

    name: str
    kind: DatasetKind
    rows_estimate: int
    key: tuple[str, ...]
    keyed_by: str
    columns: tuple[ColumnInfo, ...] = ()
    schema: Any = None  # the reflected sqlalchemy.Table for relational sources
    depends_on: tuple[str, ...] = ()  # tables its foreign keys reference
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def keyed(self) -> bool:
        """Keyed batches can be re-read and re-written by key; position batches cannot."""
        return bool(self.key)


@dataclass(frozen=True)
class KeyRange:
    """One batch: keys in (key_from, key_to], JSON-encoded; None is unbounded on that side."""

    seq: int
    key_from: str | None
    key_to: str | None

    def describe(self) -> str:
        """How a human reads the range in messages: `(12, 40]`."""
        return f"({self.key_from or '-inf'}, {self.key_to or '+inf'}]"


@dataclass
class BatchResult:
    """What one copied batch left in the ledger: its range, row count and checksum."""

    dataset: str
    seq: int
    rows: int
    checksum: str
    skipped: bool = False
