"""Test configuration: fixtures live in tests/fixtures/, one module per area."""

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
