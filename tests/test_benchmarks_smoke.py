"""Every benchmark runs in its small mode in CI, so a benchmark that rots fails the build.

The figures themselves are not asserted (the machine is shared and noisy); what is asserted is that
each script completes and prints its ratio against the baseline it measured in the same run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.services import MYSQL_URL, POSTGRES_URL, port_open, unavailable

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ["extract", "load", "db_copy", "file_copy"]  # the migrations': test_benchmarks_smoke_migration.py
RATIO = re.compile(r"ratio|vs cp|\d\.\d+ ?[x\N{MULTIPLICATION SIGN}]", re.IGNORECASE)


def _run(name: str, tmp_path: Path) -> str:
    env = {**os.environ, "ETL_HOME": str(tmp_path / ".etl")}
    completed = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--small"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    return completed.stdout + completed.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_small_mode_completes_and_reports_a_ratio(name: str, tmp_path: Path) -> None:
    if name in ("load", "db_copy") and not port_open("127.0.0.1", 5432):
        unavailable(f"PostgreSQL is not reachable ({POSTGRES_URL})")
    if name == "db_copy" and not port_open("127.0.0.1", 3306):
        unavailable(f"MariaDB is not reachable ({MYSQL_URL})")
    output = _run(name, tmp_path)
    assert RATIO.search(output), output[-2000:]
