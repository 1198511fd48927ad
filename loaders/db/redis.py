"""Redis keyspaces as copy destinations: RESTORE … REPLACE with the remaining TTL.

RESTORE REPLACE makes a batch idempotent (written twice, each key holds the last copy) and
keeps every type exactly as DUMP serialised it; the TTL restored is the one read with the batch,
so an expiring key expires at (nearly) the same moment on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence

from etl.dbcopy.errors import ChecksumMismatch
from etl.dbcopy.model import Dataset, KeyRange, Row
from etl.dbcopy.rowhash import checksum
from etl.dbcopy.urls import DbUrl
from extractors.db.redis import connect, keys_matching, read_entries


class RedisDestination:
    """A Redis database written with DUMP payloads."""

    def __init__(self, url: DbUrl) -> None:
        self.url = url
        self.client = connect(url)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def prepare(self, datasets: Sequence[Dataset], source_engine: str, *, create: bool, final: bool) -> None:
        """Redis has no schema."""

    def committed(self, dataset: Dataset, key_range: KeyRange, copy_key: str) -> str | None:
        """Keys are keys: a batch is simply restored again."""
        return None

    def write(self, dataset: Dataset, key_range: KeyRange, rows: list[Row], *, copy_key: str, checksum: str) -> None:
        """RESTORE every entry with REPLACE and its TTL in one pipeline, then read the batch back."""
        pipe = self.client.pipeline(transaction=True)
        for row in rows:
            pipe.restore(row["key"], max(int(row["pttl"]), 0), row["dump"], replace=True)
        pipe.execute()
        back = self.read_like(dataset, rows)
        if len(back) != len(rows) or _checksum(dataset, back) != checksum:
            raise ChecksumMismatch(
                dataset.name, key_range.describe(), f"{len(rows)} keys restored, {len(back)} read back differently"
            )

    def read_like(self, dataset: Dataset, rows: list[Row]) -> list[Row]:
        """Entries of the same keys."""
        return read_entries(self.client, [row["key"] for row in rows])

    def checksum_all(self, dataset: Dataset) -> tuple[int, str]:
        """Count and checksum of every key matching the keyspace's pattern."""
        entries = read_entries(self.client, keys_matching(self.client, dataset.name))
        return len(entries), _checksum(dataset, entries)

    def count(self, dataset: Dataset) -> int:
        """Keys matching the keyspace's pattern."""
        return len(keys_matching(self.client, dataset.name))

    def finish(self, datasets: Sequence[Dataset]) -> None:
        """Nothing is deferred."""


def _checksum(dataset: Dataset, rows: list[Row]) -> str:
    return checksum(dataset, rows)
