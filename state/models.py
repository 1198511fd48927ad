"""The ledger's tables (SQLModel). Alembic owns their creation: see `state/migrations/`.

Why these seven: `run` and `item` are the checkpoint of each invocation, `id_map` the permanent
Sonar→Splynx identity, `override` the user's local fixes, `transfer`/`chunk` file and table copies
at byte- or key-range granularity, and `event` the append-only audit trail of every transition.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timestamps are timezone-aware UTC, so SQLite and PostgreSQL ledgers read back the same instant."""
    return datetime.now(UTC)


class Run(SQLModel, table=True):
    """One invocation of a command that changes something (run, resume, extract, copy, rollback)."""

    __tablename__ = "run"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    status: str = Field(max_length=16, index=True)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    owner: str | None = Field(default=None, max_length=128)  # "host pid N" of the process running it
    parent_run_id: int | None = Field(default=None, foreign_key="run.id")
    selection: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    options: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    counts: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    message: str | None = Field(default=None, sa_column=Column(Text))


class Item(SQLModel, table=True):
    """One entity in one run, and where it stands in the checkpoint protocol."""

    __tablename__ = "item"
    __table_args__ = (
        UniqueConstraint("run_id", "entity", "source_id", name="uq_item_run_entity_source"),
        Index("ix_item_run_state", "run_id", "state"),
        Index("ix_item_entity_source", "entity", "source_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    entity: str = Field(max_length=64)
    source_id: str = Field(max_length=128)
    phase: str = Field(default="", max_length=32)
    state: str = Field(max_length=16)
    attempts: int = Field(default=0)
    source_hash: str | None = Field(default=None, max_length=64)
    dest_id: str | None = Field(default=None, max_length=128)
    action: str | None = Field(default=None, max_length=16)
    request: str | None = Field(default=None, sa_column=Column(Text))
    error_code: str | None = Field(default=None, max_length=64)
    error_field: str | None = Field(default=None, max_length=128)
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    fix_hint: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class IdMap(SQLModel, table=True):
    """Every Sonar record ever migrated and its Splynx id, for all time and across runs."""

    __tablename__ = "id_map"
    __table_args__ = (UniqueConstraint("entity", "source_id", name="uq_id_map_entity_source"),)

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=64)
    source_id: str = Field(max_length=128)
    dest_id: str = Field(max_length=128)
    source_hash: str | None = Field(default=None, max_length=64)
    dest_hash: str | None = Field(default=None, max_length=64)
    first_run_id: int | None = Field(default=None, foreign_key="run.id")
    last_run_id: int | None = Field(default=None, foreign_key="run.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Override(SQLModel, table=True):
    """A local fix of one source record, applied on top of what Sonar returns."""

    __tablename__ = "override"
    __table_args__ = (Index("ix_override_entity_source", "entity", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=64)
    source_id: str = Field(max_length=128)
    patch: str = Field(sa_column=Column(Text, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)


class Transfer(SQLModel, table=True):
    """One file, table or collection being copied; its chunks are the resume points."""

    __tablename__ = "transfer"
    __table_args__ = (Index("ix_transfer_identity", "source", "destination", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="run.id")
    kind: str = Field(max_length=16)
    source: str = Field(sa_column=Column(Text, nullable=False))
    destination: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    size: int | None = None
    fingerprint: str | None = Field(default=None, max_length=128)
    state: str = Field(max_length=16)
    sha256: str | None = Field(default=None, max_length=64)
    meta: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Chunk(SQLModel, table=True):
    """A byte range of a file or a key range of a table, checkpointed once copied and verified."""

    __tablename__ = "chunk"
    __table_args__ = (
        UniqueConstraint("transfer_id", "seq", name="uq_chunk_transfer_seq"),
        Index("ix_chunk_transfer_state", "transfer_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    transfer_id: int = Field(foreign_key="transfer.id")
    seq: int
    offset: int = Field(default=0)
    length: int = Field(default=0)
    key_from: str | None = Field(default=None, sa_column=Column(Text))
    key_to: str | None = Field(default=None, sa_column=Column(Text))
    rows: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    state: str = Field(max_length=16)
    attempts: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow)


class Event(SQLModel, table=True):
    """Append-only audit: every state change, written in the same transaction as the change."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_run", "run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    run_id: int | None = Field(default=None, foreign_key="run.id")
    entity: str | None = Field(default=None, max_length=64)
    source_id: str | None = Field(default=None, max_length=128)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str | None = Field(default=None, max_length=16)
    detail: str | None = Field(default=None, sa_column=Column(Text))
