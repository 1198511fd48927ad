"""A damaged or vanished ledger is a clean failure: one line, exit 3, how to recover, nothing lost.

A ledger that is random bytes or a truncated copy must say so where it is first read, not surface as
an internal error; one deleted under a running migration must stop the run at its next checkpoint,
because SQLite would otherwise go on writing to the deleted file and every later checkpoint would
vanish with the process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.fixtures.pipeline import Sandbox, SandboxFactory, marker_of

LEDGER_COMMANDS = (("status",), ("runs",), ("run", "--all"), ("resume",), ("failures",), ("init",))


def damage(path: Path, how: str) -> None:
    """Overwrite a ledger file with random bytes, or cut it to a fraction of its size."""
    if how == "random":
        path.write_bytes(os.urandom(8192))
    else:
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.truncate(size // 3)


@pytest.mark.parametrize("how", ["random", "truncated"])
@pytest.mark.parametrize("command", LEDGER_COMMANDS, ids=lambda c: "-".join(c))
def test_a_damaged_ledger_fails_in_one_line_with_exit_3_and_a_way_out(
    sandbox: Sandbox, how: str, command: tuple[str, ...]
) -> None:
    sandbox.etl("init")
    sandbox.etl("run", "--limit", "3", "--workers", "1")
    ledger_file = sandbox.home / "ledger.db"
    for sidecar in ("ledger.db-wal", "ledger.db-shm"):
        (sandbox.home / sidecar).unlink(missing_ok=True)
    damage(ledger_file, how)

    result = sandbox.etl(*command, code=3)

    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "is damaged or unreadable" in lines[0] and "restore it from a backup" in lines[0]


def test_a_ledger_deleted_under_a_running_migration_stops_it_with_exit_3(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=30)
    box.etl("init")
    box.splynx.faults.latency_s = 0.05
    child = box.spawn("run", "--all", "--continue-on-error", "--workers", "2")
    deadline = time.monotonic() + 60
    while not any(marker_of(r) for r in box.splynx.rows("admin/customers/customer")):
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
        (box.home / name).unlink(missing_ok=True)

    code = child.wait(timeout=60)

    errors = child.stderr.read().decode() if child.stderr else ""
    assert code == 3, errors
    assert "was deleted while this process was using it" in errors and "Traceback" not in errors
