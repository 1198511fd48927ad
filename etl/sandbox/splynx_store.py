"""SQLite persistence of the Splynx simulator: records, id sequences, nonces and access tokens.

Why one generic JSON table: every entity has the same life cycle (create, read, search, update, delete),
so one `record(entity, id, data)` table serves them all, and SQLite's json_extract lets searches run in
SQL. Ids come from a per-entity sequence that only grows, like MySQL AUTO_INCREMENT: a deleted id is never
handed out again, even after a restart, because the sequence lives in the same file.

Thread safety: the werkzeug server is threaded; one connection is shared behind a re-entrant lock, and
`transaction()` holds that lock for a whole request so check-then-write (uniqueness, references) is atomic.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS record (
    entity TEXT NOT NULL, id INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (entity, id));
CREATE TABLE IF NOT EXISTS seq (entity TEXT PRIMARY KEY, last_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS nonce (api_key TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS token (
    access_token TEXT PRIMARY KEY, refresh_token TEXT NOT NULL UNIQUE,
    access_exp REAL NOT NULL, refresh_exp REAL NOT NULL, subject TEXT NOT NULL);
-- Lookups that would otherwise scan every row (an endnet /18 alone is 16 384 ipv4-ip records):
-- a service's IP, the IPs a service holds, and the loader's search by migration marker.
CREATE INDEX IF NOT EXISTS record_ip ON record (entity, json_extract(data, '$.ip'), id);
CREATE INDEX IF NOT EXISTS record_module_item ON record (entity, json_extract(data, '$.module_item_id'), id);
CREATE INDEX IF NOT EXISTS record_marker ON record (
    entity, json_extract(data, '$.additional_attributes.sonar_id'), id);
"""


def _regexp(pattern: str, value: Any) -> bool:
    """SQLite has no REGEXP function of its own; Splynx search supports the operator."""
    return value is not None and re.search(pattern, str(value)) is not None


class SplynxStore:
    """The simulator's database: one SQLite file (or memory when no path is given)."""

    def __init__(self, db_path: Path | None) -> None:
        self.db_path = db_path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(db_path) if db_path else ":memory:", check_same_thread=False,
                                     isolation_level=None)
        self._conn.create_function("REGEXP", 2, _regexp, deterministic=True)
        if db_path:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: every commit survives a killed process (what the crash tests do);
            # only a power cut could lose the last ones. FULL would fsync every request (nonces too).
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._depth = 0
        self.closed = False

    def close(self) -> None:
        """Close the connection; the file keeps everything committed."""
        with self._lock:
            if not self.closed:
                self._conn.close()
                self.closed = True

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and one SQLite transaction: committed on success, rolled back on error.

        Nested calls join the outer transaction, so helpers can be used inside a request or alone.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def wipe(self) -> None:
        """Delete every row of every table (a fresh install follows via seeding)."""
        with self.transaction():
            for table in ("record", "seq", "nonce", "token"):
                self._conn.execute(f"DELETE FROM {table}")

    # -- records -------------------------------------------------------------------------------------

    def next_id(self, entity: str) -> int:
        """Allocate the next id of `entity`; never reuses one, as MySQL AUTO_INCREMENT."""
        return self.next_ids(entity, 1)[0]

    def last_id(self, entity: str) -> int:
        """The last id ever allocated to `entity` (0 when none was): whether it was ever seeded or written."""
        with self.transaction():
            row = self._conn.execute("SELECT last_id FROM seq WHERE entity = ?", (entity,)).fetchone()
            return int(row[0]) if row else 0

    def next_ids(self, entity: str, count: int) -> range:
        """Allocate `count` consecutive ids of `entity` at once (an endnet's thousands of IP records)."""
        with self.transaction():
            row = self._conn.execute("SELECT last_id FROM seq WHERE entity = ?", (entity,)).fetchone()
            first = (row[0] if row else 0) + 1
            self._conn.execute("INSERT OR REPLACE INTO seq (entity, last_id) VALUES (?, ?)",
                               (entity, first + count - 1))
            return range(int(first), int(first) + count)

    def put(self, entity: str, record_id: int, data: dict[str, Any]) -> None:
        """Insert or replace one record."""
        with self.transaction():
            self._conn.execute("INSERT OR REPLACE INTO record (entity, id, data) VALUES (?, ?, ?)",
                               (entity, record_id, json.dumps(data)))

    def put_many(self, entity: str, records: Sequence[dict[str, Any]]) -> None:
        """Insert or replace many records (each with its `id`) in one statement."""
        with self.transaction():
            self._conn.executemany("INSERT OR REPLACE INTO record (entity, id, data) VALUES (?, ?, ?)",
                                   [(entity, r["id"], json.dumps(r)) for r in records])

    def delete(self, entity: str, record_id: int) -> None:
        """Delete one record (its id stays burnt)."""
        with self.transaction():
            self._conn.execute("DELETE FROM record WHERE entity = ? AND id = ?", (entity, record_id))

    def get(self, entity: str, record_id: int) -> dict[str, Any] | None:
        """One record, or None."""
        with self._lock:
            row = self._conn.execute("SELECT data FROM record WHERE entity = ? AND id = ?",
                                     (entity, record_id)).fetchone()
        return json.loads(row[0]) if row else None

    def select(self, entity: str, where: str = "", params: Sequence[Any] = (), order: str = "id ASC",
               limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Records matching an SQL condition over `data` (built by splynx_query), in order, paginated."""
        sql = f"SELECT data FROM record WHERE entity = ? {'AND (' + where + ')' if where else ''} ORDER BY {order}"
        args: list[Any] = [entity, *params]
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            args += [-1 if limit is None else limit, offset]
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, entity: str, where: str = "", params: Sequence[Any] = ()) -> int:
        """How many records match the condition."""
        sql = f"SELECT COUNT(*) FROM record WHERE entity = ? {'AND (' + where + ')' if where else ''}"
        with self._lock:
            return int(self._conn.execute(sql, [entity, *params]).fetchone()[0])

    # -- nonces and tokens ---------------------------------------------------------------------------

    def advance_nonce(self, api_key: str, nonce: int) -> bool:
        """Record `nonce` for the key if it is greater than every nonce seen before; say whether it was."""
        with self.transaction():
            row = self._conn.execute("SELECT last FROM nonce WHERE api_key = ?", (api_key,)).fetchone()
            if row and nonce <= row[0]:
                return False
            self._conn.execute("INSERT OR REPLACE INTO nonce (api_key, last) VALUES (?, ?)", (api_key, nonce))
            return True

    def save_token(self, access: str, refresh: str, access_exp: float, refresh_exp: float, subject: str) -> None:
        """Store an issued token pair."""
        with self.transaction():
            self._conn.execute("INSERT INTO token VALUES (?, ?, ?, ?, ?)",
                               (access, refresh, access_exp, refresh_exp, subject))

    def token(self, column: str, value: str) -> dict[str, Any] | None:
        """A token row found by its access_token or refresh_token."""
        if column not in ("access_token", "refresh_token"):
            raise ValueError(column)
        with self._lock:
            row = self._conn.execute(
                f"SELECT access_token, refresh_token, access_exp, refresh_exp, subject FROM token "
                f"WHERE {column} = ?", (value,)).fetchone()
        if row is None:
            return None
        return dict(zip(("access_token", "refresh_token", "access_exp", "refresh_exp", "subject"), row,
                        strict=True))

    def drop_token(self, refresh: str) -> bool:
        """Forget a token pair (logout); say whether it existed."""
        with self.transaction():
            return self._conn.execute("DELETE FROM token WHERE refresh_token = ?", (refresh,)).rowcount > 0
