"""Test configuration: fixtures live in tests/fixtures/, one module per area."""

import os

import pytest

# Rich consoles made at import take the width they see then; a worker process (pytest-xdist) may see
# none or a narrow one. Wide, so tables are never folded whichever process a test runs in.
os.environ["COLUMNS"] = "400"

pytest_plugins = [
    "tests.fixtures.sonar",
    "tests.fixtures.sonar_records",
    "tests.fixtures.services",
    "tests.fixtures.storage",
    "tests.fixtures.ledger",
    "tests.fixtures.splynx",
    "tests.fixtures.loader",
    "tests.fixtures.databases",
    "tests.fixtures.pipeline",
    "tests.fixtures.faults",
    "tests.fixtures.cli",
]


LONGEST_FILES_FIRST = (
    "test_crash_torture.py", "test_loss_windows.py", "test_loss_windows_random.py", "test_ip_records.py",
    "test_migrate_e2e.py", "test_benchmarks_smoke_migration.py", "test_ledger_exclusion.py",
    "test_history_crash.py", "test_benchmarks_smoke.py", "test_network_sites_e2e.py",
    "test_service_kinds_e2e.py", "test_history_full.py", "test_history_balances.py",
)  # fmt: skip
"""Test files that take a minute or more, longest first (`--durations` of a CI run)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the longest files first: the workers are dealt whole files (`--dist loadfile`) in this order.

    Why: dealt in name order, a four-minute torture could start last and leave one worker running it alone
    while the other sat idle; longest first, the short files fill the end of both.
    """
    rank = {name: n for n, name in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
