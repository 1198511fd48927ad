"""Benchmark the Sonar extractor against a plain `requests` loop over the same pages, in the same run.

Figures (ratios, because the machine is shared and noisy):
  * extractor accounts/s ÷ plain-loop accounts/s, both reading the same keyset pages of the same query
    from the simulator (the loop is the floor the server sets: no gql, no retries, no staging);
  * the same with the simulator's rate limit on (both sides honour Retry-After);
  * full `etl extract` path (gql + Parquet staging + ledger) accounts/s ÷ plain loop;
  * peak RSS of an extract process at N and 10·N accounts, and their ratio (flat = ~1.0).

Usage: .venv/bin/python benchmarks/extract.py [--small] [--page-size 500] [--rate R]
  --small: 1 000 accounts for speed, RSS at 1 000 and 10 000 (CI); default: 10 000 and 100 000.
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: put the project root first on the path, for `tests.fixtures`.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import json
import resource
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from etl.selection import Selection
from extractors import sonar_queries as q
from extractors.sonar import SonarClient, SonarExtractor, extract_to_staging
from state.ledger import Ledger
from tests.fixtures.services import free_port, port_open

TOKEN = "bench-token"


@contextmanager
def serve(customers: int, rate: float | None = None) -> Iterator[str]:
    """The simulator in its own process (its memory and CPU are not the extractor's)."""
    port = free_port()
    command = [sys.executable, "-m", "etl.sandbox.sonar", "--customers", str(customers), "--port", str(port),
               "--token", TOKEN]
    if rate:
        command += ["--rate-limit", str(rate)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not port_open("127.0.0.1", port, 0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/api/graphql"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def plain_loop(url: str, page_size: int) -> tuple[int, float]:
    """The floor: the same query and keyset pages with requests + json, honouring Retry-After."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    text = q.query_text("account")
    statuses = [s["id"] for s in _statuses(session, url)]
    started, total = time.perf_counter(), 0
    for group in ([s for s in statuses if s[1]], [s for s in statuses if not s[1]]):
        after: str | None = None
        while True:
            variables = {
                "paginator": {"page": 1, "records_per_page": page_size},
                "sorter": [{"attribute": "id", "direction": "ASC"}],
                "search": q.build_searches(status_ids=[g[0] for g in group], after_id=after),
                "include_archived": False,
            }
            answer = session.post(url, json={"query": text, "variables": variables}, timeout=60)
            if answer.status_code == 429:
                time.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            connection = answer.json()["data"]["accounts"]
            records = connection["entities"]
            total += len(records)
            if not records or connection["page_info"]["total_pages"] <= 1:
                break
            after = records[-1]["id"]
    return total, time.perf_counter() - started


def _statuses(session: requests.Session, url: str) -> list[dict[str, Any]]:
    body = {"query": "{ account_statuses { entities { id activates_account } } }"}
    while True:
        answer = session.post(url, json=body, timeout=60)
        if answer.status_code != 429:
            break
        time.sleep(float(answer.headers.get("Retry-After", "1")))
    return [{"id": (s["id"], s["activates_account"])} for s in answer.json()["data"]["account_statuses"]["entities"]]


def extractor_pages(url: str, page_size: int) -> tuple[int, float]:
    """The extractor's page generator (gql client, retries), nothing stored."""
    extractor = SonarExtractor(SonarClient(url, TOKEN), page_size=page_size)
    started = time.perf_counter()
    total = sum(len(page.records) for page in extractor.account_pages(Selection()))
    elapsed = time.perf_counter() - started
    extractor.close()
    return total, elapsed


def child(url: str, page_size: int) -> None:
    """Run in a subprocess: the full extract path into a fresh workspace; print records, seconds, peak RSS."""
    with tempfile.TemporaryDirectory() as home:
        ledger = Ledger.open(f"sqlite:///{home}/ledger.db")
        extractor = SonarExtractor(SonarClient(url, TOKEN), page_size=page_size)
        started = time.perf_counter()
        result = extract_to_staging(extractor, ledger, Path(home) / "staging", Selection(), entities=["account"])
        elapsed = time.perf_counter() - started
        ledger.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"records": result.counts.get("account", 0), "seconds": elapsed, "peak_mb": peak_kb / 1024}))


def full_extract(url: str, page_size: int) -> dict[str, Any]:
    """The full path in a child process, so its peak RSS is its own."""
    done = subprocess.run([sys.executable, __file__, "--child", url, "--page-size", str(page_size)],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def best(runs: list[tuple[int, float]]) -> tuple[int, float]:
    """The fastest of repeated runs (noise on a shared machine only ever slows a run down)."""
    return min(runs, key=lambda r: r[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="1 000 accounts; RSS at 1 000 and 10 000")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--rate", type=float, help="simulator rate limit (requests/s) of the 'on' run "
                        "(default 1 with --small, else 2: low enough to bind)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.page_size)
        return 0
    speed_n, big_n = (1_000, 10_000) if args.small else (10_000, 100_000)
    args.rate = args.rate or (1.0 if args.small else 2.0)
    print(f"accounts: {speed_n} for speed, {speed_n} and {big_n} for RSS; page size {args.page_size}")
    with serve(speed_n) as url:
        plain_loop(url, args.page_size)  # warm-up: the simulator builds its indexes on first use
        plains, ours_runs = [], []
        for _ in range(2):  # interleaved, so a noisy minute hurts both sides alike
            plains.append(plain_loop(url, args.page_size))
            ours_runs.append(extractor_pages(url, args.page_size))
        plain, ours = best(plains), best(ours_runs)
        full_small = full_extract(url, args.page_size)
    with serve(speed_n, rate=args.rate) as url:
        plain_rl = plain_loop(url, args.page_size)
        ours_rl = extractor_pages(url, args.page_size)
    with serve(big_n) as url:
        full_big = full_extract(url, args.page_size)
    rate = {name: n / s for name, (n, s) in
            {"plain": plain, "ours": ours, "plain_rl": plain_rl, "ours_rl": ours_rl}.items()}
    full_rate = full_small["records"] / full_small["seconds"]
    print(f"rate limit off: plain loop {rate['plain']:.0f} acc/s, extractor {rate['ours']:.0f} acc/s "
          f"-> ratio {rate['ours'] / rate['plain']:.2f}")
    print(f"rate limit {args.rate:g}/s: plain loop {rate['plain_rl']:.0f} acc/s, extractor {rate['ours_rl']:.0f} "
          f"acc/s -> ratio {rate['ours_rl'] / rate['plain_rl']:.2f}")
    print(f"full extract (gql + Parquet + ledger): {full_rate:.0f} acc/s -> ratio to plain loop "
          f"{full_rate / rate['plain']:.2f}")
    print(f"peak RSS: {full_small['peak_mb']:.0f} MB at {full_small['records']} accounts, "
          f"{full_big['peak_mb']:.0f} MB at {full_big['records']} accounts "
          f"-> ratio {full_big['peak_mb'] / full_small['peak_mb']:.2f} for {big_n // speed_n}x the accounts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
