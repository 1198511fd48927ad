"""Redis keyspaces as copy sources, read by SCAN cursor.

A keyspace is one Redis database, optionally narrowed by MATCH patterns (`--tables 'session:*'`).
Each entry carries its DUMP payload and remaining TTL (for RESTORE on the other side) and a
type-aware value (for the checksum, which must not depend on the serialisation version).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from etl.dbcopy.model import Dataset, KeyRange, Row
from etl.dbcopy.urls import DbUrl
from etl.errors import ConnectionFailure

DEFAULT_PATTERN = "*"


def connect(url: DbUrl) -> redis.Redis[bytes]:
    """A client that has answered PING, or ConnectionFailure saying why not."""
    client: redis.Redis[bytes] = redis.Redis.from_url(url.raw, socket_connect_timeout=5, socket_timeout=30)
    try:
        client.ping()
    except redis.exceptions.AuthenticationError:
        raise ConnectionFailure(
            f"cannot connect to {url.redacted}: authentication failed", fix="check the password"
        ) from None
    except redis.exceptions.RedisError as exc:
        raise ConnectionFailure(
            f"cannot connect to {url.redacted}: {exc}", fix="check that Redis is running and the URL is right"
        ) from None
    return client


def _value(client: redis.Redis[bytes], key: bytes, kind: str) -> Any:
    """A type-aware, order-independent reading of a value, for the checksum."""
    if kind == "string":
        return client.get(key)
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "set":
        return sorted(client.smembers(key))
    if kind == "zset":
        return [[member, repr(score)] for member, score in client.zrange(key, 0, -1, withscores=True)]
    if kind == "hash":
        return sorted(client.hgetall(key).items())
    if kind == "stream":
        return [[entry, sorted(fields.items())] for entry, fields in client.xrange(key)]
    return None  # modules' types: copied by DUMP all the same, compared by key and type only


def read_entries(client: redis.Redis[bytes], keys: Sequence[bytes]) -> list[Row]:
    """Key, type, value, remaining TTL (ms, -1 for none) and DUMP payload of each key still present."""
    entries: list[Row] = []
    for key in keys:
        kind = client.type(key)  # type: ignore[no-untyped-call]
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        payload = client.dump(key)
        if kind == "none" or payload is None:
            continue  # expired or deleted since SCAN returned it
        entries.append(
            {
                "key": key,
                "type": kind,
                "value": _value(client, key, kind),
                "pttl": int(client.pttl(key)),
                "dump": payload,
            }
        )
    return entries


def keys_matching(client: redis.Redis[bytes], pattern: str) -> list[bytes]:
    """Every key of a pattern (used for counts and whole-keyspace checks)."""
    return list(client.scan_iter(match=pattern, count=1000))


class RedisSource:
    """A Redis database read by SCAN cursor, pattern by pattern."""

    def __init__(self, url: DbUrl) -> None:
        self.url = url
        self.client = connect(url)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def datasets(self, include: Sequence[str], exclude: Sequence[str]) -> list[Dataset]:
        """One keyspace per MATCH pattern (all keys by default); --exclude is not meaningful here."""
        patterns = list(include) or [DEFAULT_PATTERN]
        return [
            Dataset(
                pattern,
                "keyspace",
                int(self.client.dbsize()) if pattern == DEFAULT_PATTERN else len(keys_matching(self.client, pattern)),
                ("key",),
                "SCAN cursor",
            )
            for pattern in patterns
        ]

    def plan(self, dataset: Dataset, batch_size: int) -> list[KeyRange] | None:
        """SCAN cursors do not survive as ranges: keyspaces are read by cursor."""
        return None

    def read(self, dataset: Dataset, key_range: KeyRange) -> list[Row]:
        """Keyspaces are scanned, not read by range."""
        raise NotImplementedError("keyspaces are copied by SCAN cursor")

    def scan(self, dataset: Dataset, cursor: str | None, batch_size: int) -> tuple[list[Row], str | None]:
        """About `batch_size` entries after `cursor`, and the cursor to continue from (None when done)."""
        position, keys = int(cursor or 0), list[bytes]()
        while True:
            position, found = self.client.scan(position, match=dataset.name, count=max(batch_size, 10))
            keys.extend(found)
            if position == 0 or len(keys) >= batch_size:
                break
        return read_entries(self.client, keys), (str(position) if position else None)
