"""A programmable HTTP proxy that breaks chosen requests on purpose, in front of a simulator.

Why: the simulators' own faults (`etl.sandbox.server.Faults`) are knobs of one server, good for
"one request in ten". A crash test needs an *exact* window: "SIGKILL the migration right after Splynx
committed the 3rd customer POST, before the answer reaches it". The proxy sees every request on the
wire, so a rule can pick one by method, path and occurrence, and act before or after forwarding it.

    from etl.sandbox.faultproxy import FaultProxy, kill

    proxy = FaultProxy(splynx.base_url)      # or FaultProxy(sonar.url): the upstream's path is kept
    proxy.start()                            # -> proxy.url, a drop-in replacement for the upstream URL
    child = subprocess.Popen(["etl", "run", "--all"], env={..., "ETL_SPLYNX_URL": proxy.url})
    rule = proxy.add("POST", r"/admin/customers/customer$", kill(child.pid, when="after"), nth=3)
    child.wait()
    assert rule.fired == 1 and child.returncode == -9
    proxy.seen("POST", r"/admin/customers/customer$")   # [Seen(method, path, status, action), ...]
    proxy.stop()

Rules (`add(method, path, action, nth=1, times=1)`):
    `method` is an HTTP method or None for any; `path` a regex searched in the request path (no query
    string); `nth` the 1-based occurrence, counted among the requests *this rule* matches, at which it
    starts firing; `times` how many occurrences from there it fires on (None: every one). Rules are
    checked in the order added; each counts its matches, and the first whose window a request falls in
    acts on it. `add` returns the `Rule`: `rule.fired` counts its firings, `rule.wait(timeout)` blocks
    until it fired. Rules may be added and removed (`remove`, `clear`) from any thread at any time.

Actions (`when="before"`: instead of forwarding; `when="after"`: once the upstream has answered, i.e.
after a write was committed, before the answer reaches the client):
    kill(pid, when=...)     SIGKILL process `pid`, then close the connection without an answer.
    reset(when="before")    close the connection without an answer.
    html(when="before")     answer 200 with an HTML maintenance page.
    answer(status, body, content_type="application/json", when="before")   any answer you write.
    truncate(keep=0.5)      (after) the upstream's answer with only the first part of its body.
    delay(seconds, when="before")   wait, then go on as if nothing happened.

The log (`proxy.log`, `proxy.seen(method, path)`) lists every request in arrival order, with the
status the client received (None when it received none) and the action taken (None when forwarded
untouched). Standard library, requests and werkzeug only; one thread per connection.

In tests, `tests/fixtures/faults.py` has `make_fault_proxy(upstream)` and `make_proxied_sandbox(...)`,
a Sandbox whose `etl(...)` and `spawn(...)` go through `box.proxy` (Splynx) and, with `sonar=True`,
`box.sonar_proxy`. Add a kill rule right after `spawn`: the child needs over a second to start.
Sonar requests all share one path (POST /api/graphql), so a rule cannot pick a GraphQL operation;
the Sonar simulator's own `faults.only` can.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from werkzeug.wrappers import Request, Response

from etl.sandbox.server import MAINTENANCE_PAGE, SandboxServer, hang_up, truncated

When = Literal["before", "after"]
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length", "content-encoding",
})  # fmt: skip
"""Headers that describe one hop, not the message: never copied across the proxy."""
UPSTREAM_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Action:
    """What a rule does to the request it fires on; build one with `kill`, `html`, `truncate`, ..."""

    kind: Literal["kill", "reset", "html", "answer", "truncate", "delay"]
    when: When = "before"
    pid: int | None = None
    seconds: float = 0.0
    keep: float = 0.5
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"


def kill(pid: int, *, when: When) -> Action:
    """SIGKILL `pid` before forwarding the request, or after the upstream answered it (then hang up)."""
    return Action("kill", when, pid=pid)


def reset(when: When = "before") -> Action:
    """Close the client's connection without an answer, before or after forwarding."""
    return Action("reset", when)


def html(when: When = "before") -> Action:
    """Answer 200 with an HTML maintenance page, instead of forwarding or instead of the upstream's answer."""
    return Action("html", when, status=200, body=MAINTENANCE_PAGE, content_type="text/html; charset=utf-8")


def answer(status: int, body: bytes | str, content_type: str = "application/json", when: When = "before") -> Action:
    """Answer with exactly this status and body (e.g. a 201 whose JSON lacks the id)."""
    data = body.encode() if isinstance(body, str) else body
    return Action("answer", when, status=status, body=data, content_type=content_type)


def truncate(keep: float = 0.5) -> Action:
    """Forward, then send the first `keep` of the upstream's body (with a Content-Length that matches)."""
    return Action("truncate", "after", keep=keep)


def delay(seconds: float, when: When = "before") -> Action:
    """Wait `seconds` before forwarding (or before answering), then behave normally."""
    return Action("delay", when, seconds=seconds)


@dataclass
class Rule:
    """Match (method, path regex, occurrences) → action; counts what it matched and fired on."""

    method: str | None
    path: re.Pattern[str]
    action: Action
    nth: int = 1
    times: int | None = 1
    matched: int = 0
    fired: int = 0
    _fired_event: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the rule fired once (True), or the timeout passed (False)."""
        return self._fired_event.wait(timeout)

    def offer(self, method: str, path: str) -> bool:
        """Count a request this rule matches; True if it falls in the firing window. Called under lock."""
        if (self.method is not None and self.method != method) or not self.path.search(path):
            return False
        self.matched += 1
        last = None if self.times is None else self.nth + self.times - 1
        if self.matched < self.nth or (last is not None and self.matched > last):
            return False
        self.fired += 1
        self._fired_event.set()
        return True


@dataclass(frozen=True)
class Seen:
    """One request the proxy handled: what the client got (status None: nothing) and the action taken."""

    method: str
    path: str
    status: int | None
    action: str | None


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of `upstream`, breaking requests as its rules say.

    Args:
        upstream: the server to forward to, e.g. ``splynx.base_url`` or ``sonar.url``. Its path, if
            any, is repeated in `url`, so `url` replaces the upstream URL wherever it was configured.
    """

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream = f"{parts.scheme}://{parts.netloc}"
        self._path = parts.path.rstrip("/")
        self._rules: list[Rule] = []
        self._log: list[Seen] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server = SandboxServer(self, host, port)

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve in a background thread; return `url`."""
        self._server.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.stop()

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running proxy."""
        return self._server.base_url

    @property
    def url(self) -> str:
        """The proxy's address with the upstream's path: use it where the upstream URL was used."""
        return self.base_url + self._path

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- programming it --------------------------------------------------------------------------

    def add(self, method: str | None, path: str, action: Action, *, nth: int = 1, times: int | None = 1) -> Rule:
        """Add a rule (see the module docstring) and return it."""
        if nth < 1 or (times is not None and times < 1):
            raise ValueError("nth and times count from 1")
        rule = Rule(method.upper() if method else None, re.compile(path), action, nth, times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: Rule) -> None:
        """Stop applying one rule."""
        with self._lock:
            self._rules = [r for r in self._rules if r is not rule]

    def clear(self) -> None:
        """Remove every rule and forget the log."""
        with self._lock:
            self._rules.clear()
            self._log.clear()

    @property
    def log(self) -> list[Seen]:
        """Every request handled so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._log)

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """The logged requests of one method (None: any) whose path matches a regex (None: any)."""
        pattern = re.compile(path) if path else None
        return [
            s for s in self.log if (method is None or s.method == method) and (not pattern or pattern.search(s.path))
        ]

    # -- serving ---------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Apply the first firing rule's action around forwarding the request."""
        request = Request(environ)
        action = self._firing(request.method, request.path)
        if action is not None and action.when == "before":
            early = self._act_before(action, environ)
            if early is not None:
                return self._finish(request, early, action, environ, start_response)
        response = self._forward(request, environ)
        if action is not None and action.when == "after":
            response = self._act_after(action, response)
        return self._finish(request, response, action, environ, start_response)

    def _firing(self, method: str, path: str) -> Action | None:
        """The action of the first rule whose window this request falls in (every rule counts it)."""
        with self._lock:
            fired = [rule for rule in self._rules if rule.offer(method, path)]
        return fired[0].action if fired else None

    def _act_before(self, action: Action, environ: dict[str, Any]) -> Response | None:
        """An action instead of forwarding: a Response, None to forward (delay), or HANG_UP."""
        if action.kind == "delay":
            time.sleep(action.seconds)
            return None
        if action.kind == "kill":
            _sigkill(action.pid)
            return HANG_UP
        if action.kind == "reset":
            return HANG_UP
        return _made(action)

    def _act_after(self, action: Action, response: Response) -> Response:
        """An action on the upstream's answer, which has been given (a write is committed)."""
        if action.kind == "delay":
            time.sleep(action.seconds)
            return response
        if action.kind == "kill":
            _sigkill(action.pid)
            return HANG_UP
        if action.kind == "reset":
            return HANG_UP
        if action.kind == "truncate":
            return truncated(response, action.keep)
        return _made(action)

    def _finish(
        self,
        request: Request,
        response: Response,
        action: Action | None,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        """Log the request, then send the answer or hang up."""
        status = None if response is HANG_UP else response.status_code
        with self._lock:
            self._log.append(Seen(request.method, request.path, status, action.kind if action else None))
        if response is HANG_UP:
            return hang_up(environ, start_response)
        return response(environ, start_response)

    def _forward(self, request: Request, environ: dict[str, Any]) -> Response:
        """Send the request upstream as it came; 502 if the upstream cannot be reached."""
        target = self.upstream + (environ.get("RAW_URI") or request.full_path)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Accept-Encoding"] = "identity"
        try:
            got = self._session().request(
                request.method, target, headers=headers, data=request.get_data(),
                allow_redirects=False, timeout=UPSTREAM_TIMEOUT_S,
            )  # fmt: skip
        except requests.RequestException as exc:
            return Response(f"fault proxy: upstream unreachable ({type(exc).__name__})", status=502)
        response = Response(got.content, status=got.status_code)
        for name, value in got.headers.items():
            if name.lower() not in HOP_BY_HOP:
                response.headers[name] = value
        return response

    def _session(self) -> requests.Session:
        """One keep-alive session per serving thread (a `requests.Session` is not to be shared)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session


HANG_UP = Response(status=599)
"""Marker answer: close the connection without sending anything."""


def _made(action: Action) -> Response:
    return Response(action.body, status=action.status, content_type=action.content_type)


def _sigkill(pid: int | None) -> None:
    """SIGKILL a process; one that is already gone is fine (the test decides what that means)."""
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


__all__ = ["Action", "FaultProxy", "Rule", "Seen", "When", "answer", "delay", "html", "kill", "reset", "truncate"]
