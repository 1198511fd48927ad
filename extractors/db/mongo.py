"""MongoDB collections as copy sources, in batches of `_id` ranges.

The client comes from a factory (pymongo.MongoClient by default) so tests can hand in an
in-process stand-in that speaks the same API; every call below is plain pymongo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pymongo
from bson import json_util
from pymongo.errors import OperationFailure, PyMongoError

from etl.dbcopy.model import Dataset, KeyRange, Row
from etl.dbcopy.urls import DbUrl
from etl.errors import ConfigError, ConnectionFailure
from extractors.db.relational import select_names

ClientFactory = Callable[[str], Any]


def default_client(url: str) -> Any:
    """A real pymongo client that gives up quickly when no server answers."""
    return pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)


def connect(url: DbUrl, factory: ClientFactory | None) -> tuple[Any, Any]:
    """The client and the database the URL names, after one ping; errors become one line."""
    client = (factory or default_client)(url.raw)
    try:
        database = client.get_default_database()
    except (ConfigError, PyMongoError, ValueError, TypeError) as exc:
        raise ConfigError(f"{url.redacted} names no database", fix="use mongodb://host/DATABASE") from exc
    try:
        database.command("ping")
    except OperationFailure as exc:
        raise ConnectionFailure(
            f"cannot connect to {url.redacted}: {exc.details or exc}", fix="check the user and password"
        ) from None
    except PyMongoError as exc:
        raise ConnectionFailure(
            f"cannot connect to {url.redacted}: {str(exc).splitlines()[0][:200]}",
            fix="check that the server is running and the URL is right",
        ) from None
    return client, database


def encode_id(value: Any) -> str:
    """An `_id` as ledger text (MongoDB extended JSON keeps ObjectIds, dates and UUIDs exact)."""
    return json_util.dumps({"v": value})


def decode_id(text: str) -> Any:
    """The `_id` a ledger text stands for."""
    return json_util.loads(text)["v"]


def id_filter(key_range: KeyRange) -> dict[str, Any]:
    """The query selecting the `_id`s of one range: (key_from, key_to]."""
    bounds: dict[str, Any] = {}
    if key_range.key_from is not None:
        bounds["$gt"] = decode_id(key_range.key_from)
    if key_range.key_to is not None:
        bounds["$lte"] = decode_id(key_range.key_to)
    return {"_id": bounds} if bounds else {}


class MongoSource:
    """A MongoDB database read collection by collection."""

    def __init__(self, url: DbUrl, client_factory: ClientFactory | None = None) -> None:
        self.url = url
        self.client, self.database = connect(url, client_factory)

    def close(self) -> None:
        """Close the client."""
        self.client.close()

    def datasets(self, include: Sequence[str], exclude: Sequence[str]) -> list[Dataset]:
        """Every chosen collection, with its indexes (recreated on the destination)."""
        names = select_names(sorted(self.database.list_collection_names()), include, exclude, "collection")
        return [
            Dataset(
                name,
                "collection",
                self.database[name].count_documents({}),
                ("_id",),
                "_id ranges",
                meta={"indexes": self.database[name].index_information()},
            )
            for name in names
        ]

    def plan(self, dataset: Dataset, batch_size: int) -> list[KeyRange] | None:
        """Ranges of `batch_size` `_id`s, read from the `_id` index in order."""
        ids = [doc["_id"] for doc in self.database[dataset.name].find({}, {"_id": 1}).sort("_id", 1)]
        bounds = [encode_id(ids[i]) for i in range(batch_size - 1, len(ids) - 1, batch_size)]
        edges: list[str | None] = [None, *bounds, None]
        return [KeyRange(seq, edges[seq], edges[seq + 1]) for seq in range(len(edges) - 1)]

    def read(self, dataset: Dataset, key_range: KeyRange) -> list[Row]:
        """The documents of one `_id` range."""
        return list(self.database[dataset.name].find(id_filter(key_range)).sort("_id", 1))

    def scan(self, dataset: Dataset, cursor: str | None, batch_size: int) -> tuple[list[Row], str | None]:
        """Collections are planned, never scanned by cursor."""
        raise NotImplementedError("collections are copied by planned _id ranges")
