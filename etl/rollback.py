"""`etl rollback RUN`: delete from Splynx exactly what one run created, children first.

Why only what it created: a run also updates records that existed before it, and records it
merely skipped; deleting those would destroy data the run did not bring. The ledger's `action`
of each item (create, adopt, update, skip) says which is which. Each delete is checkpointed
(item → `rolled_back`, id map entry removed), so an interrupted rollback resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from etl.errors import ConfigError, EtlError, RecordError, RunFailed
from etl.phases import rollback_order
from etl.progress import ProgressReporter
from etl.staging import read_records
from loaders.splynx import SplynxLoader
from state.ledger import Ledger
from state.models import Item
from state.states import ItemState, RunStatus
from transformers.context import TransformContext
from transformers.registry import TARGETS, transform_record
from transformers.validation import SkipRecord

CREATED = ("create", "adopt")


@dataclass
class RollbackOutcome:
    """What a rollback did."""

    run_id: int
    rollback_run_id: int
    deleted: int
    already_gone: int


def created_items(ledger: Ledger, run_id: int, entity: str) -> list[Item]:
    """Items of a run whose Splynx record that run created (and has not rolled back yet)."""
    items = ledger.items(run_id, state=[ItemState.LOADED, ItemState.VERIFIED], entity=entity)
    return [i for i in items if i.action in CREATED and i.dest_id]


def _parents(
    ledger: Ledger, staging_dir: Path, run_id: int, entity: str, items: list[Item], context: TransformContext
) -> dict[str, dict[str, str]]:
    """Path parameters of nested records (a service under its customer, a field under its module).

    They are derived as the load derived them: by transforming the staged record again.
    """
    parents = {}
    for record, _ in read_records(staging_dir, run_id, entity, ids=[i.source_id for i in items]):
        try:
            parents[str(record["id"])] = dict(transform_record(entity, record, context).parent)
        except (RecordError, SkipRecord):
            continue
    return parents


def rollback(
    ledger: Ledger,
    loader: SplynxLoader,
    staging_dir: Path,
    run_id: int,
    progress: ProgressReporter,
    context: TransformContext,
) -> RollbackOutcome:
    """Delete what `run_id` created, in reverse dependency order; resumable after any failure."""
    run = ledger.get_run(run_id)
    if run.kind != "migrate":
        raise ConfigError(f"run {run_id} is a {run.kind} run; only migrations can be rolled back", fix="see `etl runs`")
    rollback_run = ledger.start_run("rollback", options={"target_run": run_id}, parent_run_id=run_id)
    deleted = gone = 0
    try:
        for entity in rollback_order():
            items = created_items(ledger, run_id, entity)
            if not items:
                continue
            parents = _parents(ledger, staging_dir, run_id, entity, items, context)
            progress.start(entity, f"delete {entity}", len(items))
            for item in items:
                removed = loader.delete(TARGETS[entity], item.dest_id or "", parents.get(item.source_id, {}))
                deleted, gone = deleted + removed, gone + (not removed)
                ledger.move(run_id, entity, item.source_id, ItemState.ROLLED_BACK,
                            detail=f"Splynx record {item.dest_id} deleted by rollback run {rollback_run}")  # fmt: skip
                ledger.unmap(entity, item.source_id)
                progress.advance(entity)
            progress.finish(entity)
    except RecordError as exc:
        message = f"rollback of run {run_id} stopped: {exc.message}"
        ledger.finish_run(rollback_run, RunStatus.FAILED, message)
        raise RunFailed(
            message, fix=f"remove what depends on it in Splynx, then `etl rollback {run_id}` again"
        ) from exc
    except BaseException as exc:  # Splynx unreachable or refusing, Ctrl-C: closed, and resumable
        detail = exc.one_line() if isinstance(exc, EtlError) else f"{type(exc).__name__}: {exc}"
        status = RunStatus.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
        ledger.finish_run(rollback_run, status, f"rollback of run {run_id} stopped: {detail}")
        raise
    ledger.finish_run(rollback_run, RunStatus.SUCCEEDED, f"deleted {deleted}, already gone {gone}")
    ledger.finish_run(run_id, RunStatus.ROLLED_BACK, f"rolled back by run {rollback_run}")
    return RollbackOutcome(run_id, rollback_run, deleted, gone)
