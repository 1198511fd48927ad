"""A real `etl db copy` killed with SIGKILL mid-table resumes to an identical copy without a duplicate row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from state.ledger import Ledger
from state.states import ChunkState, TransferState
from tests.fixtures.databases import MakeDb, sa_url

ROOT = Path(__file__).resolve().parents[1]
ROWS = 1500
BATCH = 50


def seed(url: str) -> None:
    engine = sa.create_engine(sa_url(url))
    md = sa.MetaData()
    keyed = sa.Table("account", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("login", sa.String(30)))
    unkeyed = sa.Table("radpostauth", md, sa.Column("username", sa.String(30)), sa.Column("reply", sa.String(20)))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(keyed.insert(), [{"id": i, "login": f"user{i}"} for i in range(1, ROWS + 1)])
        conn.execute(unkeyed.insert(), [{"username": f"u{i % 400}", "reply": "Access-Accept"} for i in range(ROWS)])
    engine.dispose()


def etl(home: Path, *args: str, delay: str = "0") -> subprocess.Popen[bytes]:
    env = {**os.environ, "ETL_HOME": str(home), "ETL_DBCOPY_BATCH_DELAY": delay, "PYTHONPATH": str(ROOT)}
    env.pop("ETL_LEDGER_URL", None)
    command = [sys.executable, "-c", "from etl.cli import main; main()", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def verified_chunks(home: Path) -> int:
    ledger_file = home / "ledger.db"
    if not ledger_file.exists():
        return 0
    try:
        ledger = Ledger.open(f"sqlite:///{ledger_file}", upgrade=False)
    except Exception:
        return 0  # still being created by the child
    try:
        return sum(len(ledger.chunks(t.id, ChunkState.VERIFIED)) for t in ledger.transfers() if t.id is not None)
    finally:
        ledger.close()


def rows(url: str, table: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(sa_url(url))
    with engine.connect() as conn:
        found = sorted(tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table}")))
    engine.dispose()
    return found


@pytest.mark.services
@pytest.mark.parametrize(
    ("src_engine", "dst_engine", "table"),
    [("mysql", "postgresql", "account"), ("postgresql", "mysql", "radpostauth")],
    ids=["keyed-mysql-to-pg", "no-primary-key-pg-to-mysql"],
)
def test_copy_killed_mid_table_resumes_identical_without_duplicates(
    src_engine: str, dst_engine: str, table: str, make_db: MakeDb, tmp_path: Path
) -> None:
    src, dst = make_db(src_engine), make_db(dst_engine)
    seed(src)
    home = tmp_path / "home"
    args = ("db", "copy", src, dst, "--tables", table, "--batch-size", str(BATCH))
    child = etl(home, *args, delay="0.05")
    deadline = time.monotonic() + 60
    while verified_chunks(home) < 6 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.poll() is None, child.communicate()
    child.send_signal(signal.SIGKILL)
    child.wait()

    partial = rows(dst, table)
    assert 0 < len(partial) < ROWS

    resumed = etl(home, *args)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    assert rows(dst, table) == rows(src, table)  # same multiset: nothing lost, nothing twice
    ledger = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
    try:
        transfers = [t for t in ledger.transfers() if t.name == table]
        assert len(transfers) == 1 and transfers[0].state == TransferState.DONE
        chunks = ledger.chunks(transfers[0].id)
        assert len(chunks) == ROWS // BATCH
        assert all(c.state == ChunkState.VERIFIED for c in chunks)
        assert sum(c.rows or 0 for c in chunks) == ROWS
        assert max(c.attempts for c in chunks) >= 1
    finally:
        ledger.close()
    assert "resumed" in out.decode() or "batches" in out.decode()
