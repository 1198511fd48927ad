"""Kill a migration or a rollback as an operator would meet it, then do what an operator would do next.

Each test kills a real `etl` process with SIGKILL (or lets it die) inside one window, then types
the next command a real operator might: `etl resume`, a new `etl run`, `etl rollback`. Whatever
they choose, Splynx must end exactly as a clean run leaves it (every entity, compared without ids:
`tests/fixtures/snapshot.py`), or, after rolling back every run, hold none of the migrated records.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from etl.sandbox.faultproxy import kill
from state.states import ItemState, RunStatus
from tests.fixtures.faults import ProxiedSandbox, ProxiedSandboxFactory
from tests.fixtures.ledger import postgres_schema
from tests.fixtures.pipeline import CUSTOMERS, Sandbox, SandboxFactory, marker_of, run_ids, splynx_markers
from tests.fixtures.snapshot import content_diff, splynx_content

WINDOW_CUSTOMERS = 12
LATENCY_S = 0.02
WAIT_S = 60


def prepared(
    make_sandbox: Callable[..., Sandbox], customers: int = WINDOW_CUSTOMERS, ledger_url: str | None = None
) -> Sandbox:
    """A sandbox whose planted bad records are fixed by overrides, so a clean run succeeds."""
    box = make_sandbox(customers=customers, ledger_url=ledger_url)
    box.fix_planted_problems()
    return box


_CLEAN: dict[int, dict[str, list[str]]] = {}


def clean_content(make_sandbox: SandboxFactory, customers: int = WINDOW_CUSTOMERS) -> dict[str, list[str]]:
    """What Splynx holds after one uninterrupted `etl run --all` of the same (seeded) Sonar."""
    if customers not in _CLEAN:
        box = prepared(make_sandbox, customers)
        box.etl("run", "--all")
        _CLEAN[customers] = splynx_content(box.splynx)
    return _CLEAN[customers]


def assert_like_clean_run(box: Sandbox, clean: dict[str, list[str]]) -> None:
    """Splynx holds what a clean run leaves, and the ledger agrees with it record for record."""
    diff = content_diff(splynx_content(box.splynx), clean)
    assert not diff, diff
    box.check()


def kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    """SIGKILL the process as soon as `ready()` holds (polled); fail if it ended or never got there."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert process.poll() is None, f"etl ended before the window: {process.stderr.read() if process.stderr else ''}"
        assert time.monotonic() < deadline, "the window never came"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()


def migrated_customers(box: Sandbox) -> int:
    return sum(1 for row in box.splynx.rows(CUSTOMERS) if marker_of(row))


def run_statuses(box: Sandbox) -> dict[int, str]:
    """Run id → status, as `etl runs --json` shows them."""
    shown = json.loads(box.etl("runs", "--json").stdout)
    return {int(r["id"]): r["status"] for r in shown}


def test_a_killed_run_shows_as_interrupted_and_a_new_run_finishes_it_first(make_sandbox: SandboxFactory) -> None:
    clean = clean_content(make_sandbox)
    box = prepared(make_sandbox)
    box.splynx.faults.latency_s = LATENCY_S
    kill_when(box.spawn("run", "--all", "--workers", "2"), lambda: migrated_customers(box) >= 3)
    assert run_statuses(box) == {1: RunStatus.INTERRUPTED}

    box.splynx.faults.latency_s = 0
    result = box.etl("run", "--all")

    assert "finished interrupted run 1 first" in result.output
    assert run_statuses(box) == {1: RunStatus.SUCCEEDED, 2: RunStatus.SUCCEEDED}
    assert_like_clean_run(box, clean)


def test_a_rollback_killed_at_random_moments_then_rerun_leaves_nothing_and_a_new_run_is_clean(
    make_sandbox: SandboxFactory,
) -> None:
    clean = clean_content(make_sandbox)
    box = prepared(make_sandbox)
    box.etl("run", "--all")
    box.splynx.faults.latency_s = LATENCY_S
    total = len(splynx_markers(box.splynx))
    for fraction in (0.1, 0.3, 0.55, 0.8):
        process = box.spawn("rollback", "1", "--yes")
        kill_when(process, lambda left=total * (1 - fraction): len(splynx_markers(box.splynx)) <= left)
    box.splynx.faults.latency_s = 0
    box.etl("rollback", "1", "--yes")

    assert splynx_markers(box.splynx) == {}
    with box.ledger() as ledger:
        assert all(not ledger.mapped(entity) for entity in ledger.counts(1))
        assert ledger.get_run(1).status == RunStatus.ROLLED_BACK
        assert {i.state for i in ledger.items(1) if i.action == "create"} == {ItemState.ROLLED_BACK}
    box.etl("run", "--all")
    assert_like_clean_run(box, clean)


def test_a_killed_run_can_be_rolled_back_instead_of_resumed(make_sandbox: SandboxFactory) -> None:
    box = prepared(make_sandbox)
    box.splynx.faults.latency_s = LATENCY_S
    kill_when(box.spawn("run", "--all", "--workers", "4"), lambda: migrated_customers(box) >= 5)
    box.splynx.faults.latency_s = 0

    box.etl("rollback", "1", "--yes")

    assert splynx_markers(box.splynx) == {}
    with box.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.ROLLED_BACK
        assert run_ids(ledger) == [1]


# A kill inside each write window of a customer: after its POST was committed (the answer lost), and
# before each of its follow-up writes (customer info, billing) and of its service's POST.
WINDOWS = {
    "after-customer-post": ("POST", r"/admin/customers/customer$", "after"),
    "before-customer-info": ("PUT", r"/admin/customers/customer-info/", "before"),
    "before-billing": ("PUT", r"/admin/customers/customer-billing/", "before"),
}
NEXT_COMMANDS = ("resume", "run", "rollback")


@pytest.mark.parametrize("next_command", NEXT_COMMANDS)
@pytest.mark.parametrize("window", list(WINDOWS))
def test_a_kill_in_a_customer_write_window_then_any_next_command_loses_nothing(
    make_sandbox: SandboxFactory, make_proxied_sandbox: ProxiedSandboxFactory, window: str, next_command: str
) -> None:
    clean = clean_content(make_sandbox)
    box = prepared(make_proxied_sandbox)
    _window_then(box, window, next_command, clean)


@pytest.mark.services
@pytest.mark.parametrize("next_command", ["run", "rollback"])
def test_the_same_windows_on_a_postgresql_ledger(
    make_sandbox: SandboxFactory, make_proxied_sandbox: ProxiedSandboxFactory, next_command: str
) -> None:
    clean = clean_content(make_sandbox)
    with postgres_schema() as url:
        box = prepared(make_proxied_sandbox, ledger_url=url)
        _window_then(box, "before-customer-info", next_command, clean)


def _window_then(box: Sandbox, window: str, next_command: str, clean: dict[str, list[str]]) -> None:
    """Kill `etl run --all` at the 3rd request of the window, type `next_command`, compare with a clean run."""
    assert isinstance(box, ProxiedSandbox)
    method, path, when = WINDOWS[window]
    child = box.spawn("run", "--all", "--workers", "1")
    rule = box.proxy.add(method, path, kill(child.pid, when=when), nth=3)
    child.wait(timeout=WAIT_S)
    assert rule.fired == 1, f"the kill never came ({window})"

    if next_command == "rollback":
        box.etl("rollback", "1", "--yes")
        assert splynx_markers(box.splynx) == {}, "the rollback left records the run created"
        box.etl("run", "--all")  # and the record comes back whole
    else:
        result = box.etl(next_command, *(["--all"] if next_command == "run" else []))
        if next_command == "run":
            assert "finished interrupted run 1 first" in result.output
    assert_like_clean_run(box, clean)
