"""Shared helpers of the copy tests: make trees, run `etl copy`, read its JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ETL = str(Path(sys.executable).parent / "etl")


def make_tree(root: Path, sizes: dict[str, int], seed: int = 1) -> dict[str, bytes]:
    """Write files of the given sizes with deterministic pseudo-random content."""
    import random

    rnd = random.Random(seed)
    out = {}
    for name, size in sizes.items():
        data = rnd.randbytes(size)
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out[name] = data
    return out


def etl_env(home: Path) -> dict[str, str]:
    """The environment of an `etl` subprocess with its own workspace."""
    return {**os.environ, "ETL_HOME": str(home), "ETL_LEDGER_URL": f"sqlite:///{home}/ledger.db"}


def etl_copy(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `etl copy … --json` to completion."""
    return subprocess.run([ETL, "copy", *args, "--json"], env=etl_env(home), capture_output=True, text=True,
                          timeout=120, check=False)


def events(stdout: str) -> list[dict[str, Any]]:
    """The JSON lines of a run."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
