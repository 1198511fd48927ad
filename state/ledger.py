"""The checkpoint API: the only way the pipeline, loaders and copiers touch the ledger.

Why an API instead of SQL at each call site: the checkpoint protocol (legal transitions, an event
row in the same transaction as every change, one short transaction per step) must hold everywhere,
so it is written once, here. Each public method is one transaction: a crash loses at most the
step in flight, never half of one.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from etl.errors import ConfigError, IllegalTransition, LedgerError, RecordProblem
from state import migrate
from state.db import create_ledger_engine, redact_url, sqlite_file, translate_ledger_errors
from state.lock import MIGRATION_LOCK, LedgerLock
from state.models import Chunk, Event, IdMap, Item, Override, Run, Transfer, utcnow
from state.states import ChunkState, ItemState, RunStatus, TransferState, is_legal

RUN: Table = Run.__table__  # type: ignore[attr-defined]
ITEM: Table = Item.__table__  # type: ignore[attr-defined]
ID_MAP: Table = IdMap.__table__  # type: ignore[attr-defined]
OVERRIDE: Table = Override.__table__  # type: ignore[attr-defined]
TRANSFER: Table = Transfer.__table__  # type: ignore[attr-defined]
CHUNK: Table = Chunk.__table__  # type: ignore[attr-defined]
EVENT: Table = Event.__table__  # type: ignore[attr-defined]

CLEARED_ERROR = {"error_code": None, "error_field": None, "error_message": None, "fix_hint": None}


@dataclass(frozen=True)
class ChunkPlan:
    """A planned byte range (files) or key range (tables) of a transfer."""

    seq: int
    offset: int = 0
    length: int = 0
    key_from: str | None = None
    key_to: str | None = None


def owner_tag() -> str:
    """Who runs a run: this host and process, so `etl runs` and a refused second run can say who."""
    return f"{socket.gethostname()} pid {os.getpid()}"[:128]


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _immediate_transactions(engine: Engine) -> None:
    """Make SQLite write transactions take the write lock up front, so they wait instead of failing."""

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Ledger:
    """A handle on one ledger database (SQLite or PostgreSQL); safe to share between threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.safe_url = redact_url(url)
        self.reader = create_ledger_engine(url)
        if self.reader.dialect.name == "sqlite":
            self.writer = create_ledger_engine(url)
            _immediate_transactions(self.writer)
        else:
            self.writer = self.reader
        self._insert = sqlite.insert if self.reader.dialect.name == "sqlite" else postgresql.insert
        for engine in {self.reader, self.writer}:
            translate_ledger_errors(engine, self.safe_url)
        self.path = sqlite_file(url) if self.reader.dialect.name == "sqlite" else None
        self._identity: tuple[int, int] | None = None

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Ledger:
        """Open a ledger, bringing its schema to head (or refusing, with `upgrade=False`)."""
        ledger = cls(url)
        try:
            ledger._bring_to_head(upgrade)
        except OperationalError as exc:
            ledger.close()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ConfigError(
                f"cannot open ledger {ledger.safe_url}: {reason}",
                fix="check --ledger / ETL_LEDGER_URL and that the database is running",
            ) from exc
        except BaseException:
            ledger.close()
            raise
        return ledger

    def _bring_to_head(self, upgrade: bool) -> None:
        """Migrate to head, or say why not: uninitialised, older (without `upgrade`), or newer than us.

        Two processes opening a fresh ledger at once (two `etl init`) take turns on a lock of the
        ledger's own, and the second finds the schema already at head.
        """
        if migrate.current_revision(self.reader) == migrate.head_revision():
            self._remember_identity()
            return
        if not upgrade:
            self._upgrade_locked(upgrade)  # refuses: uninitialised, older or newer
            return
        lock = LedgerLock(self.writer, self.url, MIGRATION_LOCK)
        if not lock.acquire(wait_s=120):
            raise LedgerError(f"ledger {self.safe_url} is being upgraded by another process", fix="try again")
        try:
            self._upgrade_locked(upgrade)
        finally:
            lock.release()
        self._remember_identity()

    def _upgrade_locked(self, upgrade: bool) -> None:
        revision = migrate.current_revision(self.reader)
        head = migrate.head_revision()
        if revision == head:
            return
        if revision is not None and not migrate.is_known(revision):
            raise LedgerError(
                f"ledger {self.safe_url} is at schema {revision}, newer than this etl knows (head {head})",
                fix="use the etl version that wrote this ledger, or a newer one",
            )
        if not upgrade:
            state = "is not initialised" if revision is None else f"is at schema {revision}, not {head}"
            raise LedgerError(f"ledger {self.safe_url} {state}", fix="run `etl init`")
        migrate.upgrade(self.writer)

    def _remember_identity(self) -> None:
        """Note which file the ledger is, so a ledger deleted or replaced mid-run is noticed."""
        if self.path is not None and self.path.exists():
            found = self.path.stat()
            self._identity = (found.st_dev, found.st_ino)

    def check_present(self) -> None:
        """Raise LedgerError if the SQLite ledger file was deleted or replaced since it was opened.

        Why: SQLite keeps writing to a deleted file's inode without complaint, so every checkpoint
        after a deletion would vanish with the process.
        """
        if self.path is None or self._identity is None:
            return
        try:
            found = self.path.stat()
        except FileNotFoundError:
            found = None
        if found is None or (found.st_dev, found.st_ino) != self._identity:
            what = "deleted" if found is None else "replaced"
            raise LedgerError(
                f"ledger {self.safe_url} was {what} while this process was using it; nothing more is written to it",
                fix="restore the ledger file from a backup and `etl resume`; a new ledger (`etl init`) "
                "adopts what is already in Splynx through the migration markers",
            )

    def lock(self) -> LedgerLock:
        """The ledger's exclusive run lock (not yet taken): one migration or rollback at a time."""
        return LedgerLock(self.writer, self.url)

    def close(self) -> None:
        """Release every pooled connection."""
        self.reader.dispose()
        self.writer.dispose()

    def revision(self) -> str | None:
        """The Alembic revision the ledger is at."""
        return migrate.current_revision(self.reader)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        self.check_present()
        try:
            with self.writer.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise LedgerError(f"ledger write failed: {exc.orig}", fix="check the ledger database") from exc

    def _event(self, conn: Connection, run_id: int | None, **fields: Any) -> None:
        conn.execute(insert(EVENT).values(at=utcnow(), run_id=run_id, **fields))

    # --- runs -------------------------------------------------------------------------------

    def start_run(
        self,
        kind: str,
        *,
        selection: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        parent_run_id: int | None = None,
    ) -> int:
        """Open a run in state `running` and return its id."""
        now = utcnow()
        with self._write() as conn:
            run_id = conn.execute(
                insert(RUN).values(
                    kind=kind,
                    status=RunStatus.RUNNING,
                    started_at=now,
                    heartbeat_at=now,
                    owner=owner_tag(),
                    parent_run_id=parent_run_id,
                    selection=_json(selection or {}),
                    options=_json(options or {}),
                    counts="{}",
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self._event(conn, run_id, to_state=RunStatus.RUNNING, detail=f"{kind} started")
        return int(run_id)

    def finish_run(self, run_id: int, status: RunStatus, message: str | None = None) -> None:
        """Close a run with its final status and a snapshot of its item counts."""
        counts = self.counts(run_id)
        with self._write() as conn:
            conn.execute(
                update(RUN)
                .where(RUN.c.id == run_id)
                .values(status=status, finished_at=utcnow(), counts=_json(counts), message=message)
            )
            self._event(conn, run_id, to_state=status, detail=message)

    def heartbeat(self, run_id: int) -> None:
        """Record that the run's process is alive, so a stale `running` can be told from a live one."""
        with self._write() as conn:
            conn.execute(update(RUN).where(RUN.c.id == run_id).values(heartbeat_at=utcnow()))

    def set_run_status(self, run_id: int, status: RunStatus) -> None:
        """Reopen or relabel a run (resume reopens a failed run as running, owned by this process)."""
        values: dict[str, Any] = {"status": status, "finished_at": None}
        if status == RunStatus.RUNNING:
            values.update(owner=owner_tag(), heartbeat_at=utcnow())
        with self._write() as conn:
            conn.execute(update(RUN).where(RUN.c.id == run_id).values(**values))
            self._event(conn, run_id, to_state=status, detail="status changed")

    def mark_interrupted(self, run_id: int, reason: str) -> bool:
        """Relabel a `running` run whose process is gone as `interrupted`; False if it was not running."""
        with self._write() as conn:
            changed = conn.execute(
                update(RUN)
                .where(RUN.c.id == run_id, RUN.c.status == RunStatus.RUNNING)
                .values(status=RunStatus.INTERRUPTED, finished_at=utcnow(), message=reason)
            ).rowcount
            if changed:
                self._event(conn, run_id, to_state=RunStatus.INTERRUPTED, detail=reason)
        return bool(changed)

    def get_run(self, run_id: int) -> Run:
        """Fetch a run, or raise ConfigError naming the unknown id."""
        with self.reader.connect() as conn:
            row = conn.execute(select(RUN).where(RUN.c.id == run_id)).mappings().one_or_none()
        if row is None:
            raise ConfigError(f"run {run_id} does not exist in {self.safe_url}", fix="see `etl runs`")
        return Run.model_validate(dict(row))

    def runs(self, kind: str | None = None, limit: int = 50) -> list[Run]:
        """Newest runs first, optionally of one kind."""
        query = select(RUN).order_by(RUN.c.id.desc()).limit(limit)
        if kind:
            query = query.where(RUN.c.kind == kind)
        with self.reader.connect() as conn:
            return [Run.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    def latest_run(self, kind: str | None = None, statuses: Iterable[str] | None = None) -> Run | None:
        """The newest run of a kind (and status), or None."""
        query = select(RUN).order_by(RUN.c.id.desc()).limit(1)
        if kind:
            query = query.where(RUN.c.kind == kind)
        if statuses is not None:
            query = query.where(RUN.c.status.in_(list(statuses)))
        with self.reader.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
        return Run.model_validate(dict(row)) if row else None

    def event(self, run_id: int | None, detail: str, entity: str | None = None, source_id: str | None = None) -> None:
        """Append a free-form audit line (a phase started, a rollback deleted a record...)."""
        with self._write() as conn:
            self._event(conn, run_id, entity=entity, source_id=source_id, detail=detail)

    # --- items ------------------------------------------------------------------------------

    def add_items(
        self,
        run_id: int,
        entity: str,
        records: Iterable[tuple[str, str | None]],
        *,
        state: ItemState = ItemState.PENDING,
        phase: str = "",
    ) -> int:
        """Register entities in a run; ids already in the run are left alone. Returns how many were new."""
        wanted = {str(source_id): source_hash for source_id, source_hash in records}
        if not wanted:
            return 0
        now = utcnow()
        with self._write() as conn:
            existing = set(
                conn.execute(
                    select(ITEM.c.source_id).where(
                        ITEM.c.run_id == run_id, ITEM.c.entity == entity, ITEM.c.source_id.in_(list(wanted))
                    )
                ).scalars()
            )
            new = [(sid, h) for sid, h in wanted.items() if sid not in existing]
            if not new:
                return 0
            rows = [
                dict(run_id=run_id, entity=entity, source_id=sid, phase=phase, state=state, attempts=0,
                     source_hash=h, created_at=now, updated_at=now)
                for sid, h in new
            ]  # fmt: skip
            # Another process may add the same ids between the SELECT and here (PostgreSQL, several
            # workers): such rows are theirs, so they are ignored rather than failing the batch.
            stmt = self._insert(ITEM).on_conflict_do_nothing(index_elements=["run_id", "entity", "source_id"])
            inserted = {r[0] for r in conn.execute(stmt.returning(ITEM.c.source_id), rows)}
            new = [(sid, h) for sid, h in new if sid in inserted]
            if new:
                conn.execute(
                    insert(EVENT),
                    [dict(at=now, run_id=run_id, entity=entity, source_id=sid, to_state=state) for sid, _ in new],
                )
        return len(new)

    def move(
        self,
        run_id: int,
        entity: str,
        source_id: str,
        to: ItemState,
        *,
        dest_id: str | None = None,
        request: Any = None,
        action: str | None = None,
        source_hash: str | None = None,
        detail: str | None = None,
    ) -> Item:
        """Move one item to a new state, or raise IllegalTransition; writes its event in the same txn."""
        values: dict[str, Any] = {"state": to, "updated_at": utcnow()}
        if dest_id is not None:
            values["dest_id"] = str(dest_id)
        if request is not None:
            values["request"] = _json(request)
        if action is not None:
            values["action"] = action
        if source_hash is not None:
            values["source_hash"] = source_hash
        if to in (ItemState.LOADED, ItemState.VERIFIED, ItemState.SKIPPED, ItemState.EXTRACTED):
            values.update(CLEARED_ERROR)
        return self._transition(run_id, entity, str(source_id), to, values, detail)

    def fail(self, run_id: int, entity: str, source_id: str, problem: RecordProblem) -> Item:
        """Mark an item failed with the field, value, error and fix the user will be shown."""
        values = {
            "state": ItemState.FAILED,
            "updated_at": utcnow(),
            "error_code": problem.code,
            "error_field": problem.field,
            "error_message": problem.message,
            "fix_hint": problem.fix,
        }
        return self._transition(run_id, entity, str(source_id), ItemState.FAILED, values, problem.message)

    def _transition(
        self,
        run_id: int,
        entity: str,
        source_id: str,
        to: ItemState,
        values: dict[str, Any],
        detail: str | None,
        also: Callable[[Connection], None] | None = None,
    ) -> Item:
        key = (ITEM.c.run_id == run_id, ITEM.c.entity == entity, ITEM.c.source_id == source_id)
        with self._write() as conn:
            row = conn.execute(select(ITEM).where(*key).with_for_update()).mappings().one_or_none()
            if row is None:
                raise LedgerError(f"{entity} {source_id} is not an item of run {run_id}")
            current = ItemState(row["state"])
            if not is_legal(current, to):
                raise IllegalTransition(f"{entity} {source_id}: {current} → {to} is not a legal transition")
            if to == ItemState.LOADING:
                values["attempts"] = row["attempts"] + 1
            conn.execute(update(ITEM).where(ITEM.c.id == row["id"]).values(**values))
            if also is not None:
                also(conn)
            self._event(
                conn,
                run_id,
                entity=entity,
                source_id=source_id,
                from_state=current,
                to_state=to,
                detail=detail,
            )
        return Item.model_validate({**dict(row), **values})

    def item(self, run_id: int, entity: str, source_id: str) -> Item | None:
        """One item of a run, or None."""
        query = select(ITEM).where(ITEM.c.run_id == run_id, ITEM.c.entity == entity, ITEM.c.source_id == str(source_id))
        with self.reader.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
        return Item.model_validate(dict(row)) if row else None

    def items(
        self,
        run_id: int,
        state: ItemState | Iterable[ItemState] | None = None,
        entity: str | None = None,
    ) -> list[Item]:
        """Items of a run in insertion order, filtered by state(s) and entity."""
        query = select(ITEM).where(ITEM.c.run_id == run_id).order_by(ITEM.c.id)
        if isinstance(state, ItemState):
            query = query.where(ITEM.c.state == state)
        elif state is not None:
            query = query.where(ITEM.c.state.in_([str(s) for s in state]))
        if entity:
            query = query.where(ITEM.c.entity == entity)
        with self.reader.connect() as conn:
            return [Item.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    def items_by_ids(self, run_id: int, entity: str, source_ids: Iterable[str]) -> list[Item]:
        """Some items of one entity in a run, by Sonar id (a batch, not the whole run)."""
        wanted = [str(i) for i in source_ids]
        query = select(ITEM).where(ITEM.c.run_id == run_id, ITEM.c.entity == entity, ITEM.c.source_id.in_(wanted))
        with self.reader.connect() as conn:
            return [Item.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    def counts(self, run_id: int) -> dict[str, dict[str, int]]:
        """How many items of each entity are in each state."""
        query = (
            select(ITEM.c.entity, ITEM.c.state, func.count())
            .where(ITEM.c.run_id == run_id)
            .group_by(ITEM.c.entity, ITEM.c.state)
        )
        result: dict[str, dict[str, int]] = {}
        with self.reader.connect() as conn:
            for entity, state, n in conn.execute(query):
                result.setdefault(entity, {})[state] = int(n)
        return result

    def skip_reasons(self, run_id: int) -> dict[str, dict[str, int]]:
        """Entity -> reason -> how many of the run's items are skipped for it (the `skipped` event's detail).

        Why from the events: the reason is written with the move to `skipped`, in its transaction; only
        items still skipped count, each once under its latest reason.
        """
        skipped = (
            select(EVENT.c.entity, EVENT.c.source_id, func.max(EVENT.c.id).label("last"))
            .where(EVENT.c.run_id == run_id, EVENT.c.to_state == ItemState.SKIPPED)
            .group_by(EVENT.c.entity, EVENT.c.source_id)
            .subquery()
        )
        query = (
            select(EVENT.c.entity, EVENT.c.detail, func.count())
            .join(skipped, EVENT.c.id == skipped.c.last)
            .join(
                ITEM,
                and_(ITEM.c.run_id == run_id, ITEM.c.entity == EVENT.c.entity, ITEM.c.source_id == EVENT.c.source_id),
            )
            .where(ITEM.c.state == ItemState.SKIPPED)
            .group_by(EVENT.c.entity, EVENT.c.detail)
        )
        result: dict[str, dict[str, int]] = {}
        with self.reader.connect() as conn:
            for entity, detail, n in conn.execute(query):
                result.setdefault(entity, {})[detail or "(no reason recorded)"] = int(n)
        return result

    def item_states(self, run_id: int, entity: str) -> dict[str, str]:
        """Sonar id → state of one entity's items: the light view a 100 000-item run needs."""
        query = select(ITEM.c.source_id, ITEM.c.state).where(ITEM.c.run_id == run_id, ITEM.c.entity == entity)
        with self.reader.connect() as conn:
            return {source_id: state for source_id, state in conn.execute(query)}

    def known(self, entity: str, source_id: str) -> bool:
        """Whether any run has seen this record (to warn about an override of a mistyped id)."""
        query = select(ITEM.c.id).where(ITEM.c.entity == entity, ITEM.c.source_id == str(source_id)).limit(1)
        with self.reader.connect() as conn:
            return conn.execute(query).first() is not None

    def attempted(self, run_id: int, entity: str) -> set[str]:
        """Sonar ids of an entity's items that have been sent to Splynx at least once in a run."""
        query = select(ITEM.c.source_id).where(ITEM.c.run_id == run_id, ITEM.c.entity == entity, ITEM.c.attempts > 0)
        with self.reader.connect() as conn:
            return set(conn.execute(query).scalars())

    def mark_complete(self, run_id: int, entity: str, step: str) -> None:
        """Record that a step (e.g. `extract`) finished for every record of an entity in a run."""
        with self._write() as conn:
            self._event(conn, run_id, entity=entity, to_state=f"{step}:complete", detail=f"{step} complete")

    def completed(self, run_id: int, step: str) -> set[str]:
        """Entities for which a step finished in a run (what a resume need not redo)."""
        query = select(EVENT.c.entity).where(EVENT.c.run_id == run_id, EVENT.c.to_state == f"{step}:complete")
        with self.reader.connect() as conn:
            return {entity for entity in conn.execute(query).scalars() if entity}

    # --- id map -----------------------------------------------------------------------------

    def mapped(self, entity: str) -> dict[str, tuple[str, str | None]]:
        """Sonar id → (Splynx id, source hash) of one entity: the light view for skip decisions."""
        query = select(ID_MAP.c.source_id, ID_MAP.c.dest_id, ID_MAP.c.source_hash).where(ID_MAP.c.entity == entity)
        with self.reader.connect() as conn:
            return {source_id: (dest_id, source_hash) for source_id, dest_id, source_hash in conn.execute(query)}

    def last_mapping_run(self, entities: Iterable[str]) -> int | None:
        """The latest run that wrote a record of these entities to Splynx (None: Splynx holds none of them)."""
        query = select(func.max(ID_MAP.c.last_run_id)).where(ID_MAP.c.entity.in_(list(entities)))
        with self.reader.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
        return None if found is None else int(found)

    def dest_id(self, entity: str, source_id: str) -> str | None:
        """The Splynx id a Sonar record was migrated to, or None."""
        query = select(ID_MAP.c.dest_id).where(ID_MAP.c.entity == entity, ID_MAP.c.source_id == str(source_id))
        with self.reader.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def dest_ids(self, entity: str, source_ids: Iterable[str]) -> dict[str, str]:
        """Splynx ids of some Sonar records (those not migrated are absent)."""
        wanted = [str(i) for i in source_ids]
        query = select(ID_MAP.c.source_id, ID_MAP.c.dest_id).where(
            ID_MAP.c.entity == entity, ID_MAP.c.source_id.in_(wanted)
        )
        with self.reader.connect() as conn:
            return {source_id: dest_id for source_id, dest_id in conn.execute(query)}

    def id_map(self, entity: str) -> dict[str, IdMap]:
        """Every mapping of one entity, keyed by Sonar id."""
        with self.reader.connect() as conn:
            rows = conn.execute(select(ID_MAP).where(ID_MAP.c.entity == entity)).mappings()
            return {r["source_id"]: IdMap.model_validate(dict(r)) for r in rows}

    def map(
        self,
        entity: str,
        source_id: str,
        dest_id: str,
        *,
        run_id: int | None,
        source_hash: str | None = None,
        dest_hash: str | None = None,
    ) -> None:
        """Record (or refresh) where a Sonar record lives in Splynx.

        The loader calls it right after Splynx answered a write, before the follow-up writes, with no
        hash: an entry without a hash is "in Splynx, content not confirmed", which a later run never
        skips as unchanged. The hash is set by `complete` when the item is done.
        """
        with self._write() as conn:
            self._map(conn, entity, str(source_id), str(dest_id), run_id, source_hash, dest_hash)

    def _map(
        self,
        conn: Connection,
        entity: str,
        source_id: str,
        dest_id: str,
        run_id: int | None,
        source_hash: str | None,
        dest_hash: str | None = None,
    ) -> None:
        now = utcnow()
        stmt = self._insert(ID_MAP).values(
            entity=entity,
            source_id=source_id,
            dest_id=dest_id,
            source_hash=source_hash,
            dest_hash=dest_hash,
            first_run_id=run_id,
            last_run_id=run_id,
            created_at=now,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["entity", "source_id"],
            set_={
                "dest_id": dest_id,
                "source_hash": source_hash,
                "dest_hash": dest_hash,
                "last_run_id": run_id,
                "updated_at": now,
            },
        )
        conn.execute(stmt)

    def complete(
        self,
        run_id: int,
        entity: str,
        source_id: str,
        to: ItemState,
        *,
        dest_id: str,
        source_hash: str | None,
        action: str | None = None,
        detail: str | None = None,
    ) -> Item:
        """Finish an item (loaded or verified) and confirm its id-map entry with the hash, in one transaction.

        Why together: a crash between the two would leave either a finished item whose record a later
        run re-sends for nothing, or (worse, the old way round) a confirmed hash for a record whose
        follow-up writes never happened, which a later run would skip as unchanged.
        """
        values: dict[str, Any] = {"state": to, "updated_at": utcnow(), "dest_id": str(dest_id), **CLEARED_ERROR}
        if action is not None:
            values["action"] = action

        def confirm(conn: Connection) -> None:
            self._map(conn, entity, source_id, str(dest_id), run_id, source_hash)

        return self._transition(run_id, entity, str(source_id), to, values, detail, also=confirm)

    def rolled_back(self, run_id: int, entity: str, source_id: str, dest_id: str | None, detail: str) -> Item:
        """Mark an item rolled back and forget its id-map entry (if it still points there), atomically.

        Why atomic: a rollback killed between the two steps would leave a mapping to a deleted record,
        and the next run would skip the record as unchanged while Splynx no longer has it.
        """
        values: dict[str, Any] = {"state": ItemState.ROLLED_BACK, "updated_at": utcnow()}

        def forget(conn: Connection) -> None:
            where = [ID_MAP.c.entity == entity, ID_MAP.c.source_id == str(source_id)]
            if dest_id is not None:
                where.append(ID_MAP.c.dest_id == str(dest_id))
            conn.execute(ID_MAP.delete().where(*where))

        return self._transition(run_id, entity, str(source_id), ItemState.ROLLED_BACK, values, detail, also=forget)

    def mapping(self, entity: str, source_id: str) -> IdMap | None:
        """The id-map entry of one record, or None."""
        query = select(ID_MAP).where(ID_MAP.c.entity == entity, ID_MAP.c.source_id == str(source_id))
        with self.reader.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
        return IdMap.model_validate(dict(row)) if row else None

    def unmap(self, entity: str, source_id: str) -> None:
        """Forget a mapping (after a rollback deleted the Splynx record)."""
        with self._write() as conn:
            conn.execute(ID_MAP.delete().where(ID_MAP.c.entity == entity, ID_MAP.c.source_id == str(source_id)))

    # --- overrides --------------------------------------------------------------------------

    def add_override(self, entity: str, source_id: str, patch: Mapping[str, Any], reason: str | None = None) -> int:
        """Record a local fix of a source record; later overrides win over earlier ones."""
        with self._write() as conn:
            override_id = conn.execute(
                insert(OVERRIDE).values(
                    entity=entity,
                    source_id=str(source_id),
                    patch=_json(dict(patch)),
                    reason=reason,
                    active=True,
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self._event(
                conn,
                None,
                entity=entity,
                source_id=str(source_id),
                detail=f"override {_json(dict(patch))}" + (f" ({reason})" if reason else ""),
            )
        return int(override_id)

    def overrides(self, entity: str, source_id: str) -> dict[str, Any]:
        """The merged patch of every active override of one record."""
        return self.all_overrides(entity, [str(source_id)]).get(str(source_id), {})

    def all_overrides(self, entity: str, source_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Merged patches of an entity's records, oldest override first so the newest wins."""
        query = (
            select(OVERRIDE.c.source_id, OVERRIDE.c.patch)
            .where(OVERRIDE.c.entity == entity, OVERRIDE.c.active.is_(True))
            .order_by(OVERRIDE.c.id)
        )
        if source_ids is not None:
            query = query.where(OVERRIDE.c.source_id.in_(list(source_ids)))
        merged: dict[str, dict[str, Any]] = {}
        with self.reader.connect() as conn:
            for source_id, patch in conn.execute(query):
                merged.setdefault(source_id, {}).update(json.loads(patch))
        return merged

    # --- transfers and chunks ---------------------------------------------------------------

    def open_transfer(
        self,
        *,
        run_id: int | None,
        kind: str,
        source: str,
        destination: str,
        name: str,
        size: int | None = None,
        fingerprint: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Transfer:
        """Resume the newest transfer of the same thing (same fingerprint) or start a new one.

        A transfer already `done` is returned as it is: the caller sees there is nothing to copy.
        """
        identity = (
            TRANSFER.c.source == source,
            TRANSFER.c.destination == destination,
            TRANSFER.c.name == name,
            TRANSFER.c.fingerprint.is_(None) if fingerprint is None else TRANSFER.c.fingerprint == fingerprint,
        )
        now = utcnow()
        with self._write() as conn:
            row = (
                conn.execute(select(TRANSFER).where(*identity).order_by(TRANSFER.c.id.desc()).limit(1))
                .mappings()
                .one_or_none()
            )
            if row is not None and row["state"] != TransferState.FAILED:
                if row["state"] == TransferState.RUNNING and run_id is not None:
                    conn.execute(update(TRANSFER).where(TRANSFER.c.id == row["id"]).values(run_id=run_id))
                return Transfer.model_validate(dict(row))
            values = dict(
                run_id=run_id,
                kind=kind,
                source=source,
                destination=destination,
                name=name,
                size=size,
                fingerprint=fingerprint,
                state=TransferState.RUNNING,
                meta=_json(dict(meta or {})),
                created_at=now,
                updated_at=now,
            )
            transfer_id = conn.execute(insert(TRANSFER).values(**values)).inserted_primary_key[0]  # type: ignore[index]
            if row is not None:  # a failed transfer's verified chunks are still good: carry them over
                self._carry_chunks(conn, row["id"], transfer_id)
        return Transfer.model_validate({**values, "id": transfer_id})

    def _carry_chunks(self, conn: Connection, old_id: int, new_id: int) -> None:
        rows = conn.execute(
            select(CHUNK).where(CHUNK.c.transfer_id == old_id, CHUNK.c.state == ChunkState.VERIFIED)
        ).mappings()
        carried = [{**{k: v for k, v in r.items() if k != "id"}, "transfer_id": new_id} for r in rows]
        if carried:
            conn.execute(insert(CHUNK), carried)

    def get_transfer(self, transfer_id: int) -> Transfer:
        """One transfer by id."""
        with self.reader.connect() as conn:
            row = conn.execute(select(TRANSFER).where(TRANSFER.c.id == transfer_id)).mappings().one()
        return Transfer.model_validate(dict(row))

    def transfers(self, run_id: int | None = None) -> list[Transfer]:
        """Transfers, of one run or all."""
        query = select(TRANSFER).order_by(TRANSFER.c.id)
        if run_id is not None:
            query = query.where(TRANSFER.c.run_id == run_id)
        with self.reader.connect() as conn:
            return [Transfer.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    def plan_chunks(self, transfer_id: int, plans: Iterable[ChunkPlan]) -> None:
        """Register the chunks a transfer will copy; chunks already planned keep their state."""
        rows = [
            dict(
                transfer_id=transfer_id,
                seq=p.seq,
                offset=p.offset,
                length=p.length,
                key_from=p.key_from,
                key_to=p.key_to,
                state=ChunkState.PENDING,
                attempts=0,
                updated_at=utcnow(),
            )
            for p in plans
        ]
        if not rows:
            return
        stmt = self._insert(CHUNK).on_conflict_do_nothing(index_elements=["transfer_id", "seq"])
        with self._write() as conn:
            conn.execute(stmt, rows)

    def record_chunk(
        self,
        transfer_id: int,
        seq: int,
        *,
        state: ChunkState = ChunkState.VERIFIED,
        sha256: str | None = None,
        rows: int | None = None,
        offset: int | None = None,
        length: int | None = None,
        key_from: str | None = None,
        key_to: str | None = None,
    ) -> None:
        """Checkpoint one chunk (upsert), in its own short transaction."""
        given = dict(sha256=sha256, rows=rows, offset=offset, length=length, key_from=key_from, key_to=key_to)
        changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        changes.update(state=state, updated_at=utcnow())
        stmt = self._insert(CHUNK).values(
            transfer_id=transfer_id,
            seq=seq,
            attempts=1,
            **{"offset": 0, "length": 0, **changes},
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["transfer_id", "seq"], set_={**changes, "attempts": CHUNK.c.attempts + 1}
        )
        with self._write() as conn:
            conn.execute(stmt)

    def chunks(self, transfer_id: int, state: ChunkState | None = None) -> list[Chunk]:
        """A transfer's chunks in order."""
        query = select(CHUNK).where(CHUNK.c.transfer_id == transfer_id).order_by(CHUNK.c.seq)
        if state is not None:
            query = query.where(CHUNK.c.state == state)
        with self.reader.connect() as conn:
            return [Chunk.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    def verified_seqs(self, transfer_id: int) -> set[int]:
        """Sequence numbers of the chunks a resumed copy must not copy again."""
        query = select(CHUNK.c.seq).where(CHUNK.c.transfer_id == transfer_id, CHUNK.c.state == ChunkState.VERIFIED)
        with self.reader.connect() as conn:
            return set(conn.execute(query).scalars())

    def finish_transfer(
        self, transfer_id: int, state: TransferState, sha256: str | None = None, error: str | None = None
    ) -> None:
        """Close a transfer as done (with its whole-file checksum) or failed (with why)."""
        with self._write() as conn:
            conn.execute(
                update(TRANSFER)
                .where(TRANSFER.c.id == transfer_id)
                .values(state=state, sha256=sha256, error_message=error, updated_at=utcnow())
            )


__all__ = ["ChunkPlan", "Ledger"]
