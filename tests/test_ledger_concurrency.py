"""Two real processes checkpointing different items of one run at once lose nothing.

SQLite serialises writers with `BEGIN IMMEDIATE` and a busy timeout (WAL lets readers go on);
PostgreSQL locks the item row with `SELECT … FOR UPDATE`. Either way, every move of every item
must land exactly once, with exactly one event, and neither process may see an error.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from state.ledger import EVENT, Ledger
from state.states import ItemState

ROOT = Path(__file__).resolve().parents[1]
ITEMS_PER_WORKER = 30
PATH = ["extracted", "transformed", "loading", "loaded", "verified"]

# Each worker adds its own items, then walks them all through the protocol stage by stage, so the
# two processes interleave writes to the same tables (and on SQLite, the same file) the whole time.
WORKER = """
import os, sys, time
from state.ledger import Ledger
url, run_id, prefix, count, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
ledger = Ledger.open(url, upgrade=False)
ids = [f"{prefix}-{i}" for i in range(count)]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.002)
ledger.add_items(run_id, "customer", [(sid, "h-" + sid) for sid in ids])
for state in sys.argv[6].split(","):
    for sid in ids:
        ledger.move(run_id, "customer", sid, state, request={"id": sid} if state == "loading" else None,
                    dest_id=("d-" + sid) if state == "loaded" else None)
        if state == "loaded":
            ledger.map("customer", sid, "d-" + sid, run_id=run_id)
ledger.close()
print("done", len(ids))
"""


def _start(url: str, run_id: int, prefix: str, go: Path) -> subprocess.Popen[str]:
    args = [url, str(run_id), prefix, str(ITEMS_PER_WORKER), str(go), ",".join(PATH)]
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_moving_different_items_lose_no_update(ledger: Ledger, tmp_path: Path) -> None:
    run_id = ledger.start_run("migrate")
    go = tmp_path / "go"
    workers = {prefix: _start(ledger.url, run_id, prefix, go) for prefix in ("a", "b")}
    try:
        for proc in workers.values():  # both have imported and connected: now start them together
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        go.touch()
        outputs = {prefix: proc.communicate(timeout=120) for prefix, proc in workers.items()}
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    for prefix, (out, err) in outputs.items():
        assert workers[prefix].returncode == 0, f"worker {prefix} failed: {err}"
        assert out.strip() == f"done {ITEMS_PER_WORKER}"
        assert "Traceback" not in err and "locked" not in err

    total = 2 * ITEMS_PER_WORKER
    items = ledger.items(run_id)
    assert len(items) == total
    assert {i.state for i in items} == {ItemState.VERIFIED}
    assert all(i.attempts == 1 and i.dest_id == f"d-{i.source_id}" for i in items)
    assert ledger.counts(run_id) == {"customer": {"verified": total}}
    assert len(ledger.id_map("customer")) == total

    with ledger.reader.connect() as conn:
        per_item: dict[str, int] = dict(
            conn.execute(
                select(EVENT.c.source_id, func.count())
                .where(EVENT.c.run_id == run_id, EVENT.c.source_id.is_not(None))
                .group_by(EVENT.c.source_id)
            ).all()
        )
        spans = {
            prefix: conn.execute(
                select(func.min(EVENT.c.id), func.max(EVENT.c.id)).where(
                    EVENT.c.run_id == run_id, EVENT.c.source_id.like(f"{prefix}-%")
                )
            ).one()
            for prefix in workers
        }
    assert per_item == {i.source_id: 1 + len(PATH) for i in items}  # one add + one per move, exactly
    (a_first, a_last), (b_first, b_last) = spans["a"], spans["b"]
    assert a_first < b_last and b_first < a_last, "the two workers did not actually overlap"
