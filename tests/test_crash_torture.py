"""`etl run` as a real process, SIGKILLed again and again at random moments, then resumed.

The simulators run in the test process (Splynx on a persistent SQLite file), the migration in a
child process that is killed with SIGKILL more than twenty times over a 500-customer run, at moments
drawn from several seeds, and resumed with `etl resume` each time. Whatever instant the kill hit
(extracting, between a POST and its checkpoint, during a customer's follow-up PUTs), the end state
must be: every selected record in Splynx exactly once, with the right references, and a ledger
that agrees with Splynx record for record.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time

from state.states import RunStatus
from tests.fixtures.pipeline import (
    CUSTOMERS,
    Sandbox,
    SandboxFactory,
    entity_markers,
    run_ids,
    run_status_events,
    splynx_markers,
)

CRASH_CUSTOMERS = 500
SEEDS = (7, 1234, 99)
KILLS_PER_SEED = 7
# Counted from the moment the child holds the workspace lock. The run itself starts after preflight (both
# systems checked, Splynx's taxes read, the additional-field definitions of every module we write ensured:
# about a second at this latency), and the test counts the kills that hit a running run: start after it.
KILL_AFTER_LOCK_S = (1.0, 3.2)
LOCK_TIMEOUT_S = 20
FINISH_TIMEOUT_S = 150
SPLYNX_LATENCY_S = 0.03


def start(box: Sandbox) -> subprocess.Popen[bytes]:
    """`etl run --all --continue-on-error`, or `etl resume` once a run exists in the ledger."""
    with box.ledger() as ledger:
        started = bool(run_ids(ledger))
    if started:
        return box.spawn("resume", "--workers", "4")
    return box.spawn("run", "--all", "--continue-on-error", "--workers", "4")


def wait_for_lock(box: Sandbox, process: subprocess.Popen[bytes]) -> None:
    """Wait until the child holds the migration lock: from then on it is migrating, not importing.

    Timing kills from the lock rather than from the spawn keeps them inside the run however slow
    the interpreter starts on a busy machine.
    """
    lock = box.home / "migrate.lock"
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip() == f"pid {process.pid}":
            return
        time.sleep(0.02)


def kill_after(box: Sandbox, process: subprocess.Popen[bytes], delay_s: float) -> bool:
    """SIGKILL the process `delay_s` after it took the lock, unless it finished first; True if killed."""
    wait_for_lock(box, process)
    try:
        process.wait(timeout=delay_s)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


def assert_no_duplicates(box: Sandbox) -> None:
    """At any instant, whatever the process managed to write exists at most once."""
    duplicates = {m: n for m, n in splynx_markers(box.splynx).items() if n > 1}
    assert not duplicates, f"duplicates after a kill: {duplicates}"


def test_sigkill_at_random_moments_then_resume_leaves_every_record_exactly_once(
    make_sandbox: SandboxFactory,
) -> None:
    box = make_sandbox(customers=CRASH_CUSTOMERS)
    # Every Splynx answer takes a little while, so the run outlasts the kills however fast the machine is.
    box.splynx.faults.latency_s = SPLYNX_LATENCY_S
    box.fix_planted_problems()
    kills = 0
    began = time.monotonic()
    for seed in SEEDS:
        rng = random.Random(seed)
        for _ in range(KILLS_PER_SEED):
            if kill_after(box, start(box), rng.uniform(*KILL_AFTER_LOCK_S)):
                kills += 1
                assert_no_duplicates(box)
    assert kills >= 20, f"only {kills} kills landed: the run finished too early"

    finisher = start(box)
    assert finisher.wait(timeout=FINISH_TIMEOUT_S) == 0, finisher.stderr.read().decode() if finisher.stderr else ""

    with box.ledger() as ledger:
        (run_id,) = run_ids(ledger)
        assert ledger.get_run(run_id).status == RunStatus.SUCCEEDED
        crash_restarts = run_status_events(ledger, run_id).count(RunStatus.RUNNING)
        assert crash_restarts >= 15  # the kills hit a live run, which was resumed, not redone from scratch
    visible = {str(i) for i, a in box.sonar.store.tables["accounts"].items() if a.get("archived_at") is None}
    assert set(entity_markers(box.splynx, "account")) == visible
    assert len(box.splynx.rows(CUSTOMERS)) == len(visible)
    box.check()
    assert time.monotonic() - began < 240

