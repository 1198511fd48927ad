"""Random kills and faults between random operator commands: whatever happened, Splynx ends like a clean run.

The random half of tests/test_loss_windows.py, in a file of its own so that the test workers (files are
dealt out whole) share the long tortures: each seed spawns real `etl` processes, injects one fault at a
random Splynx request (a SIGKILL before or after it, a reset, an HTML page, a cut answer), and ends with
a new run that must leave Splynx exactly as a clean run does, then rollbacks that leave nothing.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

from etl.sandbox.faultproxy import html, kill, reset, truncate
from state.states import RunStatus
from tests.fixtures.faults import ProxiedSandbox, ProxiedSandboxFactory
from tests.fixtures.ledger import backend_url
from tests.fixtures.pipeline import SandboxFactory, run_ids, splynx_markers
from tests.fixtures.snapshot import content_diff, splynx_content
from tests.test_loss_windows import clean_content, prepared

FAULTS = ("kill-before", "kill-after", "reset-after", "html-after", "truncate", "none")
COMMANDS = ("run --all", "run --limit 6", "resume", "rollback")


def _step(box: ProxiedSandbox, rng: random.Random, log: list[str]) -> None:
    """One random operator command, with one random fault at a random Splynx request."""
    command, fault = rng.choice(COMMANDS), rng.choice(FAULTS)
    with box.ledger() as ledger:
        runs = run_ids(ledger)
    args = command.split()
    if command == "rollback":
        if not runs:
            return
        args = ["rollback", str(rng.choice(runs)), "--yes"]
    child = box.spawn(*args)
    nth = rng.randint(1, 60)
    method = rng.choice(["POST", "PUT", "GET", "DELETE"])
    action = {
        "kill-before": kill(child.pid, when="before"),
        "kill-after": kill(child.pid, when="after"),
        "reset-after": reset("after"),
        "html-after": html("after"),
        "truncate": truncate(),
        "none": None,
    }[fault]
    rule = box.proxy.add(method, r".", action, nth=nth) if action is not None else None
    code = child.wait(timeout=120)
    box.proxy.clear()
    log.append(f"{' '.join(args)} with {fault} at {method} #{nth}: exit {code}, fired {rule.fired if rule else '-'}")
    errors = child.stderr.read().decode() if child.stderr else ""
    # 0 done, 1 a record failed or a rollback was refused, 2 nothing to resume, 4 Splynx kept answering
    # garbage: each a clean end (one line), like the SIGKILL we sent
    assert code in (0, 1, 2, 4, -signal.SIGKILL), "\n".join(log) + "\n" + errors
    assert "Traceback" not in errors and "internal error" not in errors, errors


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "backend"),
    [(11, "sqlite"), (23, "sqlite"), pytest.param(37, "postgresql", marks=pytest.mark.services)],
)
def test_random_kills_and_faults_between_random_commands_end_like_a_clean_run_then_roll_back_to_nothing(
    make_sandbox: SandboxFactory,
    make_proxied_sandbox: ProxiedSandboxFactory,
    seed: int,
    backend: str,
    tmp_path: Path,
) -> None:
    clean = clean_content(make_sandbox)
    with backend_url(backend, tmp_path) as url:
        _torture(make_proxied_sandbox, seed, clean, url if backend == "postgresql" else None)


def _torture(
    make_proxied_sandbox: ProxiedSandboxFactory, seed: int, clean: dict[str, list[str]], ledger_url: str | None
) -> None:
    box = prepared(make_proxied_sandbox, ledger_url=ledger_url)
    assert isinstance(box, ProxiedSandbox)
    rng = random.Random(seed)
    log: list[str] = []
    for _ in range(8):
        _step(box, rng, log)
        assert not {m: n for m, n in splynx_markers(box.splynx).items() if n > 1}, "\n".join(log)

    box.etl("run", "--all")  # whatever happened, a new run finishes what is unfinished and brings the rest
    diff = content_diff(splynx_content(box.splynx), clean)
    assert not diff, "\n".join(log) + "\n" + diff
    box.check()

    with box.ledger() as ledger:
        runs = sorted(ledger.runs(kind="migrate"), key=lambda r: -(r.id or 0))
    for run in runs:
        if run.status != RunStatus.ROLLED_BACK:
            box.etl("rollback", str(run.id), "--yes")
    assert splynx_markers(box.splynx) == {}, "\n".join(log)
