"""Run a WSGI simulator on a real localhost socket, with fault injection shared by both simulators.

Why a real server: the extractor and loader must be exercised over real HTTP (keep-alive, timeouts,
dropped connections), exactly as they will meet a production Sonar or Splynx.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

# One log line per request would drown the tool's own output; errors still show.
logging.getLogger("werkzeug").setLevel(logging.ERROR)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Faults:
    """What the simulator does wrong on purpose; every knob is off by default.

    Attributes:
        latency_s: extra seconds before each answer.
        error_rate: fraction of requests answered with a 5xx.
        burst_429: the next N requests are answered 429 with Retry-After.
        drop_rate: fraction of requests whose connection is dropped (for writes: after the commit).
        drop_next: the next N requests are dropped (deterministic variant of drop_rate).
        retry_after_s: the Retry-After value sent with 429.
    """

    latency_s: float = 0.0
    error_rate: float = 0.0
    burst_429: int = 0
    drop_rate: float = 0.0
    drop_next: int = 0
    retry_after_s: float = 0.05
    seed: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def reset(self) -> None:
        """Turn every fault off."""
        with self._lock:
            self.latency_s = self.error_rate = self.drop_rate = 0.0
            self.burst_429 = self.drop_next = 0

    def take_429(self) -> bool:
        """Consume one request of a 429 burst."""
        with self._lock:
            if self.burst_429 > 0:
                self.burst_429 -= 1
                return True
            return False

    def take_5xx(self) -> bool:
        """Decide whether this request fails with a 5xx."""
        with self._lock:
            return self.error_rate > 0 and self._rng.random() < self.error_rate

    def take_drop(self) -> bool:
        """Decide whether this request's connection is dropped before the answer."""
        with self._lock:
            if self.drop_next > 0:
                self.drop_next -= 1
                return True
            return self.drop_rate > 0 and self._rng.random() < self.drop_rate

    def delay(self) -> None:
        """Sleep the configured latency."""
        if self.latency_s > 0:
            time.sleep(self.latency_s)


class RateLimiter:
    """A token bucket: at most `per_second` requests a second, bursts up to one second's worth."""

    def __init__(self, per_second: float | None) -> None:
        self.per_second = per_second
        self._tokens = float(per_second or 0)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def allow(self) -> float | None:
        """Take a token, or return how many seconds until one is free."""
        if not self.per_second:
            return None
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.per_second, self._tokens + (now - self._stamp) * self.per_second)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return (1 - self._tokens) / self.per_second


def drop_connection(environ: dict[str, Any]) -> None:
    """Close the client socket under werkzeug's server, so the client sees a dropped connection."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise RuntimeError("drop_connection needs werkzeug's server (environ['werkzeug.socket'])")
    import socket

    try:
        sock.shutdown(socket.SHUT_RDWR)
    finally:
        sock.close()


class SandboxServer:
    """A threaded werkzeug server on 127.0.0.1, started in a background thread."""

    def __init__(self, app: WSGIApp, host: str = "127.0.0.1", port: int = 0, poll_interval: float = 0.05) -> None:
        self._app = app
        self._poll_interval = poll_interval  # how long stop() may wait for the serving loop to notice
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server."""
        if self._server is None:
            raise RuntimeError("server not started")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> str:
        """Bind, serve in a daemon thread, and return the base URL."""
        self._server = make_server(self._host, self._port, self._app, threaded=True)
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(self._poll_interval), daemon=True,
                                        name="sandbox")
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
