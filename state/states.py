"""Item and run states, and the one table of legal item transitions.

Kept apart from the tables so that pure code (transformers, planners, tests) can reason about
states without importing the database layer.
"""

from __future__ import annotations

from enum import StrEnum


class ItemState(StrEnum):
    """Where one entity of one run stands in extract → transform → load → verify."""

    PENDING = "pending"
    EXTRACTED = "extracted"
    TRANSFORMED = "transformed"
    LOADING = "loading"
    LOADED = "loaded"
    VERIFIED = "verified"
    FAILED = "failed"
    SKIPPED = "skipped"
    ROLLED_BACK = "rolled_back"


class RunStatus(StrEnum):
    """Lifecycle of one invocation; `interrupted` is what a crash leaves behind as `running`."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    ROLLED_BACK = "rolled_back"


class ChunkState(StrEnum):
    """A byte range of a file or a key range of a table: planned, copied, checked, or broken."""

    PENDING = "pending"
    COPIED = "copied"
    VERIFIED = "verified"
    FAILED = "failed"


S = ItemState

# The whole checkpoint protocol in one place. A failed item may restart from any stage on resume:
# re-extraction (pending/extracted) or a retry of the load (transformed), never straight to loaded.
# A rollback ends an item wherever it stands (a run killed mid-write may have created its record).
LEGAL_TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    S.PENDING: frozenset({S.EXTRACTED, S.FAILED, S.SKIPPED, S.ROLLED_BACK}),
    S.EXTRACTED: frozenset({S.TRANSFORMED, S.FAILED, S.SKIPPED, S.EXTRACTED, S.ROLLED_BACK}),
    S.TRANSFORMED: frozenset({S.LOADING, S.FAILED, S.SKIPPED, S.EXTRACTED, S.ROLLED_BACK}),
    S.LOADING: frozenset({S.LOADED, S.FAILED, S.ROLLED_BACK}),
    S.LOADED: frozenset({S.VERIFIED, S.FAILED, S.ROLLED_BACK}),
    S.VERIFIED: frozenset({S.ROLLED_BACK}),
    S.FAILED: frozenset({S.PENDING, S.EXTRACTED, S.TRANSFORMED, S.SKIPPED, S.ROLLED_BACK}),
    S.SKIPPED: frozenset(),
    S.ROLLED_BACK: frozenset(),
}

DONE_STATES = frozenset({S.LOADED, S.VERIFIED, S.SKIPPED, S.ROLLED_BACK})
UNFINISHED_STATES = frozenset({S.PENDING, S.EXTRACTED, S.TRANSFORMED, S.LOADING, S.FAILED})


def is_legal(from_state: ItemState, to_state: ItemState) -> bool:
    """Tell whether the checkpoint protocol allows moving an item from one state to another."""
    return to_state in LEGAL_TRANSITIONS[from_state]


class TransferState(StrEnum):
    """A whole file, table or collection copy."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
