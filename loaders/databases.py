"""Database destinations for `etl db copy`: one protocol, one backend module per engine family.

A destination creates the schema it is given, writes one batch at a time so that writing the
same batch twice leaves one copy (see docs/databases.md, "Idempotent batches"), and reads
batches back so both sides can be compared by checksum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from etl.dbcopy.model import Dataset, KeyRange, Row
from etl.dbcopy.urls import DbUrl


class Destination(Protocol):
    """What the copier needs from any database it writes."""

    url: DbUrl

    def prepare(self, datasets: Sequence[Dataset], source_engine: str, *, create: bool, final: bool) -> None:
        """Create missing tables/collections (`create`), with their constraints at once when `final`."""
        ...

    def committed(self, dataset: Dataset, key_range: KeyRange, copy_key: str) -> str | None:
        """The checksum of a batch this destination already committed, for batches it cannot re-key."""
        ...

    def write(self, dataset: Dataset, key_range: KeyRange, rows: list[Row], *, copy_key: str, checksum: str) -> None:
        """Write one batch idempotently, or raise ChecksumMismatch (nothing committed) if it reads back different."""
        ...

    def read_like(self, dataset: Dataset, rows: list[Row]) -> list[Row]:
        """The destination's rows with the same keys as `rows` (verification of keyed batches)."""
        ...

    def checksum_all(self, dataset: Dataset) -> tuple[int, str]:
        """Row count and checksum of the whole dataset."""
        ...

    def count(self, dataset: Dataset) -> int:
        """Rows (documents, keys) the destination holds for a dataset."""
        ...

    def finish(self, datasets: Sequence[Dataset]) -> None:
        """After all data: add deferred constraints, move sequences past the copied ids."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def open_destination(
    url: DbUrl, source_engine: str, *, mongo_client: Callable[[str], Any] | None = None
) -> Destination:
    """The destination backend for a URL; relational, document and key-value stores do not mix."""
    from etl.dbcopy.urls import RELATIONAL
    from etl.errors import ConfigError

    family = {"mongodb": "mongodb", "redis": "redis"}
    if family.get(url.engine, "sql") != family.get(source_engine, "sql") or (
        url.relational != (source_engine in RELATIONAL)
    ):
        raise ConfigError(
            f"cannot copy {source_engine} into {url.engine}",
            fix="copy between SQL databases, Mongo to Mongo, or Redis to Redis",
        )
    if url.relational:
        from loaders.db.relational import RelationalDestination

        return RelationalDestination(url)
    if url.engine == "mongodb":
        from loaders.db.mongo import MongoDestination

        return MongoDestination(url, client_factory=mongo_client)
    from loaders.db.redis import RedisDestination

    return RedisDestination(url)
