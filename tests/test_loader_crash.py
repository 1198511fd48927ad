"""Crash torture: SIGKILL a real loader process inside every window of the write-ahead rule, resume, repeat.

At the end every account is in Splynx exactly once (counted by its migration marker) and every item
is `loaded` or `verified`: the invariants "no duplicate, nothing lost, ledger = destination".
"""

from __future__ import annotations

import collections
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from etl.sandbox.splynx import SplynxSimulator
from loaders.splynx import SplynxLoader
from state.ledger import Ledger
from state.states import ItemState
from tests.fixtures.loader import MARKER_MODULES, make_client, markers, start_load_run

pytestmark = pytest.mark.slow

COUNT = 200
ROOT = Path(__file__).resolve().parents[1]
WINDOWS = ["before_write", "during_post", "after_write", "after_map", "after_loaded"]


class Worker:
    """One loader subprocess whose stdout lines are read on a thread."""

    def __init__(self, sim: SplynxSimulator, ledger_url: str, run_id: int, *extra: str) -> None:
        command = [
            sys.executable,
            "-m",
            "tests.loader_torture_worker",
            "--base",
            sim.base_url,
            "--ledger",
            ledger_url,
            "--run",
            str(run_id),
            "--count",
            str(COUNT),
            *extra,
        ]
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put("EOF")

    def wait_for(self, prefix: str, timeout: float = 30.0) -> bool:
        """True once a line starting with `prefix` arrives; False if the process ended first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if line.startswith(prefix):
                return True
            if line == "EOF":
                return False
        raise AssertionError(f"worker never printed {prefix!r}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def _kill_in_window(sim: SplynxSimulator, url: str, run_id: int, window: str, rng: random.Random) -> None:
    """Start a loader and SIGKILL it inside one named window (or at a random instant)."""
    if window == "during_post":
        sim.faults.latency_s = 0.3  # the POST is in flight while we kill; the server still commits it
        worker = Worker(sim, url, run_id, "--announce", "before_write")
        reached = worker.wait_for("AT before_write")
        if reached:
            time.sleep(0.1)
    elif window == "random":
        worker = Worker(sim, url, run_id)
        time.sleep(rng.uniform(0.8, 2.5))
    else:
        worker = Worker(sim, url, run_id, "--pause", window, "--pause-after", str(rng.randint(1, 25)))
        worker.wait_for("PAUSED")
    worker.kill()
    sim.faults.latency_s = 0.0


def _torture(sim: SplynxSimulator, tmp_path: Path, seed: int, drop_rate: float) -> None:
    rng = random.Random(seed)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = Ledger.open(url)
    SplynxLoader(make_client(sim), ledger).ensure_marker_fields(MARKER_MODULES)
    run_id = start_load_run(ledger, "account", [str(n) for n in range(COUNT)])
    sim.faults.drop_rate = drop_rate
    windows = [*WINDOWS, "random", "random"]
    rng.shuffle(windows)
    for window in windows:
        _kill_in_window(sim, url, run_id, window, rng)
        twice = {m: n for m, n in collections.Counter(markers(sim)).items() if n > 1}
        assert not twice, f"duplicate after a kill in {window}: {twice}, ledger {_ledger_view(ledger, run_id, twice)}"
    final = Worker(sim, url, run_id)
    assert final.proc.wait(timeout=120) == 0
    sim.faults.reset()
    _assert_exactly_once(sim, ledger, run_id)
    ledger.close()


def _ledger_view(ledger: Ledger, run_id: int, twice: dict[str, int]) -> list[tuple[str, str, int, str | None]]:
    """What the ledger says of the duplicated items: id, state, attempts, action (a failure's evidence)."""
    ids = {m.split(":", 1)[1] for m in twice}
    return [(i.source_id, str(i.state), i.attempts, i.action) for i in ledger.items(run_id, entity="account")
            if i.source_id in ids]  # fmt: skip


def _assert_exactly_once(sim: SplynxSimulator, ledger: Ledger, run_id: int) -> None:
    counts = collections.Counter(markers(sim))
    assert counts == {f"account:{n}": 1 for n in range(COUNT)}
    states = {ItemState(i.state) for i in ledger.items(run_id, entity="account")}
    assert states <= {ItemState.LOADED, ItemState.VERIFIED}
    by_marker = {
        str(r["additional_attributes"]["sonar_id"]): str(r["id"]) for r in sim.rows("admin/customers/customer")
    }
    mapped = {f"account:{sid}": m.dest_id for sid, m in ledger.id_map("account").items()}
    assert mapped == by_marker


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_in_every_window_then_resume_leaves_each_record_exactly_once(
    splynx_sim: SplynxSimulator, tmp_path: Path, seed: int
) -> None:
    _torture(splynx_sim, tmp_path, seed, drop_rate=0.0)


def test_sigkill_torture_with_writes_dropped_after_commit(splynx_sim: SplynxSimulator, tmp_path: Path) -> None:
    _torture(splynx_sim, tmp_path, seed=7, drop_rate=0.05)
