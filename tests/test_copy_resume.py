"""SIGKILL a real `etl copy` mid-way, run it again: byte-identical result, verified chunks not recopied."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from state.ledger import Ledger
from state.states import ChunkState
from tests.copy_helpers import ETL, etl_copy, etl_env, events, make_tree

CHUNK = 64 * 1024
SIZE = 40 * 1024 * 1024  # 640 chunks: far more JSON lines than a pipe holds, so the copy waits for us


def verified_before(home: Path) -> dict[int, str]:
    ledger = Ledger.open(f"sqlite:///{home}/ledger.db")
    try:
        (transfer,) = ledger.transfers()
        assert transfer.id is not None
        return {c.seq: c.sha256 or "" for c in ledger.chunks(transfer.id, ChunkState.VERIFIED)}
    finally:
        ledger.close()


@pytest.mark.parametrize("engine", ["go", "python"])
def test_resume_after_sigkill_is_byte_identical_and_does_not_recopy_verified_chunks(
    engine: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    data = make_tree(tmp_path, {"src.bin": SIZE})["src.bin"]
    args = ["copy", str(tmp_path / "src.bin"), str(tmp_path / "dst.bin"), "--engine", engine,
            "--chunk-size", "64KiB", "--streams", "2", "--json"]
    proc = subprocess.Popen([ETL, *args], env=etl_env(home), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = 0
    for line in proc.stdout:
        if json.loads(line).get("event") == "chunk":
            seen += 1
        if seen == 40:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "dst.bin").exists(), "the file must not be in place before every chunk is verified"
    verified = verified_before(home)
    assert 40 <= len(verified) < SIZE // CHUNK

    result = etl_copy(home, str(tmp_path / "src.bin"), str(tmp_path / "dst.bin"), "--engine", engine,
                      "--chunk-size", "64KiB", "--streams", "2")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dst.bin").read_bytes() == data
    chunks = [e for e in events(result.stdout) if e["event"] == "chunk"]
    recopied = {c["chunk"] for c in chunks if not c["resumed"]}
    assert recopied.isdisjoint(verified), "a chunk the ledger held as verified was copied again"
    assert {c["chunk"] for c in chunks if c["resumed"]} == set(verified)
    assert len(recopied) + len(verified) == SIZE // CHUNK
    summary = events(result.stdout)[-1]
    assert summary["resumed_chunks"] == len(verified) and summary["engine"] == engine


def test_copy_detects_a_corrupted_verified_chunk_and_recopies_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = make_tree(tmp_path, {"src.bin": 10 * CHUNK})["src.bin"]
    first = etl_copy(home, str(tmp_path / "src.bin"), str(tmp_path / "dst.bin"), "--chunk-size", "64KiB")
    assert first.returncode == 0, first.stderr
    broken = bytearray(data)
    broken[3 * CHUNK + 100] ^= 0x01
    (tmp_path / "dst.bin").unlink()
    (tmp_path / "dst.bin.etl-partial").write_bytes(bytes(broken))

    again = etl_copy(home, str(tmp_path / "src.bin"), str(tmp_path / "dst.bin"), "--chunk-size", "64KiB")
    assert again.returncode == 0, again.stderr
    chunks = [e for e in events(again.stdout) if e["event"] == "chunk"]
    assert [c["chunk"] for c in chunks if not c["resumed"]] == [3]
    assert events(again.stdout)[-1]["redone_chunks"] == 1
    assert (tmp_path / "dst.bin").read_bytes() == data
