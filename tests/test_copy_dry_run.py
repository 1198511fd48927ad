"""`etl copy --dry-run` prints the plan from read-only ledger queries and writes nothing at all."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from state.ledger import Ledger
from state.states import TransferState
from tests.copy_helpers import ETL, etl_copy, etl_env, events, make_tree

CHUNK = 64 * 1024
TABLES = ("run", "transfer", "chunk", "event")


def row_counts(home: Path) -> dict[str, int]:
    with closing(sqlite3.connect(home / "ledger.db")) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root with its size and mtime: any write shows up as a difference."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def reopen_transfer(home: Path, name: str) -> None:
    """Make one finished file look interrupted: its transfer running, its chunks still verified."""
    ledger = Ledger.open(f"sqlite:///{home}/ledger.db")
    try:
        (transfer,) = [t for t in ledger.transfers() if t.name == name]
        assert transfer.id is not None
        ledger.finish_transfer(transfer.id, TransferState.RUNNING)
    finally:
        ledger.close()


def test_dry_run_reports_the_plan_and_leaves_ledger_and_destination_untouched(tmp_path: Path) -> None:
    home, src, dst = tmp_path / "home", tmp_path / "src", tmp_path / "dst"
    make_tree(src, {"done.bin": 3 * CHUNK, "again.bin": 2 * CHUNK + 7})
    first = etl_copy(home, str(src), str(dst), "--chunk-size", "64KiB")
    assert first.returncode == 0, first.stderr
    reopen_transfer(home, "again.bin")
    make_tree(src, {"new/file.bin": 5 * CHUNK + 1}, seed=2)
    before, dst_before = row_counts(home), snapshot(dst)
    assert all(before.values())

    proc = etl_copy(home, str(src), str(dst), "--chunk-size", "64KiB", "--dry-run")

    assert proc.returncode == 0, proc.stderr
    assert row_counts(home) == before
    assert snapshot(dst) == dst_before
    lines = events(proc.stdout)
    files = {e["file"]: e for e in lines if e["event"] == "file"}
    assert files["done.bin"]["skip"] == "already copied"
    assert files["again.bin"]["verified_chunks"] == 3 and files["again.bin"]["chunks"] == 3
    assert files["new/file.bin"]["verified_chunks"] == 0 and files["new/file.bin"]["chunks"] == 6
    assert {e["engine"] for e in files.values()} == {lines[-1]["engine"]}
    summary = lines[-1]
    assert summary["dry_run"] is True and summary["run_id"] is None
    assert (summary["files"], summary["skipped"], summary["planned_chunks"]) == (2, 1, 9)
    assert summary["bytes"] == (2 * CHUNK + 7) + (5 * CHUNK + 1)


def test_dry_run_on_an_empty_workspace_prints_a_table_and_records_nothing(tmp_path: Path) -> None:
    home, dst = tmp_path / "home", tmp_path / "dst"
    make_tree(tmp_path / "src", {"a.bin": 1000, "b/c.bin": 10})
    proc = subprocess.run([ETL, "copy", str(tmp_path / "src"), str(dst), "--dry-run"], env=etl_env(home),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "nothing written" in proc.stdout and "b/c.bin" in proc.stdout
    assert "would copy 2 file(s), 1,010 bytes" in proc.stdout
    assert row_counts(home) == dict.fromkeys(TABLES, 0)
    assert not dst.exists()
    assert not (home / "bin").exists(), "a dry run must not even build the Go binary"
