"""A loader process for the crash torture: loads accounts 0..N-1 of one run, and can park at a named step.

    python -m tests.loader_torture_worker --base URL --ledger URL --run ID --count 200 \
        [--pause STEP --pause-after K] [--announce STEP]

`--pause STEP --pause-after K` prints `PAUSED <step> <id>` when the K-th item reaches STEP and then
sleeps, so the test can SIGKILL it exactly inside that window. `--announce STEP` prints
`AT <step> <id>` each time and carries on (the test kills it while the request is in flight).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from loaders.splynx import LoadItem, SplynxLoader
from loaders.splynx_client import SplynxClient
from state.ledger import Ledger
from tests.fixtures.loader import account_item
from tests.fixtures.splynx import API_KEY, API_SECRET


def main(argv: list[str] | None = None) -> int:
    """Load every item of the run; exit 0 when all are verified or loaded."""
    args = _parse(argv)
    seen = 0
    lock = threading.Lock()

    def on_step(step: str, item: LoadItem) -> None:
        nonlocal seen
        if step == args.announce:
            print(f"AT {step} {item.source_id}", flush=True)
        if step != args.pause:
            return
        with lock:
            seen += 1
            park = seen == args.pause_after
        if park:
            print(f"PAUSED {step} {item.source_id}", flush=True)
            time.sleep(3600)

    client = SplynxClient(args.base, API_KEY, API_SECRET, max_wait_s=0.1, attempts=10, settle_s=1.5)
    ledger = Ledger.open(args.ledger)
    loader = SplynxLoader(client, ledger, on_step=on_step)
    results = loader.load_many(
        [account_item(args.run, n) for n in range(args.count)], workers=args.workers, stop_on_error=False
    )
    bad = [r for r in results if r.state.value not in ("loaded", "verified")]
    for r in bad:
        print(f"FAILED {r.source_id} {r.problem}", flush=True)
    print(f"DONE {len(results)}", flush=True)
    return 1 if bad else 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--run", type=int, required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pause", default=None)
    parser.add_argument("--pause-after", type=int, default=1)
    parser.add_argument("--announce", default=None)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
