"""Run a WSGI simulator on a real localhost socket, with fault injection shared by both simulators.

Why a real server: the extractor and loader must be exercised over real HTTP (keep-alive, timeouts,
dropped connections), exactly as they will meet a production Sonar or Splynx.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Any, ClassVar

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Response

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
        html_next: the next N requests are answered 200 with an HTML maintenance page *instead of*
            being served (nothing is executed), as a proxy in front of a server under maintenance does.
        html_after_next: the next N requests are served (a write is committed), then answered with the
            HTML page instead of their answer, as a proxy that replaced an upstream answer does.
        truncate_next: the next N requests are served (a write is committed), then answered with the
            first half of their JSON body (a complete HTTP answer whose body is cut).
        garble_rate: fraction of requests given one of the bad answers of `GARBLED` (seeded choice).
        only: a regex; when set, only requests whose subject matches it get any fault but latency.
            The subject is "METHOD path" for Splynx (``"POST admin/customers/customer"``) and the
            GraphQL operation name for Sonar (``"account"``, ``"account_ids"``).
        injected: how many of each fault were given (e.g. ``injected["html"]``), for assertions.
    """

    NEXT_ANSWERS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("html_next", "html"),
        ("html_after_next", "html_after"),
        ("truncate_next", "truncate"),
    )
    """(counter knob, bad answer kind) pairs `take_answer` consumes, first match wins."""
    GARBLED: ClassVar[tuple[str, ...]] = ("html", "html_after", "truncate")
    """The bad answers `garble_rate` chooses from."""

    latency_s: float = 0.0
    error_rate: float = 0.0
    burst_429: int = 0
    drop_rate: float = 0.0
    drop_next: int = 0
    retry_after_s: float = 0.05
    html_next: int = 0
    html_after_next: int = 0
    truncate_next: int = 0
    garble_rate: float = 0.0
    only: str | None = None
    seed: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def reset(self) -> None:
        """Turn every fault off (and forget what was injected)."""
        with self._lock:
            for f in fields(self):
                if not f.name.startswith("_") and f.name not in ("seed", "retry_after_s", "injected"):
                    setattr(self, f.name, f.default)
            self.injected.clear()

    def applies(self, subject: str) -> bool:
        """Whether faults apply to a request with this subject (see `only`)."""
        only = self.only
        return only is None or re.search(only, subject) is not None

    def take_429(self, subject: str = "") -> bool:
        """Consume one request of a 429 burst."""
        return self._take_count("burst_429", "429", subject)

    def take_5xx(self, subject: str = "") -> bool:
        """Decide whether this request fails with a 5xx."""
        return self._take_rate("error_rate", "5xx", subject)

    def take_drop(self, subject: str = "") -> bool:
        """Decide whether this request's connection is dropped before the answer."""
        return self._take_count("drop_next", "drop", subject) or self._take_rate("drop_rate", "drop", subject)

    def take_answer(self, subject: str = "") -> str | None:
        """The bad answer this request gets (a kind of `NEXT_ANSWERS` or `GARBLED`), or None."""
        for knob, kind in self.NEXT_ANSWERS:
            if self._take_count(knob, kind, subject):
                return kind
        if not self.applies(subject):
            return None
        with self._lock:
            if self.garble_rate > 0 and self._rng.random() < self.garble_rate:
                kind = self._rng.choice(self.GARBLED)
                self.injected[kind] += 1
                return kind
        return None

    def _take_count(self, knob: str, kind: str, subject: str) -> bool:
        if not self.applies(subject):
            return False
        with self._lock:
            left = int(getattr(self, knob))
            if left <= 0:
                return False
            setattr(self, knob, left - 1)
            self.injected[kind] += 1
            return True

    def _take_rate(self, knob: str, kind: str, subject: str) -> bool:
        if not self.applies(subject):
            return False
        with self._lock:
            rate = float(getattr(self, knob))
            hit = rate > 0 and self._rng.random() < rate
            if hit:
                self.injected[kind] += 1
            return hit

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
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client went away first
    finally:
        sock.close()


def hang_up(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Close the connection without an answer; werkzeug's later write then fails as a dropped connection."""
    drop_connection(environ)
    start_response("500 INTERNAL SERVER ERROR", [("Content-Length", "0")])
    return []


MAINTENANCE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>\n"
    b"<body><h1>We'll be back soon</h1><p>The site is down for maintenance.</p></body></html>\n"
)


def maintenance_page() -> Response:
    """What a reverse proxy in front of a server under maintenance answers: 200, text/html."""
    return Response(MAINTENANCE_PAGE, status=200, content_type="text/html; charset=utf-8")


def truncated(response: Response, keep: float = 0.5) -> Response:
    """The same answer with only the first part of its body, and a Content-Length that matches it.

    Why a matching length: the client then receives a complete HTTP answer whose body is cut (as from
    a proxy that buffered a broken upstream answer), not a dropped connection, which is a fault of its own.
    """
    body = response.get_data()
    cut = Response(body[: int(len(body) * keep)], status=response.status_code)
    for name, value in response.headers.items():
        if name.lower() != "content-length":
            cut.headers[name] = value
    return cut


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
