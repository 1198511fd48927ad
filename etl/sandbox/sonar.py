"""A faithful local Sonar v2 GraphQL server: real HTTP, real auth, the real schema's shape, seeded data.

Why: the extractor must meet Sonar's behaviour (Bearer auth, page-based connections capped at 1000
records, search/sort/reverse-relation filters, archived accounts hidden by default, 429s, 5xx, dropped
connections) in tests, benchmarks and the demo, without a production instance. `sim.faults` (a
`SonarFaults`) also gives the bad answers a real Sonar or a proxy in front of it gives: internal GraphQL
errors with `data: null`, `data: null` alone, a connection without `entities`, an HTML page, cut JSON,
the `Request limit of 400/min reached.` body, and a validation error as from a Sonar whose schema differs.

    from etl.sandbox.sonar import SonarSimulator
    with SonarSimulator(customers=100, seed=42, token="sandbox-sonar-token") as sim:
        print(sim.url)   # http://127.0.0.1:<port>/api/graphql

Run standalone: ``python -m etl.sandbox.sonar --customers 1000 --port 8701 --token T --seed 42``.
Data and deliberately bad records: see `etl.sandbox.sonar_data`. Schema: `etl.sandbox.sonar_schema`.
"""

from __future__ import annotations

import argparse
import hmac
import json
import operator
import re
import signal
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar

from graphql import GraphQLError, GraphQLResolveInfo, graphql_sync
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from etl.sandbox.server import (
    Faults,
    RateLimiter,
    SandboxServer,
    WSGIApp,
    drop_connection,
    maintenance_page,
    truncated,
)
from etl.sandbox.sonar_data import add_payment, generate
from etl.sandbox.sonar_query import CollectionQuery, Record, parse_datetime
from etl.sandbox.sonar_schema import load_schema
from etl.sandbox.sonar_store import LINKS, TYPE_TABLE, SonarStore

DEFAULT_TOKEN = "sandbox-sonar-token"
FAULT_KNOBS = (
    "latency_s", "error_rate", "burst_429", "drop_rate", "drop_next", "retry_after_s",
    "html_next", "html_after_next", "truncate_next", "garble_rate", "only",
    "graphql_error_next", "data_null_next", "no_entities_next", "rate_limit_next", "unknown_field_next",
    "rate_limit_status", "rate_limit_retry_after",
)  # fmt: skip
RATE_LIMIT_BODY = {"error": "Request limit of 400/min reached."}
"""What Sonar answers when its per-minute request budget is spent (HTTP 429)."""
INTERNAL_ERROR = {"errors": [{"message": "Internal server error", "extensions": {"category": "internal"}}],
                  "data": None}
"""graphql-php's answer when a resolver throws (debug off): the message hides the cause."""
UNKNOWN_FIELD = {"errors": [{"message": 'Cannot query field "sonar_legacy_id" on type "Query".',
                             "locations": [{"line": 1, "column": 3}], "extensions": {"category": "graphql"}}]}
"""A validation error as an older or newer Sonar gives for a field it does not have: no `data` at all."""
OPERATION = re.compile(r"\b(?:query|mutation)\s+(\w+)")


@dataclass
class SonarFaults(Faults):
    """The shared faults plus the bad GraphQL answers a real Sonar (or what is in front of it) gives.

    Attributes (each the number of next requests that get it; `only` matches the operation name):
        graphql_error_next: 200 with `errors: [Internal server error]` and `data: null` (transient).
        data_null_next: 200 with `{"data": null}` and no errors.
        no_entities_next: the query runs, then `entities` is missing from the root connection.
        rate_limit_next: Sonar's throttling body `{"error": "Request limit of 400/min reached."}`.
        unknown_field_next: a validation error (the schema differs): persistent by nature.
        rate_limit_status: the HTTP status sent with the throttling body (429, as Sonar does).
        rate_limit_retry_after: send Retry-After (`retry_after_s`) with it; else the client must guess.
    """

    NEXT_ANSWERS: ClassVar[tuple[tuple[str, str], ...]] = (
        *Faults.NEXT_ANSWERS,
        ("graphql_error_next", "graphql_error"),
        ("data_null_next", "data_null"),
        ("no_entities_next", "no_entities"),
        ("rate_limit_next", "rate_limit"),
        ("unknown_field_next", "unknown_field"),
    )
    GARBLED: ClassVar[tuple[str, ...]] = (*Faults.GARBLED, "graphql_error", "data_null", "no_entities")

    graphql_error_next: int = 0
    data_null_next: int = 0
    no_entities_next: int = 0
    rate_limit_next: int = 0
    unknown_field_next: int = 0
    rate_limit_status: int = 429
    rate_limit_retry_after: bool = True


def _operation_name(request: Request) -> str:
    """The GraphQL operation a request runs (its `operationName`, else the first named operation)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return ""
    name = body.get("operationName")
    if isinstance(name, str) and name:
        return name
    found = OPERATION.search(str(body.get("query") or ""))
    return found.group(1) if found else ""


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers, content_type="application/json")


def _collection(store: SonarStore, table: str, records: Iterable[Record], args: dict[str, Any]) -> dict[str, Any]:
    """Evaluate a connection field; archived accounts only appear with `include_archived: true`."""
    if table == "accounts" and not args.get("include_archived"):
        records = (r for r in records if r.get("archived_at") is None)
    return CollectionQuery(store, table).run(records, args)


def _transactions(store: SonarStore, args: dict[str, Any]) -> dict[str, Any]:
    """Evaluate `core_transactions`: one account's transactions (all without `account_id`), oldest first.

    Why a branch of its own: the real field takes `account_id` and `paginator` only, no search or sorter,
    so the order is fixed here (id ascending, which the generator makes chronological) and only the
    paginator is handed to the query engine.
    """
    table = "core_transactions"
    account_id = args.get("account_id")
    records = store.tables[table].values() if account_id is None else store.where(table, "account_id", account_id)
    ordered = sorted(records, key=operator.itemgetter("id"))
    return CollectionQuery(store, table).run(ordered, {"paginator": args.get("paginator")})


def make_resolver(store: SonarStore) -> Any:
    """The one field resolver: root collections, relations (to-one and connections) and columns."""

    def resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        parent, name = info.parent_type.name, info.field_name
        if parent == "Query" and name == "core_transactions":
            return _transactions(store, args)
        if parent == "Query":
            return _collection(store, name, store.tables[name].values(), args)
        table = TYPE_TABLE.get(parent)
        if table is None:  # connections and page_info are plain dicts built by the query engine
            return source.get(name)
        link = LINKS.get((parent, name))
        if link is None:
            return store.value(table, source, name)
        records = store.follow(table, link, source)
        if not link.many:
            return records[0] if records else None
        return _collection(store, link.target, records, args)

    return resolve


def _format_error(error: GraphQLError) -> dict[str, Any]:
    """graphql-php's envelope: validation messages quote names with double quotes, category "graphql"."""
    formatted = dict(error.formatted)
    if error.path is None:
        formatted["message"] = error.message.replace("'", '"')
    formatted["extensions"] = {"category": "graphql"}
    return formatted


def execute(store: SonarStore, body: dict[str, Any]) -> dict[str, Any]:
    """Run one GraphQL request body against the store; errors in the standard envelope."""
    query = body.get("query")
    if not isinstance(query, str):
        error = GraphQLError("Syntax Error: a query string is required.")
        return {"errors": [_format_error(error)]}
    with store.lock:
        result = graphql_sync(
            load_schema(),
            query,
            variable_values=body.get("variables") or None,
            operation_name=body.get("operationName"),
            field_resolver=make_resolver(store),
        )
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [_format_error(e) for e in result.errors]
    executed = result.data is not None or any(e.path is not None for e in result.errors or ())
    if executed or not result.errors:  # validation errors stop before execution: no "data" key at all
        payload["data"] = result.data
    return payload


class SonarApp:
    """The WSGI application: auth, faults, rate limit, then GraphQL; plus a small admin API for tests."""

    def __init__(self, store: SonarStore, token: str, faults: SonarFaults, rate_limiter: RateLimiter) -> None:
        self.store, self.token, self.faults, self.rate_limiter = store, token, faults, rate_limiter
        self.routes = Map([
            Rule("/api/graphql", endpoint="graphql", methods=["POST"]),
            Rule("/_admin/accounts", endpoint="add_account", methods=["POST"]),
            Rule("/_admin/accounts/<int:account_id>", endpoint="update_account", methods=["PATCH"]),
            Rule("/_admin/accounts/<int:account_id>", endpoint="delete_account", methods=["DELETE"]),
            Rule("/_admin/accounts/<int:account_id>/archive", endpoint="archive_account", methods=["POST"]),
            Rule("/_admin/accounts/<int:account_id>/payments", endpoint="add_payment", methods=["POST"]),
            Rule("/_admin/faults", endpoint="faults", methods=["POST"]),
            Rule("/_admin/problems", endpoint="problems", methods=["GET"]),
        ])  # fmt: skip

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Route, refuse (auth, rate limit, faults) or answer; maybe drop the connection mid-answer."""
        request = Request(environ)
        try:
            endpoint, values = self.routes.bind_to_environ(environ).match()
        except HTTPException as exc:
            return exc(environ, start_response)
        subject = _operation_name(request) if endpoint == "graphql" else endpoint
        refusal = self._refusal(request, subject)
        if refusal is not None:
            return refusal(environ, start_response)
        if endpoint != "graphql":
            return self._admin(endpoint, request, dict(values))(environ, start_response)
        bad = self.faults.take_answer(subject)
        before = self._bad_answer(bad)
        if before is not None:
            return before(environ, start_response)
        response = self._graphql(request)
        if self.faults.take_drop(subject):
            return self._dropped(response, environ, start_response)
        return self._spoiled(bad, response)(environ, start_response)

    def _refusal(self, request: Request, subject: str) -> Response | None:
        """401 without the right Bearer token; 429 when rate limited; 500 from the error-rate fault."""
        self.faults.delay()
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return _json({"message": "Unauthenticated."}, 401)
        wait = self.rate_limiter.allow()
        if wait is None and self.faults.take_429(subject):
            wait = self.faults.retry_after_s
        if wait is not None:
            retry = max(1, round(wait)) if wait >= 1 else wait
            return _json({"message": "Too Many Attempts."}, 429, {"Retry-After": f"{retry:g}"})
        if self.faults.take_5xx(subject):
            return _json({"message": "Server Error"}, 500)
        return None

    def _bad_answer(self, kind: str | None) -> Response | None:
        """The bad answers given instead of running the query."""
        faults = self.faults
        if kind == "html":
            return maintenance_page()
        if kind == "graphql_error":
            return _json(INTERNAL_ERROR)
        if kind == "data_null":
            return _json({"data": None})
        if kind == "unknown_field":
            return _json(UNKNOWN_FIELD)
        if kind == "rate_limit":
            headers = {"Retry-After": f"{faults.retry_after_s:g}"} if faults.rate_limit_retry_after else None
            return _json(RATE_LIMIT_BODY, faults.rate_limit_status, headers)
        return None

    @staticmethod
    def _spoiled(kind: str | None, response: Response) -> Response:
        """The bad answers given after the query ran: replaced, cut, or missing its `entities`."""
        if kind == "html_after":
            return maintenance_page()
        if kind == "truncate":
            return truncated(response)
        if kind == "no_entities":
            payload = json.loads(response.get_data(as_text=True))
            for connection in (payload.get("data") or {}).values():
                if isinstance(connection, dict):
                    connection.pop("entities", None)
            return _json(payload, response.status_code)
        return response

    def _graphql(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except json.JSONDecodeError as exc:
            return _json({"errors": [{"message": f"Syntax Error: the body is not JSON ({exc.msg})."}]}, 400)
        if not isinstance(body, dict):
            return _json({"errors": [{"message": "Syntax Error: the body must be a JSON object."}]}, 400)
        return _json(execute(self.store, body))

    @staticmethod
    def _dropped(response: Response, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        """Send the headers and half the body, then cut the connection, as a crashed proxy would."""
        body = response.get_data()
        start_response(response.status, list(response.headers.items()))
        yield body[: len(body) // 2]
        drop_connection(environ)

    def _add_payment(self, account_id: int, payload: dict[str, Any]) -> dict[str, str]:
        """Book a payment from `{"cents": 4999, "when": ISO-8601, "payment_type": "CHECK"}` (see `add_payment`).

        `when` and `payment_type` are optional (now, CREDITCARD); a bad value is a 422, as for the others.
        """
        when = payload.get("when")
        try:
            moment = parse_datetime(str(when)) if when else None
        except GraphQLError as exc:
            raise ValueError(exc.message) from exc
        transaction_id, payment_id = add_payment(
            self.store, account_id, int(payload.get("cents", 0)), moment, payload.get("payment_type", "CREDITCARD")
        )
        return {"transaction_id": str(transaction_id), "payment_id": str(payment_id)}

    def _admin(self, endpoint: str, request: Request, values: dict[str, Any]) -> Response:
        """Mutations for tests that drive the simulator in another process."""
        payload = request.get_json(silent=True) or {}
        try:
            if endpoint == "add_account":
                return _json({"id": str(self.store.add_account(**payload))}, 201)
            if endpoint == "add_payment":
                return _json(self._add_payment(values["account_id"], payload), 201)
            if endpoint == "update_account":
                self.store.update_account(values["account_id"], **payload)
            elif endpoint == "delete_account":
                self.store.delete_account(values["account_id"])
            elif endpoint == "archive_account":
                self.store.archive_account(values["account_id"])
            elif endpoint == "faults":
                for knob in FAULT_KNOBS:
                    if knob in payload:
                        setattr(self.faults, knob, payload[knob])
            else:
                return _json(self.store.problem_account_ids)
        except KeyError as exc:
            raise NotFound(f"no record {exc}") from exc
        except (TypeError, ValueError) as exc:
            return _json({"message": str(exc)}, 422)
        return _json({"ok": True})


class SonarSimulator:
    """A seeded Sonar served on 127.0.0.1; see the module docstring and notes/sonar_sim_iface.md."""

    def __init__(
        self,
        customers: int = 100,
        seed: int = 42,
        token: str = DEFAULT_TOKEN,
        rate_limit_per_s: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.store = generate(customers, seed)
        self.faults = SonarFaults(seed=seed)
        self.rate_limiter = RateLimiter(rate_limit_per_s)
        self.token = token
        self.app: WSGIApp = SonarApp(self.store, token, self.faults, self.rate_limiter)
        self._server = SandboxServer(self.app, host, port)

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running simulator."""
        return self._server.base_url

    @property
    def url(self) -> str:
        """The GraphQL endpoint, `http://host:port/api/graphql`."""
        return f"{self.base_url}/api/graphql"

    def start(self) -> str:
        """Serve in a background thread; return the GraphQL endpoint URL."""
        self._server.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.stop()

    def __enter__(self) -> SonarSimulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve a simulator until interrupted (Ctrl-C or SIGTERM)."""
    parser = argparse.ArgumentParser(prog="python -m etl.sandbox.sonar", description="Serve a simulated Sonar.")
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second (default: none)")
    args = parser.parse_args(argv)
    sim = SonarSimulator(args.customers, args.seed, args.token, args.rate_limit, args.host, args.port)
    print(f"Sonar simulator: {sim.start()} ({args.customers} customers, seed {args.seed})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM stops the server like Ctrl-C does, so `kill PID` releases the port cleanly."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    raise SystemExit(main())
