"""The HISTORY phase against a rate-limited Splynx: records per second ÷ R, then reconciled to the cent.

    .venv/bin/python -m benchmarks.history [--small] [--customers N] [--rate R] [--workers W] [--history MODE]

The customers are migrated first (not measured); then `etl run --all --phases history --history full`
carries every invoice (with its lines), other debit, discount, payment, note and ticket (with its replies
and comments) of them as a real process, and `etl reconcile` proves it (any difference fails the
benchmark: a fast run losing a cent is no result). The baseline is the budget itself, measured in the same
run: Splynx takes R requests/s, so the figures are the records carried per second ÷ R, the Splynx requests
per record (a write and its read-back is 2), and their product, the pipe's fill (requests/s achieved ÷ R:
1.0 is the physical limit of a Splynx that answers R a second). `--history balance` measures the
opening-balance mode instead (its notes and tickets are carried too).

Run it from the repository root: `python -m benchmarks.history [--small]`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.migrate import RequestCounter, prepare, run_etl, sandbox
from etl.history import FULL, HistoryWindow
from state.ledger import Ledger

HISTORY_ENTITIES = HistoryWindow(FULL).entities  # money, notes, tickets and their messages


def carried(folder: Path, run_id: int) -> int:
    """History records the run wrote to Splynx (verified, or loaded when verification is off)."""
    ledger = Ledger.open(f"sqlite:///{folder / 'home' / 'ledger.db'}", upgrade=False)
    try:
        counts = ledger.counts(run_id)
    finally:
        ledger.close()
    return sum(counts.get(e, {}).get(s, 0) for e in HISTORY_ENTITIES for s in ("verified", "loaded"))


def history_run(customers: int, rate: float, workers: int, counter: RequestCounter, mode: str) -> dict[str, float]:
    """Migrate the customers, then time their history (in `mode`) against Splynx at `rate` requests/s."""
    with tempfile.TemporaryDirectory() as tmp, sandbox(customers, rate, Path(tmp)) as (_pair, env):
        prepare(env)
        run_etl(env, "run", "--all", "--phases", "foundation,network,inventory,customers", "--workers", str(workers),
                "--rate", str(rate))  # fmt: skip
        before = counter.count
        timed = run_etl(env, "run", "--all", "--phases", "history", "--history", mode, "--workers", str(workers),
                        "--rate", str(rate))  # fmt: skip
        requests = counter.count - before
        records = carried(Path(tmp), 2)
        if run_etl(env, "reconcile", "2").code != 0:
            raise SystemExit(f"etl reconcile 2 found differences after the {mode} history of {customers} customers")
    return {"records": records, "seconds": timed.seconds, "per_s": records / timed.seconds,
            "ratio": records / timed.seconds / rate, "requests_per_record": requests / max(records, 1),
            "fill": requests / timed.seconds / rate, "rss_mb": timed.peak_rss_mb}  # fmt: skip


def main() -> None:
    """Run the figure and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="CI size: 12 customers")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--rate", type=float, default=40.0, help="Splynx requests/s allowed")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--history", choices=("full", "balance"), default="full", help="the history mode")
    args = parser.parse_args()
    customers = args.customers or (12 if args.small else 100)
    counter = RequestCounter()
    counter.install()
    one = history_run(customers, args.rate, args.workers, counter, args.history)
    print(f"{args.history} history of {customers} customers ({one['records']:.0f} records) at R={args.rate:g} req/s: "
          f"{one['seconds']:.1f} s, {one['per_s']:.2f} records/s = {one['ratio']:.3f} x R; "
          f"{one['requests_per_record']:.2f} requests/record; pipe fill {one['fill']:.2f}; "
          f"peak RSS {one['rss_mb']:.0f} MB; reconciled, 0 differences")  # fmt: skip


if __name__ == "__main__":
    main()
