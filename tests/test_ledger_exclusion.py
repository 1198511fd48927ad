"""One ledger, one writer: exclusion lives in the ledger itself, not in a workspace folder.

Two workspaces (or machines) pointed at one ledger must not migrate at once: the second would find
the first one's fresh creations in Splynx, record them as its own adoptions, and a rollback of it
would delete the other's customers. The lock is a PostgreSQL advisory lock or a `flock` beside the
SQLite file; both die with their process, so a killed run never blocks the next one.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from state import migrate
from state.ledger import Ledger
from state.states import RunStatus
from tests.fixtures.ledger import BACKENDS, backend_url
from tests.fixtures.pipeline import Sandbox, SandboxFactory, marker_of, splynx_markers

LATENCY_S = 0.08


@pytest.fixture(params=BACKENDS)
def shared_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty ledger (SQLite file outside both workspaces, or a fresh PostgreSQL schema)."""
    with backend_url(request.param, tmp_path / "shared") as url:
        (tmp_path / "shared").mkdir(exist_ok=True)
        yield url


def second_workspace(box: Sandbox) -> Sandbox:
    """Another workspace on the same simulators and the same ledger."""
    return Sandbox(box.pair, box.home.parent / "other-home", box.ledger_url)


def wait_until_migrating(box: Sandbox, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not any(marker_of(r) for r in box.splynx.rows("admin/customers/customer")):
        assert process.poll() is None and time.monotonic() < deadline, "the first run never started loading"
        time.sleep(0.01)


def test_a_second_workspace_on_the_same_ledger_is_refused_while_the_first_runs(
    make_sandbox: SandboxFactory, shared_ledger: str
) -> None:
    first = make_sandbox(customers=20, ledger_url=shared_ledger)
    first.fix_planted_problems()
    other = second_workspace(first)
    first.splynx.faults.latency_s = LATENCY_S
    running = first.spawn("run", "--all", "--workers", "2")
    wait_until_migrating(first, running)

    refused = other.etl("run", "--all", code=2)

    assert "another migration is using ledger" in refused.output and "run 1 migrate" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    refused_rollback = other.etl("rollback", "1", "--yes", code=2)
    assert "another migration or rollback is using ledger" in refused_rollback.output
    first.splynx.faults.latency_s = 0
    assert running.wait(timeout=120) == 0, running.stderr.read().decode() if running.stderr else ""

    before = splynx_markers(first.splynx)
    other.etl("run", "--all")  # after the first: everything is unchanged, nothing adopted
    with other.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.SUCCEEDED
        assert {i.action for i in ledger.items(2)} == {"skip"}
    assert "nothing left to roll back" in other.etl("rollback", "2", "--yes").output
    assert splynx_markers(first.splynx) == before
    first.check()


def test_a_killed_holder_never_blocks_the_next_run_and_its_run_resumes_where_it_was_staged(
    make_sandbox: SandboxFactory, shared_ledger: str
) -> None:
    first = make_sandbox(customers=20, ledger_url=shared_ledger)
    first.etl("init")
    first.splynx.faults.latency_s = LATENCY_S
    running = first.spawn("run", "--all", "--continue-on-error", "--workers", "2")
    wait_until_migrating(first, running)
    running.send_signal(signal.SIGKILL)
    running.wait()
    first.splynx.faults.latency_s = 0

    other = second_workspace(first)
    refused = other.etl("resume", "1", code=2)  # the lock is free, but run 1's staging is elsewhere
    assert "run 1 was staged in " in refused.output and str(first.home.resolve()) in refused.output
    first.etl("resume", "1", code=1)  # the planted bad records fail it, as they fail a clean run

    with first.ledger() as ledger:
        run = ledger.get_run(1)
        assert run.status == RunStatus.FAILED and "first failure: account 4" in (run.message or "")
    first.check()


def test_two_inits_at_once_on_a_fresh_ledger_both_succeed(make_sandbox: SandboxFactory, shared_ledger: str) -> None:
    box = make_sandbox(customers=1, ledger_url=shared_ledger)
    other = second_workspace(box)
    inits = [box.spawn("init"), other.spawn("init"), box.spawn("init")]
    errors = [p.communicate(timeout=120)[1].decode() for p in inits]
    assert [p.returncode for p in inits] == [0, 0, 0], errors
    ledger = Ledger.open(shared_ledger, upgrade=False)
    try:
        assert ledger.revision() == migrate.head_revision()
    finally:
        ledger.close()
