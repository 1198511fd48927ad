"""`etl db copy --dry-run`: what would be copied, in how many batches, into which types.

Nothing is written anywhere: the source is reflected, the destination is only named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import sqlalchemy as sa

from etl.dbcopy.copier import CopyOptions
from etl.dbcopy.model import Dataset
from etl.dbcopy.typemap import type_name
from etl.dbcopy.urls import parse
from extractors.databases import open_source
from loaders.db.schema import build_table


@dataclass
class PlannedDataset:
    """One dataset of the plan, with its type mapping (source type → destination type)."""

    name: str
    kind: str
    rows: int
    batches: int
    keyed_by: str
    depends_on: tuple[str, ...]
    columns: list[tuple[str, str, str]] = field(default_factory=list)


def _columns(dataset: Dataset, src: str, dst: str) -> list[tuple[str, str, str]]:
    """Each column's source and destination type, from the very table the copy would create.

    Why the whole table: a key column or a MySQL row over 65 535 bytes changes a column's type
    beyond what its kind alone says.
    """
    if dataset.schema is None:
        return []
    target = build_table(dataset, sa.MetaData(), src, dst, set())
    return [
        (info.name, type_name(dataset.schema.c[info.name].type, src), type_name(target.c[info.name].type, dst))
        for info in dataset.columns
    ]


def plan_copy(source_url: str, dest_url: str, options: CopyOptions) -> list[PlannedDataset]:
    """Reflect the source and describe the copy without writing to the destination or the ledger."""
    options.validate()
    src, dst = parse(source_url), parse(dest_url)
    source = open_source(src, mongo_client=options.mongo_client)
    try:
        datasets = source.datasets(options.tables, options.exclude)
    finally:
        source.close()
    return [
        PlannedDataset(
            d.name,
            d.kind,
            d.rows_estimate,
            max(1, math.ceil(d.rows_estimate / options.batch_size)),
            d.keyed_by,
            d.depends_on,
            _columns(d, src.engine, dst.engine),
        )
        for d in datasets
    ]
