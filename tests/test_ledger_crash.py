"""`kill -9` at any instant leaves a ledger whose every item is in one legal, fully written state.

A real process checkpoints random legal moves in a loop and is SIGKILLed at random moments; a
new process continues on the same ledger and is killed again. After each kill the ledger must
open, and the item table and the event log must agree: the event is written in the same
transaction as the move, so a crash can lose the step in flight but never half of it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from state.ledger import EVENT, ITEM, Ledger
from state.models import Event
from state.states import LEGAL_TRANSITIONS, ItemState

ROOT = Path(__file__).resolve().parents[1]
KILLS = 4

# Random legal moves, with what each step carries (the write-ahead request on `loading`, the
# Splynx id on `loaded`, the problem on `failed`), adding new items when few are left to move.
WORKER = """
import random, sys
from etl.errors import RecordProblem
from state.ledger import Ledger
from state.states import LEGAL_TRANSITIONS, ItemState
url, run_id, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
ledger = Ledger.open(url, upgrade=False)
movable = [s for s, targets in LEGAL_TRANSITIONS.items() if targets]
batch = 0
print("ready", flush=True)
while True:
    items = ledger.items(run_id, state=movable)
    if len(items) < 8:
        batch += 1
        ledger.add_items(run_id, "customer", [(f"{seed}-{batch}-{i}", f"h{i}") for i in range(12)])
        continue
    item = rng.choice(items)
    target = rng.choice(sorted(LEGAL_TRANSITIONS[ItemState(item.state)]))
    if target == ItemState.FAILED:
        ledger.fail(run_id, "customer", item.source_id, RecordProblem("bad", "bad record", fix="fix it"))
        continue
    ledger.move(run_id, "customer", item.source_id, target,
                request={"seq": rng.random()} if target == ItemState.LOADING else None,
                dest_id=f"d-{item.source_id}" if target == ItemState.LOADED else None)
    if target == ItemState.LOADED:
        ledger.map("customer", item.source_id, f"d-{item.source_id}", run_id=run_id)
"""


def _event_count(ledger: Ledger, run_id: int) -> int:
    with ledger.reader.connect() as conn:
        return int(conn.execute(select(func.count()).where(EVENT.c.run_id == run_id)).scalar_one())


def _run_and_kill(url: str, run_id: int, seed: int, rng: random.Random) -> str:
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(run_id), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        try:
            proc.wait(timeout=rng.uniform(0.3, 1.2))  # let it checkpoint for a random while
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the worker died on its own: {err}"
    return err


def check_invariants(url: str, run_id: int) -> int:
    """Open the ledger after a crash and prove items and events agree; return how many items."""
    ledger = Ledger.open(url, upgrade=False)
    try:
        if ledger.reader.dialect.name == "sqlite":
            with ledger.reader.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        items = ledger.items(run_id)
        keys = [(i.entity, i.source_id) for i in items]
        assert len(keys) == len(set(keys)), "an item appears twice"
        with ledger.reader.connect() as conn:
            rows = conn.execute(select(EVENT).where(EVENT.c.run_id == run_id).order_by(EVENT.c.id)).mappings()
            events = [Event.model_validate(dict(r)) for r in rows]
            item_ids = set(conn.execute(select(ITEM.c.source_id).where(ITEM.c.run_id == run_id)).scalars())
        by_item: dict[str, list[Event]] = {}
        for event in events:
            if event.source_id is not None:
                by_item.setdefault(event.source_id, []).append(event)
        assert set(by_item) == item_ids, "an event without its item, or an item without its events"
        for item in items:
            state = ItemState(item.state)  # exactly one, known state
            history = by_item[item.source_id]
            assert (history[0].from_state, history[0].to_state) == (None, ItemState.PENDING)
            for before, after in pairwise(history):
                assert after.from_state == before.to_state
                assert ItemState(str(after.to_state)) in LEGAL_TRANSITIONS[ItemState(str(after.from_state))]
            assert history[-1].to_state == state, f"{item.source_id}: last event ≠ state"
            entered_loading = sum(e.to_state == ItemState.LOADING for e in history)
            assert item.attempts == entered_loading
            if state == ItemState.LOADING:
                assert item.request and "seq" in json.loads(item.request), "loading without its request"
            if state in (ItemState.LOADED, ItemState.VERIFIED):
                assert item.dest_id == f"d-{item.source_id}", "loaded without its Splynx id"
            if state == ItemState.FAILED:
                assert (item.error_code, item.fix_hint) == ("bad", "fix it"), "failed without its problem"
        for source_id, mapping in ledger.id_map("customer").items():
            assert source_id in item_ids and mapping.dest_id == f"d-{source_id}"
        return len(items)
    finally:
        ledger.close()


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_every_item_in_one_legal_fully_written_state(ledger: Ledger) -> None:
    run_id = ledger.start_run("migrate")
    rng = random.Random(20261124)
    progress = [_event_count(ledger, run_id)]
    for seed in range(KILLS):
        _run_and_kill(ledger.url, run_id, seed, rng)
        assert check_invariants(ledger.url, run_id) > 0
        progress.append(_event_count(ledger, run_id))
    assert all(after > before for before, after in pairwise(progress)), (
        f"a worker made no progress before it was killed: {progress}"
    )
