"""Database sources for `etl db copy`: one protocol, one backend module per engine family.

A source lists its datasets (tables, collections, keyspaces), cuts each into key ranges, and
reads one range at a time. Ranges are planned once and kept in the ledger, so a resumed copy
reads exactly the batches it has not verified yet. Redis has no ranges that survive a restart,
only a SCAN cursor: its source reads sequentially from the last verified cursor instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from etl.dbcopy.model import Dataset, KeyRange, Row
from etl.dbcopy.urls import DbUrl


class Source(Protocol):
    """What the copier needs from any database it reads."""

    url: DbUrl

    def datasets(self, include: Sequence[str], exclude: Sequence[str]) -> list[Dataset]:
        """The datasets to copy, parents before children; ConfigError if `include` names a missing one."""
        ...

    def plan(self, dataset: Dataset, batch_size: int) -> list[KeyRange] | None:
        """Key ranges of about `batch_size` rows; None when the dataset is read by cursor instead."""
        ...

    def read(self, dataset: Dataset, key_range: KeyRange) -> list[Row]:
        """Every row of one key range."""
        ...

    def scan(self, dataset: Dataset, cursor: str | None, batch_size: int) -> tuple[list[Row], str | None]:
        """Cursor datasets: the next rows after `cursor`, and the cursor after them (None at the end)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def open_source(url: DbUrl, *, mongo_client: Callable[[str], Any] | None = None) -> Source:
    """The source backend for a URL (`mongo_client` builds the Mongo client; tests inject one)."""
    if url.relational:
        from extractors.db.relational import RelationalSource

        return RelationalSource(url)
    if url.engine == "mongodb":
        from extractors.db.mongo import MongoSource

        return MongoSource(url, client_factory=mongo_client)
    from extractors.db.redis import RedisSource

    return RedisSource(url)
