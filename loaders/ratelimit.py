"""A client-side token bucket shared by every thread that talks to one remote API.

Why on the client: Splynx (and the simulator) answer 429 once a key goes over its budget, and every
429 costs a round trip plus the Retry-After wait. Pacing requests ourselves keeps the pipe full at
exactly the rate the server accepts, which is what the load benchmark measures.
"""

from __future__ import annotations

import threading
import time


class TokenBucket:
    """At most `per_second` acquisitions a second on average, with bursts of up to `burst` tokens.

    A small burst (the default is one token) keeps the client strictly under a server-side bucket of
    the same rate, so the server never has a reason to answer 429.
    """

    def __init__(self, per_second: float | None, burst: float = 1.0) -> None:
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive or None (unlimited)")
        self.per_second = per_second
        self.burst = max(1.0, burst)
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is available; returns the seconds spent waiting."""
        if self.per_second is None:
            return 0.0
        waited = 0.0
        while True:
            delay = self._try_take()
            if delay <= 0:
                return waited
            time.sleep(delay)
            waited += delay

    def _try_take(self) -> float:
        """Take a token now, or say how long until one will be there."""
        rate = self.per_second or 0.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / rate
