"""MongoDB collections as copy destinations.

Idempotent batches: delete the batch's `_id`s, insert the documents, read them back by `_id`
and compare checksums. Without a multi-document transaction a crash can leave part of a batch;
the batch is then not verified in the ledger and is written again whole on resume.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from etl.dbcopy.errors import ChecksumMismatch
from etl.dbcopy.model import Dataset, KeyRange, Row
from etl.dbcopy.rowhash import checksum
from etl.dbcopy.urls import DbUrl
from extractors.db.mongo import ClientFactory, connect

_INDEX_OPTIONS = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression")


class MongoDestination:
    """A MongoDB database written collection by collection."""

    def __init__(self, url: DbUrl, client_factory: ClientFactory | None = None) -> None:
        self.url = url
        self.client, self.database = connect(url, client_factory)

    def close(self) -> None:
        """Close the client."""
        self.client.close()

    def prepare(self, datasets: Sequence[Dataset], source_engine: str, *, create: bool, final: bool) -> None:
        """Create the collections and their secondary indexes (same names, keys and options)."""
        if not create:
            return
        existing = set(self.database.list_collection_names())
        for dataset in datasets:
            if dataset.name not in existing:
                self.database.create_collection(dataset.name)
            for name, spec in dataset.meta.get("indexes", {}).items():
                if name == "_id_":
                    continue
                options = {k: spec[k] for k in _INDEX_OPTIONS if k in spec}
                self.database[dataset.name].create_index(list(spec["key"]), name=name, **options)

    def committed(self, dataset: Dataset, key_range: KeyRange, copy_key: str) -> str | None:
        """Documents have `_id`s: a batch is simply written again."""
        return None

    def write(self, dataset: Dataset, key_range: KeyRange, rows: list[Row], *, copy_key: str, checksum: str) -> None:
        """Replace the batch's documents by `_id` and read them back."""
        collection = self.database[dataset.name]
        ids = [row["_id"] for row in rows]
        collection.delete_many({"_id": {"$in": ids}})
        if rows:
            collection.insert_many([dict(row) for row in rows], ordered=False)
        back = self.read_like(dataset, rows)
        if len(back) != len(rows) or _checksum(dataset, back) != checksum:
            raise ChecksumMismatch(
                dataset.name, key_range.describe(), f"{len(rows)} documents written, {len(back)} read back differently"
            )

    def read_like(self, dataset: Dataset, rows: list[Row]) -> list[Row]:
        """Documents with the `_id`s of `rows`."""
        return list(self.database[dataset.name].find({"_id": {"$in": [row["_id"] for row in rows]}}))

    def checksum_all(self, dataset: Dataset) -> tuple[int, str]:
        """Count and checksum of a whole collection."""
        documents = list(self.database[dataset.name].find())
        return len(documents), _checksum(dataset, documents)

    def count(self, dataset: Dataset) -> int:
        """Documents in the collection."""
        return int(self.database[dataset.name].count_documents({}))

    def finish(self, datasets: Sequence[Dataset]) -> None:
        """Indexes were created up front; nothing is deferred."""


def _checksum(dataset: Dataset, rows: list[Any]) -> str:
    return checksum(dataset, rows)
