"""Test configuration: fixtures live in tests/fixtures/, one module per area."""

import os

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
