"""Local copy throughput: Go `etl-copy` vs the Python engine vs `cp` vs `rclone`, as ratios to cp.

    .venv/bin/python benchmarks/file_copy.py            # one 2 GiB file + 10 000 small files
    .venv/bin/python benchmarks/file_copy.py --small    # 64 MiB + 500 small files (CI)
    .venv/bin/python benchmarks/file_copy.py --compare-go "go before=/tmp/etl-copy-old"   # before/after

Every tool copies the same warm (page-cached) source into a fresh directory on the same filesystem;
each figure is the best of --repeat runs, the tools taking turns. "speed vs cp" = cp's time / the
tool's time (1.0 = as fast as cp).
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: put the project root first on the path.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial

from etl.filecopy_go import find_binary

BIN = Path(sys.executable).parent


def make_big(path: Path, size: int) -> None:
    block = random.Random(7).randbytes(8 << 20)
    with path.open("wb") as out:
        written = 0
        while written < size:
            n = min(len(block), size - written)
            out.write(block[:n])
            written += n


def make_small(root: Path, count: int) -> None:
    rnd = random.Random(8)
    for i in range(count):
        sub = root / f"d{i % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(rnd.randbytes(rnd.randint(100, 32_000)))


def warm(path: Path) -> None:
    for p in [path] if path.is_file() else path.rglob("*"):
        if p.is_file():
            p.read_bytes()


Command = Callable[[Path, Path], list[str]]


def tools(go: Path | None, streams: int, chunk: str, others: list[tuple[str, str]]) -> dict[str, Command]:
    table: dict[str, Callable[[Path, Path], list[str]]] = {
        "cp": lambda s, d: ["cp", "-r", str(s), str(d)],
        "rclone": lambda s, d: [str(BIN / "rclone"), "copy", str(s), str(d), "--transfers", str(streams),
                                "--multi-thread-streams", str(streams), "--config", "/dev/null"],
        "python engine": lambda s, d: [sys.executable, "-m", "etl.filecopy_py", "-streams", str(streams),
                                       "-chunk-size", chunk, str(s), str(d)],
    }
    binaries = ([("go etl-copy", go)] if go is not None else []) + [(name, Path(p)) for name, p in others]
    for name, binary in binaries:
        table[name] = partial(_go_cmd, binary, streams, chunk)
    return table


def _go_cmd(binary: Path, streams: int, chunk: str, src: Path, dst: Path) -> list[str]:
    return [str(binary), "-streams", str(streams), "-chunk-size", chunk, str(src), str(dst)]


def best_times(table: dict[str, Callable[[Path, Path], list[str]]], src: Path, work: Path,
               repeat: int) -> dict[str, float]:
    """Best of `repeat` for every tool, taking turns so no tool always runs after another's mess.

    Destination trees are deleted only at the end: ext4 skips inodes freed in the last minutes when
    it allocates new ones, so deleting 10 000 files just before a tool's run slows that tool (up to
    5x measured here), not the tool that made them. A big file's copy is deleted at once (12 of them
    would fill the disk), then `sync` commits the journal before the next run: ext4 cannot reuse
    freed blocks before that, and without it the next tool paid for the previous one's deletion.
    """
    best = dict.fromkeys(table, float("inf"))
    made = []
    for i in range(repeat):
        for name, cmd in table.items():
            dst = work / f"dst-{name.replace(' ', '-')}-{i}"
            os.sync()  # commit the last deletion: its freed blocks are reusable, its dirty pages gone
            start = time.perf_counter()
            subprocess.run(cmd(src, dst), check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
            best[name] = min(best[name], time.perf_counter() - start)
            if src.is_dir():
                made.append(dst)
            elif dst.is_dir():
                shutil.rmtree(dst)
            else:
                dst.unlink()
    for dst in made:
        shutil.rmtree(dst, ignore_errors=True)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="64 MiB + 500 files (CI)")
    parser.add_argument("--big-size", default=None, help="big file size in MiB (default 2048, --small 64)")
    parser.add_argument("--files", type=int, default=None, help="number of small files (default 10000)")
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--chunk-size", default="8MiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare-go", action="append", default=[], metavar="LABEL=PATH",
                        help="another etl-copy build to time in the same run (an older one, say)")
    args = parser.parse_args()
    big_mib = int(args.big_size or (64 if args.small else 2048))
    count = args.files or (500 if args.small else 10_000)
    go = find_binary(ROOT / ".etl" / "bin")
    with tempfile.TemporaryDirectory(prefix="etl-bench-copy-", dir=os.environ.get("ETL_BENCH_DIR")) as tmp:
        work = Path(tmp)
        big = work / "big"
        big.mkdir()
        make_big(big / "big.bin", big_mib << 20)
        small = work / "small"
        make_small(small, count)
        print(f"big: 1 file of {big_mib} MiB; small: {count} files; streams {args.streams}, chunk {args.chunk_size}")
        print(f"{'tool':<15} {'big s':>8} {'speed vs cp':>12} {'small s':>9} {'speed vs cp':>12}")
        others = [(label, path) for label, _, path in (spec.partition("=") for spec in args.compare_go)]
        table = tools(go, args.streams, args.chunk_size, others)
        warm(big)
        big_times = best_times(table, big, work, args.repeat)
        warm(small)
        small_times = best_times(table, small, work, args.repeat)
        for name in table:
            t_big, t_small = big_times[name], small_times[name]
            print(f"{name:<15} {t_big:8.3f} {big_times['cp'] / t_big:11.2f}x "
                  f"{t_small:9.3f} {small_times['cp'] / t_small:11.2f}x")


if __name__ == "__main__":
    main()
