"""`etl rollback RUN`: delete from Splynx exactly what one run created, children first.

Why only what it created: a run also updates records that existed before it, and records it
merely skipped; deleting those would destroy data the run did not bring. The ledger's `action`
of each item (create, adopt, update, skip) says which is which. A put-only write (an item's customer)
has no record of its own to delete: when its target declares an `undo` body, it is PUT back to that
(the item unassigned, an IP record free again; each follow-up write of the same target too) in the same
reverse order, so the customer it pointed at can then be deleted.
Each delete is checkpointed (item → `rolled_back` and its id map entry removed, in one transaction),
so an interrupted or killed rollback resumes where it stopped: a record deleted just before the kill
answers 404 the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from etl.errors import ConfigError, EtlError, RecordError, RunFailed
from etl.phases import rollback_order
from etl.progress import ProgressReporter
from etl.runlock import Heartbeat
from etl.staging import read_records
from loaders.splynx import SplynxLoader
from loaders.splynx_targets import target
from state.ledger import Ledger
from state.models import Item
from state.states import ItemState, RunStatus
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.registry import TARGETS, transform_record
from transformers.validation import SkipRecord

ENDED = (ItemState.ROLLED_BACK, ItemState.SKIPPED)


@dataclass
class RollbackOutcome:
    """What a rollback did."""

    run_id: int
    rollback_run_id: int
    deleted: int
    already_gone: int
    undone: int = 0


def created_items(ledger: Ledger, run_id: int, entity: str) -> list[Item]:
    """Items whose Splynx record this run created, wherever they stand, not rolled back yet.

    "Created" is the ledger's `action = create`, written ahead of the first POST and kept by every
    later attempt of the run (a PUT on the id it mapped, the adoption of its own unanswered POST), so
    an item killed anywhere between its POST and `verified` is still found here. An `adopt` (a record
    that was in Splynx before the run, found by its marker) is never deleted.
    """
    items = ledger.items(run_id, entity=entity)
    return [i for i in items if i.action == "create" and i.attempts > 0 and i.state not in ENDED]


def undoable_items(ledger: Ledger, run_id: int, entity: str) -> list[Item]:
    """Put-only writes of this run to take back: its `update`s of a target that declares an undo body.

    Why `update` on a put-only target only: such a write never created anything (rollback deletes
    nothing for it), yet it may hold a record to one the rollback deletes (an item to its customer).
    An update of a record that existed before the run is otherwise left as the run wrote it.
    """
    if target(TARGETS[entity]).undo is None:
        return []
    items = ledger.items(run_id, entity=entity)
    return [i for i in items if i.action == "update" and i.attempts > 0 and i.state not in ENDED]


def _payloads(
    ledger: Ledger, staging_dir: Path, run_id: int, entity: str, items: list[Item], context: TransformContext
) -> dict[str, SplynxPayload]:
    """The payload of each item, derived as the load derived it: by transforming the staged record again.

    It gives nested records their path parameters (a service under its customer) and, for an item
    killed before its id was recorded, the marker to find it by.
    """
    payloads = {}
    ids = [i.source_id for i in items]
    overrides = ledger.all_overrides(entity, ids)  # as loaded: a record fixed by `etl fix` transforms only so
    for record, _ in read_records(staging_dir, run_id, entity, ids=ids):
        try:
            payloads[str(record["id"])] = transform_record(entity, record, context, overrides.get(str(record["id"])))
        except (RecordError, SkipRecord):
            continue
    return payloads


def _dest_of(
    ledger: Ledger, loader: SplynxLoader, run_id: int, item: Item, payload: SplynxPayload | None
) -> str | None:
    """Where the item's record is in Splynx: its own checkpoint, the id map entry the run made, or its marker."""
    if item.dest_id:
        return item.dest_id
    mapping = ledger.mapping(item.entity, item.source_id)
    if mapping is not None and mapping.first_run_id == run_id:
        return mapping.dest_id
    if payload is None or not target(payload.target).params() <= set(payload.parent):
        return None  # its parent is not in Splynx (never created, or already gone), so neither is it
    return loader.find_by_marker(payload)


def rollback(
    ledger: Ledger,
    loader: SplynxLoader,
    staging_dir: Path,
    run_id: int,
    progress: ProgressReporter,
    context: TransformContext,
) -> RollbackOutcome:
    """Delete what `run_id` created, in reverse dependency order; resumable after any failure or kill."""
    run = ledger.get_run(run_id)
    if run.kind != "migrate":
        raise ConfigError(f"run {run_id} is a {run.kind} run; only migrations can be rolled back", fix="see `etl runs`")
    rollback_run = ledger.start_run("rollback", options={"target_run": run_id}, parent_run_id=run_id)
    walk = _Walk(ledger, loader, staging_dir, run_id, progress, context, rollback_run)
    deleted = gone = undone = 0
    try:
        with Heartbeat(ledger, rollback_run):
            for entity in rollback_order():
                put_back, missing = _undo_entity(walk, entity)
                undone, gone = undone + put_back, gone + missing
                done, missing = _rollback_entity(walk, entity)
                deleted, gone = deleted + done, gone + missing
    except RecordError as exc:
        message = f"rollback of run {run_id} stopped: {exc.message}"
        ledger.finish_run(rollback_run, RunStatus.FAILED, message)
        fix = f"remove what depends on it in Splynx (or roll back later runs first), then `etl rollback {run_id}` again"
        raise RunFailed(message, fix=fix) from exc
    except BaseException as exc:  # Splynx unreachable or refusing, Ctrl-C: closed, and resumable
        detail = exc.one_line() if isinstance(exc, EtlError) else f"{type(exc).__name__}: {exc}"
        status = RunStatus.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
        ledger.finish_run(rollback_run, status, f"rollback of run {run_id} stopped: {detail}")
        raise
    summary = f"deleted {deleted}, already gone {gone}" + (f", put back {undone}" if undone else "")
    ledger.finish_run(rollback_run, RunStatus.SUCCEEDED, summary)
    ledger.finish_run(run_id, RunStatus.ROLLED_BACK, f"rolled back by run {rollback_run}")
    return RollbackOutcome(run_id, rollback_run, deleted, gone, undone)


ItemAction = Callable[[Item, SplynxPayload | None], tuple[bool, str | None, str]]
"""One item's rollback step: (done now, its Splynx id, what happened, for the ledger)."""


@dataclass(frozen=True)
class _Walk:
    """One rollback's fixed inputs, and the per-item walk its deletes and put-backs share."""

    ledger: Ledger
    loader: SplynxLoader
    staging_dir: Path
    run_id: int
    progress: ProgressReporter
    context: TransformContext
    rollback_run: int

    def each(self, entity: str, items: list[Item], label: str, act: ItemAction) -> tuple[int, int]:
        """Apply `act` to each item with its re-derived payload; each outcome checkpointed (item + id map)."""
        if not items:
            return 0, 0
        payloads = _payloads(self.ledger, self.staging_dir, self.run_id, entity, items, self.context)
        done = gone = 0
        self.progress.start(entity, f"{label} {entity}", len(items))
        for item in items:
            acted, dest_id, what = act(item, payloads.get(item.source_id))
            done, gone = done + acted, gone + (not acted)
            detail = f"{what} by rollback run {self.rollback_run}"
            self.ledger.rolled_back(self.run_id, entity, item.source_id, dest_id, detail)
            self.progress.advance(entity)
        self.progress.finish(entity)
        return done, gone


def _rollback_entity(walk: _Walk, entity: str) -> tuple[int, int]:
    """Delete one entity's created records; each delete checkpointed (item + id map) in one transaction."""

    def delete(item: Item, payload: SplynxPayload | None) -> tuple[bool, str | None, str]:
        dest_id = _dest_of(walk.ledger, walk.loader, walk.run_id, item, payload)
        parent = dict(payload.parent) if payload else {}
        where = payload.target if payload else TARGETS[entity]  # a supernet may be an IPv4 or an IPv6 network
        _undo_extras(walk, payload)  # a service's extra IPs, freed before the service goes
        removed = dest_id is not None and walk.loader.delete(where, dest_id, parent)
        return removed, dest_id, f"Splynx record {dest_id} deleted" if removed else "nothing left in Splynx"

    return walk.each(entity, created_items(walk.ledger, walk.run_id, entity), "delete", delete)


def _undo_entity(walk: _Walk, entity: str) -> tuple[int, int]:
    """PUT one entity's put-only writes back to their target's undo body; each checkpointed like a delete."""
    tgt = target(TARGETS[entity])

    def put_back(item: Item, payload: SplynxPayload | None) -> tuple[bool, str | None, str]:
        parent = dict(payload.parent) if payload else _parent_of(tgt.params(), item.dest_id)
        undone = parent is not None and walk.loader.undo(tgt.key, parent)
        _undo_extras(walk, payload)  # the other addresses of an IP block
        return undone, item.dest_id, f"Splynx {tgt.key} {item.dest_id} put back" if undone else "nothing left in Splynx"

    return walk.each(entity, undoable_items(walk.ledger, walk.run_id, entity), "undo", put_back)


def _parent_of(params: set[str], dest_id: str | None) -> dict[str, str] | None:
    """A put-only record's path from its checkpointed id (the last path segment) when one parameter makes it."""
    if dest_id is None or len(params) != 1:
        return None
    return {next(iter(params)): dest_id}


def _undo_extras(walk: _Walk, payload: SplynxPayload | None) -> None:
    """PUT back each follow-up write whose target declares an undo body and whose path it names itself.

    Why only those: a follow-up keyed on its record (a customer's billing) goes with the record; one
    with a path of its own (an IP record an IP block or a service marked used) outlives it in Splynx.
    """
    for extra in payload.extras if payload else ():
        tgt = target(extra.target)
        if tgt.undo is not None and tgt.params() <= set(extra.parent):
            walk.loader.undo(extra.target, dict(extra.parent))
