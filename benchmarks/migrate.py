"""The whole migration end to end: `etl run --all` as a real process against both simulators.

    .venv/bin/python -m benchmarks.migrate [--small] [--customers N] [--rate R] [--big N2] [--workers W]

Four figures, each a ratio against a baseline measured in the same run (the machine is shared):
1. Throughput against a rate-limited Splynx (R requests/s): customers/s ÷ R, and Splynx requests per
   customer; their product (the pipe's fill: requests/s achieved ÷ R) is the figure to watch (goal >= 0.8).
2. `etl resume` of a finished run of N2 customers: seconds (goal < 5 s) and ledger events written (goal 0).
3. An incremental `etl run --all` after 1 % of the accounts changed, as a fraction of the full run's time.
4. Peak RSS of the `etl` process (polled with psutil; the simulators live in this benchmark process,
   never in the measured one) at N and N2 customers, and the straight line through both at 100 000.

Run it from the repository root: `python -m benchmarks.migrate [--small]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import func, select

from etl.sandbox import splynx_api
from etl.sandbox.pair import SandboxPair
from state.ledger import Ledger
from state.models import Event

REPO = Path(__file__).resolve().parents[1]
TARGET_CUSTOMERS = 100_000


class RequestCounter:
    """Counts the Splynx simulator's requests (a WSGI wrapper around its app class, this process only)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._original = splynx_api.SplynxApi.__call__

    def install(self) -> None:
        """Wrap the Splynx app so that each request adds one."""
        counter, original = self, self._original

        def counted(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
            with counter._lock:
                counter.count += 1
            return original(app, environ, start_response)

        splynx_api.SplynxApi.__call__ = counted  # type: ignore[method-assign,assignment]


@dataclass
class Timed:
    """One `etl` invocation: wall seconds, exit code, peak RSS of its process in MB."""

    seconds: float
    code: int
    peak_rss_mb: float


def run_etl(env: dict[str, str], *args: str) -> Timed:
    """Run `python -m etl -q ARGS` and poll its RSS every 50 ms."""
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "etl", "-q", *args], env=env, cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - began
    if process.returncode not in (0, 1):
        raise SystemExit(f"etl {' '.join(args)} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return Timed(seconds, process.returncode, peak / 1e6)


@contextmanager
def sandbox(customers: int, rate: float | None, folder: Path) -> Iterator[tuple[SandboxPair, dict[str, str]]]:
    """Both simulators in this process, and the environment of a fresh workspace pointing at them."""
    pair = SandboxPair(customers=customers, splynx_db=folder / "splynx.db", splynx_rate=rate)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
    env.update(pair.start(), ETL_HOME=str(folder / "home"), ETL_CONFIG=str(folder / "absent.toml"))
    try:
        yield pair, env
    finally:
        pair.stop()


def prepare(env: dict[str, str]) -> None:
    """Init the workspace and fix the sandbox's two planted bad accounts, so runs can succeed."""
    for args in (("init",), ("fix", "account", "4", "--set", "name=Customer 4"),
                 ("fix", "account", "6", "--set", "login=sonar-6")):  # fmt: skip
        subprocess.run([sys.executable, "-m", "etl", "-q", *args], env=env, cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip


def events(folder: Path) -> int:
    """Rows in the workspace ledger's event table (every ledger write adds at least one)."""
    ledger = Ledger.open(f"sqlite:///{folder / 'home' / 'ledger.db'}", upgrade=False)
    try:
        with ledger.reader.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Event)).scalar_one())
    finally:
        ledger.close()


def throughput(customers: int, rate: float, workers: int, counter: RequestCounter) -> dict[str, float]:
    """Figure 1: a full run against a Splynx limited to `rate` requests/s."""
    with tempfile.TemporaryDirectory() as tmp, sandbox(customers, rate, Path(tmp)) as (_pair, env):
        prepare(env)
        before = counter.count
        timed = run_etl(env, "run", "--all", "--workers", str(workers), "--rate", str(rate))
        requests = counter.count - before
    per_s = customers / timed.seconds
    return {"customers": customers, "seconds": timed.seconds, "customers_per_s": per_s, "ratio": per_s / rate,
            "requests_per_customer": requests / customers, "fill": requests / timed.seconds / rate,
            "rss_mb": timed.peak_rss_mb}  # fmt: skip


def big_run(customers: int, workers: int) -> dict[str, float]:
    """Figures 2-4 on an unthrottled pair: full run, resume of it, 1 % incremental, peak RSS."""
    with tempfile.TemporaryDirectory() as tmp, sandbox(customers, None, Path(tmp)) as (pair, env):
        prepare(env)
        full = run_etl(env, "run", "--all", "--workers", str(workers))
        written = events(Path(tmp))
        resumed = run_etl(env, "resume", "1")
        resume_writes = events(Path(tmp)) - written
        store = pair.sonar.store
        changed = [a for a in list(store.tables["accounts"])[:: 100]]
        for account_id in changed:
            store.update_account(account_id, name=f"Changed Customer {account_id}")
        incremental = run_etl(env, "run", "--all", "--workers", str(workers))
    return {"customers": customers, "full_s": full.seconds, "full_code": full.code, "rss_mb": full.peak_rss_mb,
            "resume_s": resumed.seconds, "resume_writes": resume_writes, "changed": len(changed),
            "incremental_s": incremental.seconds, "incremental_ratio": incremental.seconds / full.seconds}  # fmt: skip


def extrapolate(small: tuple[float, float], big: tuple[float, float], at: float) -> float:
    """The straight line through two (customers, MB) points, evaluated at `at` customers."""
    (x1, y1), (x2, y2) = small, big
    slope = (y2 - y1) / (x2 - x1) if x2 != x1 else 0.0
    return y2 + slope * (at - x2)


def main() -> None:
    """Run the figures and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="CI size: 40 rate-limited, 150 unthrottled")
    parser.add_argument("--customers", type=int, default=None, help="customers of the rate-limited run")
    parser.add_argument("--big", type=int, default=None, help="customers of the resume/incremental/RSS run")
    parser.add_argument("--rate", type=float, default=40.0, help="Splynx requests/s allowed")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    customers = args.customers or (40 if args.small else 300)
    big = args.big or (150 if args.small else 2000)
    counter = RequestCounter()
    counter.install()

    one = throughput(customers, args.rate, args.workers, counter)
    print(f"1. {customers} customers at R={args.rate:g} req/s: {one['seconds']:.1f} s, "
          f"{one['customers_per_s']:.2f} customers/s = {one['ratio']:.3f} x R; "
          f"{one['requests_per_customer']:.1f} requests/customer; pipe fill {one['fill']:.2f}")  # fmt: skip
    two = big_run(big, args.workers)
    print(f"2. resume of a finished {big}-customer run: {two['resume_s']:.2f} s, "
          f"{two['resume_writes']} ledger events written (full run {two['full_s']:.1f} s, exit {two['full_code']})")
    print(f"3. incremental run, {two['changed']} accounts changed (1 %): {two['incremental_s']:.1f} s "
          f"= {two['incremental_ratio']:.3f} x the full run")  # fmt: skip
    estimate = extrapolate((customers, one["rss_mb"]), (big, two["rss_mb"]), TARGET_CUSTOMERS)
    print(f"4. peak RSS of etl: {one['rss_mb']:.0f} MB at {customers}, {two['rss_mb']:.0f} MB at {big} "
          f"(ratio {two['rss_mb'] / one['rss_mb']:.2f}); straight line at {TARGET_CUSTOMERS}: {estimate:.0f} MB")


if __name__ == "__main__":
    main()
