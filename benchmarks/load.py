"""Splynx load throughput against a rate-limited simulator, and the ledger's share of the time.

    .venv/bin/python benchmarks/load.py [--small] [--rate R] [--records N] [--workers W] [--backend sqlite|postgresql]

The simulator answers 429 above R requests/s, so R is the ceiling measured in the same run: the
figure that matters is achieved requests/s divided by R (goal >= 0.9), i.e. how close the loader's
client-side pacing keeps the pipe to full without tripping the server's limiter. The ledger share is
the time spent in ledger calls divided by the time spent per record, summed over worker threads
(goal < 5 %). Each record is a customer with info and billing follow-ups, verified by reading back.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from etl.sandbox.splynx import SplynxSimulator
from loaders.splynx import LoadItem, LoadStats, SplynxLoader
from loaders.splynx_client import SplynxClient
from state.ledger import Ledger
from state.states import ItemState
from transformers.payload import SplynxPayload

POSTGRES_URL = os.environ.get("ETL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def customer_payload(n: str) -> SplynxPayload:
    """A realistic customer write: the record, then its info and billing follow-ups."""
    body = {
        "name": f"Customer {n}",
        "partner_id": 1,
        "location_id": 1,
        "email": f"c{n}@example.com",
        "status": "active",
        "city": "Springfield",
    }
    extras = (
        SplynxPayload("customer_info", {"passport": f"P-{n}"}, f"account:{n}"),
        SplynxPayload("customer_billing", {"billing_due": 10}, f"account:{n}"),
    )
    return SplynxPayload("customer", body, f"account:{n}", extras=extras)


@contextmanager
def ledger_url(backend: str, folder: Path) -> Iterator[str]:
    """A fresh ledger: a SQLite file, or a throw-away PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'ledger.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def measure(backend: str, rate: float, records: int, workers: int, latency: float = 0.0) -> dict[str, float]:
    """Load `records` customers through a simulator limited to `rate` requests/s."""
    with tempfile.TemporaryDirectory() as tmp, ledger_url(backend, Path(tmp)) as url:
        sim = SplynxSimulator(db_path=Path(tmp) / "splynx.db")
        sim.start()
        ledger = Ledger.open(url)
        try:
            setup = SplynxLoader(SplynxClient(sim.base_url, sim.api_key, sim.api_secret), ledger)
            setup.ensure_marker_fields(["customers"])
            run_id = ledger.start_run("copy")
            ids = [str(n) for n in range(records)]
            ledger.add_items(run_id, "account", [(i, None) for i in ids], state=ItemState.TRANSFORMED)
            sim.rate_limiter.per_second = rate
            sim.faults.latency_s = latency
            time.sleep(1.0)  # let the server's bucket settle before timing
            client = SplynxClient(sim.base_url, sim.api_key, sim.api_secret, rate_per_s=rate, max_concurrency=workers)
            stats = LoadStats()
            loader = SplynxLoader(client, ledger, stats=stats)
            work = [LoadItem(run_id, "account", i, customer_payload(i)) for i in ids]
            start = time.perf_counter()
            results = loader.load_many(work, workers=workers)
            elapsed = time.perf_counter() - start
            assert all(r.state == ItemState.VERIFIED for r in results), "benchmark load failed"
            return {
                "records_per_s": records / elapsed,
                "requests_per_s": client.requests_sent / elapsed,
                "requests_per_record": client.requests_sent / records,
                "ratio_to_rate": client.requests_sent / elapsed / rate,
                "ledger_share": stats.ledger_share,
            }
        finally:
            ledger.close()
            sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="CI mode: fewer records, lower rate")
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.0, help="simulated Splynx latency per request (s)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    rate = args.rate or (100.0 if args.small else 200.0)
    records = args.records or (60 if args.small else 400)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        f"rate limit R = {rate:g} requests/s, {records} customers (+info, billing, verify), {args.workers} workers, "
        f"server latency {args.latency * 1000:g} ms"
    )
    for backend in backends:
        try:
            figures = measure(backend, rate, records, args.workers, args.latency)
        except Exception as exc:
            print(f"{backend:10s}  skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        print(
            f"{backend:10s}  {figures['records_per_s']:7.1f} records/s  {figures['requests_per_s']:7.1f} req/s "
            f"({figures['requests_per_record']:.1f} req/record)  ratio to R {figures['ratio_to_rate']:.3f} "
            f"(goal >= 0.9)  ledger share {figures['ledger_share'] * 100:.1f} % (goal < 5 %)"
        )


if __name__ == "__main__":
    main()
