"""The end-to-end migration benchmarks in their small mode, in a file of their own.

Why apart from tests/test_benchmarks_smoke.py: they are the two longest (a whole `etl run` against a
rate-limited Splynx each), and the test workers are dealt whole files: apart, they run beside the others.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_benchmarks_smoke import RATIO, _run


@pytest.mark.slow
@pytest.mark.parametrize("name", ["migrate", "history"])
def test_migration_benchmark_small_mode_completes_and_reports_a_ratio(name: str, tmp_path: Path) -> None:
    output = _run(name, tmp_path)
    assert RATIO.search(output), output[-2000:]
