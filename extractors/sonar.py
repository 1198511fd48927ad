"""Read Sonar over GraphQL, page by page, and hand every page to staging and the ledger first.

Why keyset pages (`id > last id`, always page 1, sorted by id) instead of `page=N`: Sonar is live while
we read it. With offset pages, an account deleted on an earlier page shifts every later record one
place left, and the record at the page boundary is silently skipped; an account added shifts them right
and one record comes twice. Seeking past the last id seen gives neither, and `page_info.total_pages`
still says when the end is reached. Every request is one of the query files in `sonar_queries/`.

Why generators: memory stays flat however many accounts Sonar holds; each page is staged and recorded
as it arrives and then dropped.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

import requests
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportConnectionFailed
from gql.transport.requests import RequestsHTTPTransport
from graphql import DocumentNode, ExecutionResult, FieldNode, OperationDefinitionNode
from loguru import logger
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential_jitter

from etl.errors import ConfigError, ConnectionFailure, EtlError, RetryableError
from etl.phases import ENTITY_PHASE, Phase
from etl.selection import Selection
from etl.staging import StagingWriter, source_hash
from extractors import sonar_queries as q
from extractors.sonar_balances import history_pages, in_window
from extractors.sonar_secrets import seal, seal_one
from state.ledger import Ledger
from state.states import ItemState, RunStatus, is_legal

Record = dict[str, Any]

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 500
SONAR_RATE_PER_MINUTE = 400
"""Sonar's request limit: `{"error": "Request limit of 400/min reached."}` (docs/fidelity.md, Sonar)."""
DEFAULT_RATE_PER_MINUTE = 360
"""What the client paces itself to by default: Sonar's 400/min less 10% for other tools and clock skew."""

PHASES: dict[str, str] = {
    **dict.fromkeys(("role", "account_group", "account_status", "account_type"), Phase.FOUNDATION.value),
    **dict.fromkeys(("vendor", "inventory_model_category"), Phase.INVENTORY.value),
    **{entity: phase.value for entity, phase in ENTITY_PHASE.items()},
}
"""Each entity's phase (names.md), stored on its ledger items: the migrated ones' from etl/phases.py, and the
lookups read only to be referenced with the phase that needs them."""


class _Unreachable(RetryableError):
    """The connection failed or dropped: retried, then reported as ConnectionFailure."""


class _RateLimited(RetryableError):
    """Sonar said 429 (or sent its request-limit body): waiting is the whole cure, so it gets more attempts."""


class SchemaMismatch(ConnectionFailure):
    """Sonar refused a query as invalid (unknown field, argument or type): its schema is not ours.

    Exit code 4 like any refusal by a remote system, not 2: nothing in the user's configuration can
    fix a query file, and a retry would get the same answer; the fix says so.
    """


class IncompleteList(ConnectionFailure):
    """A nested list's `page_info.total_count` says more records exist than were read: never go on short."""


class _BadAnswer(Exception):
    """Internal: an answer that is not GraphQL JSON (an HTML page, cut JSON); says what came back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


THROTTLE_WORDS = ("request limit", "rate limit", "too many requests", "too many attempts")
"""Words of a throttling answer: Sonar's `{"error": "Request limit of 400/min reached."}` and the like."""
TRANSIENT_WORDS = (
    "internal server error", "internal error", "server error", "timeout", "timed out", "try again",
    "temporarily", "unavailable", "deadlock", "lock wait", "too many connections", "gone away",
)  # fmt: skip
"""Words of a GraphQL error that a retry may cure: the server failed, not our query."""
VALIDATION_WORDS = ("cannot query field", "unknown argument", "unknown type", "syntax error", "variable \"$")
"""Words of graphql-php validation errors: the query does not fit this Sonar's schema."""
NOT_SONAR_FIX = (
    "a proxy or maintenance page answered instead of Sonar's GraphQL API: "
    "check ETL_SONAR_URL (it ends in /api/graphql) / retry later"
)
SCHEMA_FIX = (
    "this Sonar's GraphQL schema differs from the one the extractor was built for, so retrying will not "
    "help: check ETL_SONAR_URL is this instance's Sonar v2 /api/graphql, else report this line and the "
    "Sonar version"
)
THROTTLE_FIX = (
    "Sonar allows a fixed number of requests a minute: wait a minute and resume, or run fewer tools against it"
)
INCOMPLETE_FIX = "Sonar sent incomplete answers (often under load): check Sonar's health, then resume"
BODY_EXCERPT = 60  # characters of an unreadable answer shown in its error line


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP-date Retry-After: fall back to our own backoff


def _until_window_resets(window_s: float) -> float:
    """Seconds until the next rate-limit window starts (Sonar counts requests per clock minute)."""
    return window_s - time.time() % window_s + 0.01


def _throttle_message(payload: Any) -> str | None:
    """The message of a throttling body (`{"error": "Request limit of 400/min reached."}`), else None."""
    if not isinstance(payload, dict):
        return None
    for key in ("error", "message"):
        text = payload.get(key)
        if isinstance(text, str) and any(word in text.lower() for word in THROTTLE_WORDS):
            return text
    return None


def _described(response: requests.Response) -> str:
    """What came back, for one line: status, content type, size and the first characters."""
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    head = " ".join(response.text[:BODY_EXCERPT].split())
    return f"HTTP {response.status_code}, {kind}, {len(response.content)} bytes" + (f": {head!r}" if head else "")


class _SonarTransport(RequestsHTTPTransport):
    """gql's requests transport, classifying the answer before anything reads it as GraphQL.

    Why: gql accepts a 5xx whose body happens to hold `errors` as a GraphQL answer, drops the
    Retry-After of a 429, and takes an HTML page for a protocol error that is never retried. Here the
    status and Sonar's throttling body decide wait, retry or stop; the body only explains it.
    """

    rate_window_s: float = 60.0

    def _prepare_result(self, response: requests.Response) -> ExecutionResult:
        payload = _json_or_none(response)
        self._refuse_status(response, payload)
        if payload is None:
            kind = "an HTML page" if "html" in response.headers.get("Content-Type", "") else "cut or invalid JSON"
            raise _BadAnswer(f"{kind} ({_described(response)})")
        if not isinstance(payload, dict) or not ("data" in payload or "errors" in payload):
            raise _BadAnswer(f"JSON that is not a GraphQL answer ({_described(response)})")
        return ExecutionResult(errors=payload.get("errors"), data=payload.get("data"))

    def _refuse_status(self, response: requests.Response, payload: Any) -> None:
        """Raise for throttling (any status), auth failures, 5xx and other 4xx."""
        status = response.status_code
        throttled = _throttle_message(payload)
        if throttled is not None or status == 429:
            wait = _retry_after(response.headers.get("Retry-After"))
            raise _RateLimited(
                f"Sonar rate limit reached (HTTP {status}: {throttled or 'too many requests'}) at {self.url}",
                fix=THROTTLE_FIX,
                retry_after=wait if wait is not None else _until_window_resets(self.rate_window_s),
            )
        if status in (401, 403):
            raise ConnectionFailure(
                f"Sonar rejected the token ({status}) at {self.url}",
                fix="set ETL_SONAR_TOKEN to a valid Sonar personal access token",
            )
        if status >= 500:
            raise RetryableError(f"Sonar answered {status} at {self.url}", fix="check Sonar's health, then resume")
        if status >= 400:
            body = " ".join(response.text.split())[:160]
            raise ConfigError(f"Sonar refused the request ({status}): {body}", fix="check ETL_SONAR_URL")


class RatePacer:
    """A token bucket that keeps one process under `per_minute` requests, shared by every thread.

    Why client-side: Sonar counts requests per minute and answers the excess with its rate-limit body;
    waiting for that answer wastes a round trip and a retry per request over the limit. The bucket holds
    one second's worth of requests, so any 60 s window sees at most `per_minute` plus that burst; the
    default (360) leaves room for it under Sonar's 400. A caller reserves its slot under the lock and
    sleeps outside it, so threads queue in order without spinning.
    """

    def __init__(self, per_minute: float, burst: int | None = None) -> None:
        if per_minute <= 0:
            raise ConfigError(f"Sonar rate {per_minute:g}/min is not positive", fix="use e.g. 360 (Sonar allows 400)")
        self.per_minute = per_minute
        self.interval = 60.0 / per_minute
        self.capacity = float(burst if burst is not None else max(1, int(per_minute // 60)))
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one request slot, sleeping until it is free; returns the seconds waited."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) / self.interval) - 1
            self._stamp = now
            wait = -self._tokens * self.interval if self._tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)
        return wait


def _json_or_none(response: requests.Response) -> Any:
    """The decoded body, or None if it is not JSON (`null` itself is no GraphQL answer either)."""
    try:
        return json.loads(response.text)
    except ValueError:
        return None


def _wait(max_wait: float) -> Callable[[RetryCallState], float]:
    """Honour Retry-After when Sonar sends one, else back off exponentially with jitter."""
    backoff = wait_exponential_jitter(multiplier=0.1, max=max_wait, jitter=0.1)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            return min(exc.retry_after, max_wait)
        return float(backoff(state))

    return wait


def _stop(attempts: int, rate_limited_attempts: int) -> Callable[[RetryCallState], bool]:
    """Give up after `attempts` failures, or `rate_limited_attempts` when Sonar only asked us to wait."""

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        limit = rate_limited_attempts if isinstance(exc, _RateLimited) else attempts
        return state.attempt_number >= limit

    return stop


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    logger.info("Sonar request failed, retrying (attempt {}): {}", state.attempt_number, exc)


class SonarClient:
    """One authenticated GraphQL session with Sonar; retries transient failures, never user errors.

    Args:
        rate_window_s: the length of Sonar's rate-limit window; a throttled request without
            Retry-After waits until the next window starts (at most `max_wait` at a time).
        rate_per_minute: pace every attempt (retries too) to this many requests a minute, across all
            threads using this client; None or 0: no pacing (a simulator without a limit).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 60.0,
        attempts: int = 6,
        rate_limited_attempts: int = 30,
        max_wait: float = 30.0,
        rate_window_s: float = 60.0,
        rate_per_minute: float | None = None,
    ) -> None:
        self.url = url
        self.pacer = RatePacer(rate_per_minute) if rate_per_minute else None
        self._transport = _SonarTransport(
            url=url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=int(timeout),
            retries=0,
        )
        self._transport.rate_window_s = rate_window_s
        self._client = Client(transport=self._transport, fetch_schema_from_transport=False)
        self._client.connect_sync()  # type: ignore[no-untyped-call]
        self._retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=_stop(attempts, rate_limited_attempts),
            wait=_wait(max_wait),
            before_sleep=_log_retry,
            reraise=True,
        )
        self.requests = 0

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close_sync()  # type: ignore[no-untyped-call]

    def execute(self, doc: DocumentNode, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one query (with retries) and return its `data`, checked to hold the connection asked for."""
        try:
            result: dict[str, Any] = self._retrying(self._once, doc, variables)
        except _Unreachable as exc:
            raise ConnectionFailure(
                f"cannot reach Sonar at {self.url}: {exc.message}",
                fix="check ETL_SONAR_URL (or url under sonar in etl.toml) and that Sonar is up",
            ) from exc
        return result

    def _once(self, doc: DocumentNode, variables: dict[str, Any]) -> dict[str, Any]:
        """One attempt: send, classify the answer, and check its shape (all inside the retry loop)."""
        if self.pacer is not None:
            self.pacer.acquire()
        self.requests += 1
        query = query_name(doc)
        try:
            result = self._transport.execute(GraphQLRequest(doc, variable_values=variables))
        except TransportConnectionFailed as exc:
            raise _Unreachable(_connection_reason(str(exc))) from exc
        except _BadAnswer as exc:
            raise RetryableError(f"Sonar answered the query {query} with {exc.reason}", fix=NOT_SONAR_FIX) from None
        if result.errors:
            raise self._refusal(query, list(result.errors))
        return _checked(doc, query, result.data)

    def _refusal(self, query: str, errors: list[Any]) -> EtlError:
        """Classify GraphQL `errors`: throttling and server failures are retried, a bad query is not."""
        first = _message(errors[0]) or "no message"
        text = " ".join(_message(e) for e in errors).lower()
        if any(word in text for word in THROTTLE_WORDS):
            wait = _until_window_resets(self._transport.rate_window_s)
            message = f"Sonar rate limit reached on the query {query}: {first}"
            return _RateLimited(message, fix=THROTTLE_FIX, retry_after=wait)
        if any(word in text for word in TRANSIENT_WORDS) or any(_category(e) == "internal" for e in errors):
            return RetryableError(
                f"Sonar failed the query {query}: {first}", fix="check Sonar's health (its error log), then resume"
            )
        if any(word in text for word in VALIDATION_WORDS) or all(_category(e) == "graphql" for e in errors):
            return SchemaMismatch(f"Sonar refused the query {query}: {first}", fix=SCHEMA_FIX)
        return ConnectionFailure(
            f"Sonar refused the query {query}: {first}",
            fix="retrying will not help: check the token's role may read this (Sonar: Settings > Roles)",
        )


def _message(error: Any) -> str:
    return str(error.get("message", "")) if isinstance(error, dict) else str(error)


def _category(error: Any) -> str | None:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    return str(extensions.get("category")) if isinstance(extensions, dict) else None


def _checked(doc: DocumentNode, query: str, data: Any) -> dict[str, Any]:
    """The `data` of an answer, if it holds the root connection with the `entities`/`page_info` asked for.

    Why here: the walk reads `connection["entities"]` and `page_info.total_pages`; an answer without
    them (Sonar under load, a cache in between) is transient and must be retried, not crash the run.
    """
    if not isinstance(data, dict):
        raise RetryableError(f"Sonar answered the query {query} without `data` (null)", fix=INCOMPLETE_FIX)
    root = _root(doc)
    connection = data.get(root.alias.value if root.alias else root.name.value)
    if not isinstance(connection, dict):
        raise RetryableError(f"Sonar answered the query {query} without `{root.name.value}`", fix=INCOMPLETE_FIX)
    for selection in root.selection_set.selections if root.selection_set else ():
        name = getattr(getattr(selection, "name", None), "value", None)
        wanted = {"entities": list, "page_info": dict}.get(name or "")
        if wanted is not None and not isinstance(connection.get(name or ""), wanted):
            raise RetryableError(f"Sonar answered the query {query} without `{name}`", fix=INCOMPLETE_FIX)
    return data


def _root(doc: DocumentNode) -> FieldNode:
    operation = doc.definitions[0]
    selection = operation.selection_set.selections[0] if isinstance(operation, OperationDefinitionNode) else None
    if not isinstance(selection, FieldNode):
        raise ConfigError("a Sonar query must start with one root field", fix="check extractors/sonar_queries/")
    return selection


def query_name(doc: DocumentNode) -> str:
    """The query's operation name and the file it comes from, for error lines.

    E.g. ``account_ids (extractors/sonar_queries/account.graphql)``: the id-only queries are derived
    from the entity's file, so that file is the one to look at.
    """
    name = getattr(doc.definitions[0], "name", None)
    operation = name.value if name is not None else "?"
    stem = operation.removesuffix("_ids")
    if (q.QUERY_DIR / f"{stem}.graphql").is_file():
        return f"{operation} (extractors/sonar_queries/{stem}.graphql)"
    return operation


_REASONS = (
    ("refused", "connection refused"),
    ("timed out", "timed out"),
    ("Name or service not known", "unknown host"),
    ("nodename nor servname", "unknown host"),
    ("RemoteDisconnected", "connection dropped by the server"),
    ("Connection aborted", "connection dropped by the server"),
    ("reset by peer", "connection reset"),
)


def _connection_reason(text: str) -> str:
    """A short reason from requests' long connection error text."""
    for needle, reason in _REASONS:
        if needle in text:
            return reason
    return " ".join(text.split())[:120]


@dataclass(frozen=True)
class Page:
    """One page of one entity, as Sonar returned it."""

    entity: str
    records: list[Record]
    number: int

    @property
    def ids(self) -> list[str]:
        """The page's record ids, as strings."""
        return [str(r["id"]) for r in self.records]


# --- references: which parents a selection of customers needs -----------------------------------

REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "account": (
        ("parent_account_id", "account"),
        ("company_id", "company"),
        ("account_status_id", "account_status"),
        ("account_type_id", "account_type"),
        ("account_groups.id", "account_group"),
        ("custom_field_data.custom_field_id", "custom_field"),
        ("ip_assignments.subnet_id", "subnet"),
        ("ip_assignments.ip_pool_id", "ip_pool"),
    ),
    "account_service": (
        ("service_id", "service"),
        *(
            (f"{held}ip_assignments.{column}", network)
            for held in ("", "inventory_items.", "account.radius_accounts.", "account.uninventoried_mac_addresses.")
            for column, network in (("subnet_id", "subnet"), ("ip_pool_id", "ip_pool"))
        ),
    ),
    "account_package": (("package_id", "package"),),
    "ip_assignment": (("subnet_id", "subnet"), ("ip_pool_id", "ip_pool")),
    "package": (("company_id", "company"), ("package_services.service_id", "service")),
    "inventory_item": (("inventory_model_id", "inventory_model"),),
    "inventory_model": (
        ("manufacturer_id", "manufacturer"),
        ("inventory_model_category_id", "inventory_model_category"),
        ("default_vendor_id", "vendor"),
    ),
    "ip_pool": (("subnet_id", "subnet"),),
    "subnet": (("supernet_id", "supernet"),),
    "service": (("company_id", "company"),),
    "user": (("role_id", "role"),),
}
"""entity -> (path in its record, parent entity). A dotted path walks into a list or a connection."""

PARENT_ORDER: tuple[str, ...] = (
    "inventory_model", "manufacturer", "inventory_model_category", "vendor",
    "ip_pool", "subnet", "supernet", "package", "service", "company",
    "account_status", "account_type", "account_group", "custom_field", "user", "role",
)  # fmt: skip
"""Parents fetched by id for a customer selection, children before their own parents."""


def _values_at(record: Any, path: Sequence[str]) -> Iterator[Any]:
    if isinstance(record, dict) and "entities" in record and path and path[0] != "entities":
        record = record["entities"]
    if isinstance(record, list):
        for item in record:
            yield from _values_at(item, path)
        return
    if not path:
        yield record
    elif isinstance(record, dict):
        yield from _values_at(record.get(path[0]), path[1:])


def references(entity: str, record: Record) -> Iterator[tuple[str, str]]:
    """The (parent entity, parent id) pairs a record points at; a pure function, for the planner."""
    for path, parent in REFERENCES.get(entity, ()):
        for value in _values_at(record, path.split(".")):
            if value is not None and value != "":
                yield parent, str(value)


@dataclass
class ReferenceSet:
    """Parent ids referenced by what was extracted so far, and which of them were fetched."""

    wanted: dict[str, set[str]] = field(default_factory=dict)
    found: dict[str, set[str]] = field(default_factory=dict)

    def add(self, page: Page) -> None:
        """Remember the page's records as found and their parents as wanted."""
        if page.entity in PARENT_ORDER or page.entity == "account":  # children are never looked up
            self.found.setdefault(page.entity, set()).update(page.ids)
        for record in page.records:
            for parent, parent_id in references(page.entity, record):
                self.wanted.setdefault(parent, set()).add(parent_id)

    def pending(self, entity: str) -> list[str]:
        """Referenced ids of an entity not fetched yet, in numeric order."""
        missing = self.wanted.get(entity, set()) - self.found.get(entity, set())
        return sorted(missing, key=lambda i: (len(i), i))


# --- the extractor ---------------------------------------------------------------------------------


class SonarExtractor:
    """Every read the pipeline needs from Sonar: selections, by id, by parent, id scans and counts."""

    def __init__(self, client: SonarClient, *, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"page size {page_size} is outside 1..{MAX_PAGE_SIZE}", fix="use 100 to 1000")
        self.client = client
        self.page_size = page_size
        self.history_since: date | None = None  # the history window's first day (`--history-since`), set per run
        self._statuses: list[Record] | None = None

    @classmethod
    def from_settings(cls, settings: Any, **options: Any) -> SonarExtractor:
        """Build from `etl.config.Settings`, refusing a missing URL or token in one line."""
        if not settings.sonar_url:
            raise ConfigError("the Sonar URL is not set", fix="set ETL_SONAR_URL (or url under sonar in etl.toml)")
        if not settings.sonar_token:
            raise ConfigError("the Sonar token is not set", fix="set ETL_SONAR_TOKEN (environment or keyring)")
        token = settings.sonar_token.reveal() if hasattr(settings.sonar_token, "reveal") else settings.sonar_token
        page_size = options.pop("page_size", DEFAULT_PAGE_SIZE)
        configured = getattr(settings, "sonar_rate_per_minute", None)
        options.setdefault("rate_per_minute", DEFAULT_RATE_PER_MINUTE if configured is None else configured)
        return cls(SonarClient(settings.sonar_url, str(token), **options), page_size=page_size)

    def close(self) -> None:
        """Release the HTTP session."""
        self.client.close()

    def __enter__(self) -> SonarExtractor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the page walk ------------------------------------------------------------------------

    def _walk(
        self,
        entity: str,
        *,
        doc: DocumentNode | None = None,
        matches: Sequence[tuple[str, str]] = (),
        status_ids: Sequence[str] = (),
        dates: Sequence[Sequence[dict[str, Any]]] = ((),),
        include_archived: bool | None = None,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> Iterator[list[Record]]:
        """Keyset pages of one filter: page 1 of `id > last`, until page_info says nothing is left."""
        root = q.root_field(entity)
        doc = doc or q.document(entity)
        size = page_size or self.page_size
        after: str | None = None
        remaining = limit
        present = q.PRESENT.get(entity, ())
        while remaining is None or remaining > 0:
            per_page = min(size, remaining) if remaining is not None else size
            variables: dict[str, Any] = {
                "paginator": {"page": 1, "records_per_page": per_page},
                "sorter": [{"attribute": "id", "direction": "ASC"}],
                "search": q.build_searches(
                    matches=matches, status_ids=status_ids, dates=dates, after_id=after, present=present
                ),
            }
            if include_archived is not None and entity in q.ARCHIVABLE:
                variables["include_archived"] = include_archived
            connection = self.client.execute(doc, variables)[root]
            records: list[Record] = connection["entities"]
            if records:
                if after is not None and int(records[0]["id"]) <= int(after):
                    raise ConnectionFailure(
                        f"Sonar ignored the id filter on {root}", fix="report this Sonar version"
                    )
                if doc is q.document(entity):
                    self._complete_nested(entity, records)
                yield records
                after = str(records[-1]["id"])
                remaining = None if remaining is None else remaining - len(records)
            if not records or connection["page_info"]["total_pages"] <= 1:
                return

    def _complete_nested(self, entity: str, records: list[Record]) -> None:
        """Read the rest of every nested list longer than one nested page, then check none is short.

        Why: a nested connection (an account's contacts, IP assignments...) returns one page only; the
        query files ask for 100 and `page_info`. A longer list is paged here for its one parent, and any
        list still short (a deeper one, or one that grew while read) stops the run in one line.
        """
        for connection in q.nested_connections(entity):
            for record in records:
                value = record.get(connection)
                if not isinstance(value, dict) or not isinstance(info := value.get("page_info"), dict):
                    continue
                if int(info.get("total_count") or 0) > len(value.get("entities") or []):
                    self._read_rest(entity, connection, record, value)
        for record in records:
            _verified(entity, str(record["id"]), "", record)

    def _read_rest(self, entity: str, connection: str, parent: Record, value: dict[str, Any]) -> None:
        """Pages 2.. of one parent's nested list, appended (by id, once) to what page 1 gave."""
        read: list[Record] = list(value.get("entities") or [])
        seen = {str(r.get("id")) for r in read}
        info = value["page_info"]
        per_page = int(info.get("records_per_page") or len(read) or 1)
        total = int(info["total_count"])
        number = len(read) // per_page + 1
        doc = q.nested_page_document(entity, connection)
        while len(read) < total and (number - 1) * per_page < total:
            variables: dict[str, Any] = {
                "search": q.build_searches(matches=[("id", str(parent["id"]))]),
                "nested": {"page": number, "records_per_page": per_page},
            }
            if entity in q.ARCHIVABLE:
                variables["include_archived"] = True
            parents = self.client.execute(doc, variables)[q.root_field(entity)]["entities"]
            nested = (parents[0].get(connection) or {}) if parents else {}
            chunk = nested.get("entities") or []
            total = int((nested.get("page_info") or {}).get("total_count") or total)
            if not chunk:
                break
            read.extend(r for r in chunk if str(r.get("id")) not in seen)
            seen.update(str(r.get("id")) for r in chunk)
            number += 1
        value["entities"] = read
        value["page_info"] = {**info, "total_count": total}

    def _walk_matching(
        self, entity: str, column: str, values: Iterable[str], **kwargs: Any
    ) -> Iterator[list[Record]]:
        """Pages of records whose `column` equals one of `values`, batched so each request stays small."""
        limit = kwargs.pop("limit", None)
        per_request = q.ids_per_request(len(kwargs.get("status_ids", ())), len(kwargs.get("dates", ((),))))
        for batch in q.batches(values, per_request):
            for records in self._walk(
                entity, matches=[(column, v) for v in batch], limit=limit, **kwargs
            ):
                yield records
                limit = None if limit is None else limit - len(records)
            if limit is not None and limit <= 0:
                return

    def _pages(self, entity: str, chunks: Iterable[list[Record]]) -> Iterator[Page]:
        for number, records in enumerate(chunks, start=1):
            if entity == "account_service":
                records = self._with_account(records)
            elif entity == "radius_account":
                records = self._with_own_account(records)
            elif entity == "account_package":
                records = self._with_members(records)
                if not records:
                    continue
            elif entity == "inventory_assignment":
                records = self._with_holder(records)
            elif entity == "ip_assignment":
                records = self._with_ip_holder(records)
            yield Page(entity, records, number)

    # --- account statuses and the selection ----------------------------------------------------

    def account_statuses(self) -> list[Record]:
        """Sonar's account statuses (fetched once per extractor)."""
        if self._statuses is None:
            self._statuses = [r for rs in self._walk("account_status") for r in rs]
        return self._statuses

    def status_ids(self, names: Sequence[str]) -> list[str]:
        """Resolve status names (case-insensitive) to ids, or say which name Sonar does not know."""
        by_name = {str(s["name"]).lower(): str(s["id"]) for s in self.account_statuses()}
        unknown = [n for n in names if n.lower() not in by_name]
        if unknown:
            known = ", ".join(sorted(str(s["name"]) for s in self.account_statuses()))
            raise ConfigError(f"unknown account status {unknown[0]!r}", fix=f"Sonar has: {known}")
        return [by_name[n.lower()] for n in names]

    def _passes(self, selection: Selection) -> list[list[str]]:
        """Status id groups fetched one after the other: active statuses first when asked."""
        chosen = self.status_ids(selection.statuses) if selection.statuses else []
        if not selection.active_first:
            return [chosen]
        statuses = [s for s in self.account_statuses() if not chosen or str(s["id"]) in chosen]
        active = [str(s["id"]) for s in statuses if s.get("activates_account")]
        inactive = [str(s["id"]) for s in statuses if not s.get("activates_account")]
        return [group for group in (active, inactive) if group]

    def changed_child_account_ids(self, since: datetime) -> list[str]:
        """Accounts whose contacts, addresses, billing, custom fields, services, IPs, RADIUS, MACs or groups changed.

        Why: Sonar bumps `updated_at` on the changed child only, so an incremental run that looked at
        accounts' own dates alone would miss an account whose e-mail (a contact) or plan (a service) changed.
        A child deleted, or a group joined or left, leaves no `updated_at` at all: those are found in
        Sonar's audit log (`_logged_subjects`).
        """
        dates = q.at_or_after("updated_at", since)
        found: set[str] = set()
        contact_ids: set[str] = set()
        for name, (_root, column) in q.CHANGED_CHILDREN.items():
            into = contact_ids if name == "changed_phone_numbers" else found
            for records in self._walk(name, dates=dates, page_size=MAX_PAGE_SIZE):
                into.update(str(r[column]) for r in records if r.get(column) is not None)
        found |= self._held_ip_accounts(dates)
        logged_accounts, logged_contacts = self._logged_subjects(since)
        found |= logged_accounts
        contact_ids |= logged_contacts
        if contact_ids:
            for records in self._walk_matching(
                "changed_contacts", "id", sorted(contact_ids, key=int), page_size=MAX_PAGE_SIZE
            ):
                found.update(str(r["contactable_id"]) for r in records if r.get("contactable_id") is not None)
        return sorted(found, key=int)

    def _held_ip_accounts(self, dates: Any) -> set[str]:
        """Accounts whose RADIUS account, MAC or CPE holds an IP assignment (or a CPE a MAC field) changed in `dates`.

        Such a record names its holder, not the account: each hop of `q.CHANGED_HELD` reads the
        holders by id and follows one column, until the account ids.
        """
        accounts: set[str] = set()
        for name, (_root, holder, hops) in q.CHANGED_HELD.items():
            ids = {
                str(r[holder])
                for records in self._walk(name, dates=dates, page_size=MAX_PAGE_SIZE)
                for r in records
                if r.get(holder) is not None
            }
            for hop, column in hops:
                ids = {
                    str(r[column])
                    for records in self._walk_matching(hop, "id", sorted(ids, key=int), page_size=MAX_PAGE_SIZE)
                    for r in records
                    if r.get(column) is not None
                }
            accounts |= ids
        return accounts

    def _logged_subjects(self, since: datetime) -> tuple[set[str], set[str]]:
        """Account ids and contact ids that Sonar's audit log says lost, gained or left something since `since`.

        Reads the DELETED, DETACHED and ATTACHED logs created since then (`q.LOGGED_CHANGES`, keyset pages
        like every walk) and maps each with `q.logged_subject`. An entry of any other type (a ticket's, or
        an account's under a `loggable_type` we do not recognise) is ignored, and each such type named
        once at warning level: if it is an account's, only `etl run --full` sees what it logged.
        """
        accounts: set[str] = set()
        contacts: set[str] = set()
        unrecognised: set[str] = set()
        for name in q.LOGGED_CHANGES:
            for records in self._walk(name, dates=q.at_or_after("created_at", since), page_size=MAX_PAGE_SIZE):
                for log in records:
                    subject = q.logged_subject(log)
                    if subject is not None:
                        (accounts if subject[0] == "account" else contacts).add(subject[1])
                        continue
                    kind = str(log.get("loggable_type"))
                    if kind not in unrecognised:
                        unrecognised.add(kind)
                        logger.warning(
                            "Sonar log loggable_type {!r} (about {!r}) names no account the extractor knows: "
                            "ignored; if it is an account's, run `etl run --full` to see what it removed",
                            kind, log.get("logged_entity_type"),
                        )  # fmt: skip
        return accounts, contacts

    def _account_chunks(self, selection: Selection) -> Iterator[list[Record]]:
        seen: set[str] = set()
        for records in self._dated_account_chunks(selection):
            seen.update(str(r["id"]) for r in records)
            yield records
        if selection.since is None or selection.until is not None:
            return
        remaining = None if selection.limit is None else selection.limit - len(seen)
        changed = [i for i in self.changed_child_account_ids(selection.since) if i not in seen]
        if selection.customer_ids:
            chosen = set(selection.customer_ids)
            changed = [i for i in changed if i in chosen]
        if not changed or (remaining is not None and remaining <= 0):
            return
        for status_ids in self._passes(selection):
            for records in self._walk_matching(
                "account", "id", changed, status_ids=status_ids,
                include_archived=selection.include_archived, limit=remaining,
            ):  # fmt: skip
                yield records
                remaining = None if remaining is None else remaining - len(records)
            if remaining is not None and remaining <= 0:
                return

    def _dated_account_chunks(self, selection: Selection) -> Iterator[list[Record]]:
        dates = q.date_window(selection.since, selection.until)
        remaining = selection.limit
        for status_ids in self._passes(selection):
            options: dict[str, Any] = {
                "status_ids": status_ids,
                "dates": dates,
                "include_archived": selection.include_archived,
                "limit": remaining,
            }
            if selection.customer_ids:
                chunks = self._walk_matching("account", "id", selection.customer_ids, **options)
            else:
                chunks = self._walk("account", **options)
            for records in chunks:
                yield records
                remaining = None if remaining is None else remaining - len(records)
            if remaining is not None and remaining <= 0:
                return

    def account_pages(self, selection: Selection) -> Iterator[Page]:
        """Accounts of a selection, active ones first (when asked), at most `limit` of them."""
        return self._pages("account", self._account_chunks(selection))

    # --- what the pipeline calls ---------------------------------------------------------------

    def pages(self, entity: str, selection: Selection | None = None, *, together: Sequence[str] = ()) -> Iterator[Page]:
        """Every record of an entity; accounts follow the selection (active first, archived or not).

        `together`: per-account entities read with this one, from the same read of each account.
        """
        if entity == "account":
            return self.account_pages(selection or Selection())
        if entity in q.PER_ACCOUNT or entity in BY_ACCOUNT or entity in BY_TICKET:
            accounts = self.scan_ids("account", include_archived=(selection or Selection()).include_archived)
            return self.history_pages(together or [entity], accounts)
        pages = self._pages(entity, self._walk(entity))
        if entity in ACCOUNT_CHILDREN and not (selection or Selection()).include_archived:
            return (kept for page in pages if (kept := _without_archived_accounts(page)).records)
        return pages

    def fetch_by_ids(self, entity: str, ids: Iterable[str]) -> Iterator[Page]:
        """Re-extract specific records (resume, referenced parents); archived accounts included."""
        if entity == BALANCE:  # one record per account, the account's id
            return self.history_pages([entity], ids)
        if entity in q.PER_ACCOUNT:  # a debit or discount: Sonar books it once, its staged record stands
            return iter(())
        if entity in BY_ACCOUNT or entity in BY_TICKET:
            return self._kept(self.fetch_where(entity, "id", ids))
        archived = True if entity in q.ARCHIVABLE else None
        return self.fetch_where(entity, "id", ids, include_archived=archived)

    def history_pages(self, entities: Sequence[str], account_ids: Iterable[str]) -> Iterator[Page]:
        """The wanted history entities of these accounts inside the history window, each account read once."""
        ids = list(account_ids)
        per_account = [e for e in entities if e in q.PER_ACCOUNT]
        if per_account:
            yield from history_pages(self.client, per_account, ids, self.page_size, self.history_since)
        tickets: list[str] = []
        for entity in (e for e in entities if e in BY_ACCOUNT):
            for page in self._kept(self.fetch_where(entity, BY_ACCOUNT[entity], ids)):
                tickets.extend(page.ids if entity == TICKET else ())
                yield page
        by_ticket = [e for e in entities if e in BY_TICKET]
        if by_ticket and TICKET not in entities:  # a ticket's messages without it: its ids still come first
            tickets = [i for page in self._kept(self.fetch_where(TICKET, BY_ACCOUNT[TICKET], ids)) for i in page.ids]
        for entity in by_ticket:
            yield from self._kept(self.fetch_where(entity, BY_TICKET[entity], tickets))

    def _kept(self, pages: Iterable[Page]) -> Iterator[Page]:
        """Invoices and payments dated inside the history window (all without one); notes and tickets of accounts.

        Why tickets are filtered here: Sonar's `ticketable_id` names a network site's id too (ids are per type).
        """
        for page in pages:
            if page.entity in ABOUT_ACCOUNTS:
                kept = [r for r in page.records if _about_account(r, ABOUT_ACCOUNTS[page.entity])]
            else:
                dated = WINDOW_DATE[page.entity]
                kept = [r for r in page.records if in_window(r.get(dated), self.history_since)]
            if kept:
                yield Page(page.entity, kept, page.number)

    def fetch_where(
        self, entity: str, column: str, values: Iterable[str], *, include_archived: bool | None = None
    ) -> Iterator[Page]:
        """Records whose `column` is one of `values`, e.g. account services by `account_id`."""
        chunks = self._walk_matching(entity, column, [str(v) for v in values], include_archived=include_archived)
        return self._pages(entity, chunks)

    def scan_ids(self, entity: str, include_archived: bool = True) -> Iterator[str]:
        """Every id of an entity (id-only pages of 1000), to find records deleted or archived in Sonar."""
        archived = include_archived if entity in q.ARCHIVABLE else None
        for records in self._walk(
            entity, doc=q.id_document(entity), include_archived=archived, page_size=MAX_PAGE_SIZE
        ):
            for record in records:
                yield str(record["id"])

    def count(self, entity: str, selection: Selection | None = None) -> int:
        """How many records a fetch would return (one `records_per_page: 1` request per id batch).

        For a `q.GROUPED` entity: how many of the root field's records it is made of, an upper bound. A
        `q.PER_ACCOUNT` entity has one record per account.
        """
        if entity in q.PER_ACCOUNT:  # the accounts read (as many balances; the debits: unknown until read)
            return self.count("account", selection)
        if entity != "account" or selection is None:
            return self._count(entity, include_archived=False if entity in q.ARCHIVABLE else None)
        status_ids = self.status_ids(selection.statuses) if selection.statuses else []
        options: dict[str, Any] = {
            "status_ids": status_ids,
            "dates": q.date_window(selection.since, selection.until),
            "include_archived": selection.include_archived,
        }
        if selection.customer_ids:
            per_request = q.ids_per_request(len(status_ids), len(options["dates"]))
            total = sum(
                self._count("account", matches=[("id", i) for i in batch], **options)
                for batch in q.batches(selection.customer_ids, per_request)
            )
        else:
            total = self._count("account", **options)
        return min(total, selection.limit) if selection.limit else total

    def _count(self, entity: str, **options: Any) -> int:
        archived = options.pop("include_archived", None)
        variables: dict[str, Any] = {
            "paginator": {"page": 1, "records_per_page": 1},
            "search": q.build_searches(present=q.PRESENT.get(entity, ()), **options),
        }
        if archived is not None and entity in q.ARCHIVABLE:
            variables["include_archived"] = archived
        data = self.client.execute(q.id_document(entity), variables)
        return int(data[q.root_field(entity)]["page_info"]["total_count"])

    def _with_account(self, records: list[Record]) -> list[Record]:
        """Fold each service's account (status, IPs, RADIUS accounts, MACs) into it; Sonar assigns them to accounts.

        Of the service's inventory items only their IPs and MAC fields stay (`_cpe_view`): they are the
        service's.

        RADIUS passwords are sealed (replaced by a digest) here, before anything can stage them.
        """
        folded = self.by_account("account_service_accounts", (r["account_id"] for r in records))
        accounts = {account_id: seal(account) for account_id, account in folded.items()}
        enriched = []
        for record in records:
            account = accounts.get(str(record["account_id"]), {})
            assignments = (account.get("ip_assignments") or {}).get("entities") or []
            view = _as_seen_by(account, record) if account else None
            items = [held for i in _listed(record.get("inventory_items")) if (held := _cpe_view(i))]
            if not _is_data(record):  # IPs, logins and MACs are the internet services' (docstring above)
                assignments, items = [], []
            bundle = {"bundle_of": leader} if (leader := _package_leader(account, record)) else {}
            enriched.append(
                {**record, "account": view, "ip_assignments": assignments, "inventory_items": items, **bundle}
            )
        return enriched

    def _with_members(self, records: list[Record]) -> list[Record]:
        """Account packages: of the account services in a package, the lowest-id one per relationship, with its members.

        Sonar has no record for a package on an account; its services share a `unique_package_relationship_id`.
        The lowest id among them names the package (stable while the package stays on the account); the
        members carry what their bundle's price is made of (`account_package_accounts`).
        """
        packaged = [r for r in records if r.get("package_id") and r.get("unique_package_relationship_id")]
        accounts = self.by_account("account_package_accounts", (r["account_id"] for r in packaged))
        found = []
        for record in packaged:
            account = accounts.get(str(record["account_id"]), {})
            if _package_leader(account, record) != str(record["id"]):
                continue
            members = _package_members(account, record)
            view = {k: account.get(k) for k in ("id", "archived_at", "account_status")}
            latest = max((str(m.get("updated_at") or "") for m in members), default="")
            found.append({**record, "updated_at": latest or None, "account": view, "members": members})
        return found

    def by_account(self, fold: str, account_ids: Iterable[Any]) -> dict[str, Record]:
        """An account fold by account id, archived accounts included (a service names its account by id)."""
        wanted = sorted({str(i) for i in account_ids}, key=int)
        accounts: dict[str, Record] = {}
        for chunk in self._walk_matching(
            fold, "id", wanted, doc=q.document(fold), include_archived=True, page_size=MAX_PAGE_SIZE
        ):
            accounts.update((str(a["id"]), a) for a in chunk)
        return accounts

    def _with_own_account(self, records: list[Record]) -> list[Record]:
        """Seal each RADIUS account's password and fold in what of its account says whether it has a service.

        The account's status (a service's status follows it), its DATA services and its RADIUS accounts'
        ids: the pairing (transformers/service_access.py) gives the first ones to the DATA services.
        """
        folded = self.by_account("account_service_accounts", (r["account_id"] for r in records))
        accounts = {account_id: _pairing_view(account) for account_id, account in folded.items()}
        return [{**seal_one(dict(r)), "account": accounts.get(str(r["account_id"]))} for r in records]

    def _with_holder(self, records: list[Record]) -> list[Record]:
        """Fold into each item the address holding it and the service it serves: they name its account.

        Shaped as the SDL's `inventoryitemable` (an Address: `addressable_type`, `addressable_id`) and
        `account_service` (`account_id`) relations would be, but read through the `addresses` and
        `account_services` root fields in id batches, as a service's account is: the simulator serves no
        interface types, and the transformer then reads one shape whichever way it came.
        """
        addresses = self.by_id("inventory_assignment_addresses", map(_item_address_id, records))
        services = self.by_id("inventory_assignment_services", (r.get("account_service_id") for r in records))
        return [
            {
                **record,
                "inventoryitemable": addresses.get(_item_address_id(record) or ""),
                "account_service": services.get(str(record.get("account_service_id"))),
            }
            for record in records
        ]

    def _with_ip_holder(self, records: list[Record]) -> list[Record]:
        """Fold into each IP assignment what holds it (`holder`) and the Sonar account that holder belongs to.

        Read through the root fields in id batches, as an item's holder is (the simulator serves no interface
        types): a RADIUS account's or MAC's `account_id`; a CPE's service and place, whose account is the
        service's or the address's; an account holds its own. `account` then says whether a service takes the
        IP (transformers/ip_assignment.py).
        """

        def held_by(kind: str) -> list[Any]:
            return [r["ipassignmentable_id"] for r in records if ip_holder_type(r) == kind]

        folds = {kind: self.by_id(fold, held_by(kind)) for kind, fold in IP_HOLDER_FOLDS.items()}
        folds["InventoryItem"] = {str(i["id"]): i for i in self._with_holder(list(folds["InventoryItem"].values()))}
        holders = [_ip_holder(r, folds) for r in records]
        accounts = self.by_account("ip_assignment_accounts", (h["account_id"] for h in holders if h.get("account_id")))
        return [
            {**r, "holder": h, "account": accounts.get(str(h.get("account_id")))}
            for r, h in zip(records, holders, strict=True)
        ]

    def by_id(self, fold: str, ids: Iterable[Any]) -> dict[str, Record]:
        """Records of an auxiliary query by id (pages of 1000), e.g. folds or the passwords `etl.secrets` reads."""
        wanted = sorted({str(i) for i in ids if i is not None and i != ""}, key=int)
        found: dict[str, Record] = {}
        for chunk in self._walk_matching(fold, "id", wanted, doc=q.document(fold), page_size=MAX_PAGE_SIZE):
            found.update((str(r["id"]), r) for r in chunk)
        return found


IP_HOLDER_FOLDS = {
    "RadiusAccount": "ip_assignment_radius",
    "UninventoriedMacAddress": "ip_assignment_macs",
    "InventoryItem": "ip_assignment_items",
}
"""Holder type of an IP assignment -> the fold that reads those holders by id (accounts hold their own)."""


def ip_holder_type(record: Record) -> str:
    """Sonar's `ipassignmentable_type` of an IP assignment (an account's own when unset)."""
    return str(record.get("ipassignmentable_type") or "Account")


def _item_address_id(item: Record) -> str | None:
    held = item.get("inventoryitemable_type") == "Address"
    return str(item["inventoryitemable_id"]) if held else None


def _item_account_id(item: Record) -> Any:
    """The account holding an item folded by `_with_holder`: its address's account, else its service's.

    The rule of transformers/inventory_assignment.py `holder_account` (an item's customer), read here because
    the account must be fetched before any transform; the two must stay the same.
    """
    address, service = item.get("inventoryitemable") or {}, item.get("account_service") or {}
    at_account = item.get("inventoryitemable_type") == "Address" and address.get("addressable_type") == "Account"
    if at_account and address.get("addressable_id") is not None:
        return address["addressable_id"]
    return service.get("account_id")


def _ip_holder(record: Record, folds: dict[str, dict[str, Record]]) -> Record:
    """What holds one IP assignment: its type and id, and the id of the Sonar account it belongs to (or None)."""
    kind, holder_id = ip_holder_type(record), str(record.get("ipassignmentable_id"))
    found = dict(folds.get(kind, {}).get(holder_id) or {})
    account_id: Any = holder_id if kind == "Account" else found.get("account_id")
    if kind == "InventoryItem":
        account_id = _item_account_id(found)
    return {
        "type": kind,
        "id": holder_id,
        "account_id": None if account_id is None else str(account_id),
        "account_service_id": found.get("account_service_id"),
    }


def _package_leader(account: Record, record: Record) -> str | None:
    """The id of the account service that names the package `record` is in (its relationship's lowest id)."""
    if not (record.get("package_id") and record.get("unique_package_relationship_id")):
        return None
    return str(min([*(int(s["id"]) for s in _package_members(account, record)), int(record["id"])]))


def _package_members(account: Record, record: Record) -> list[Record]:
    """The account's services in the same package relationship as `record` (as the account fold lists them)."""
    relationship = record.get("unique_package_relationship_id")
    services = _listed(account.get("account_services"))
    return [s for s in services if s.get("unique_package_relationship_id") == relationship]


def _pairing_view(account: Record) -> Record:
    """What of an account a RADIUS account's transform needs: status, archival, DATA services, RADIUS ids.

    Only ids of the RADIUS accounts (no digests): another RADIUS account's new password must not change
    this one's staged record.
    """
    services = _listed(account.get("account_services"))
    radius = _listed(account.get("radius_accounts"))
    return {
        "id": account.get("id"),
        "archived_at": account.get("archived_at"),
        "account_status": account.get("account_status"),
        "account_services": [s for s in services if (s.get("service") or {}).get("type") == "DATA"],
        "radius_accounts": [{"id": r.get("id")} for r in radius],
    }


ACCOUNT_CHILDREN = ("account_service", "radius_account", "account_package")
"""Entities read as children of accounts: an archived account's are left out unless archived ones are selected."""
BALANCE = "account_balance"
BY_ACCOUNT: dict[str, str] = {
    "account_invoice": "account_id", "account_payment": "account_id", "account_note": "noteable_id",
    "ticket": "ticketable_id",
}  # fmt: skip
"""History entities read from their own root field by the column naming the account (not per account from
`core_transactions`): invoices, payments, and notes (whose `noteable_id` is an account's only when
`noteable_type` says so)."""
BY_TICKET: dict[str, str] = {"ticket_reply": "ticket_id", "ticket_comment": "ticket_id"}
"""History entities read by the tickets a selection read (a reply or comment names its ticket, not its account)."""
TICKET = "ticket"
ABOUT_ACCOUNTS: dict[str, tuple[str, ...]] = {
    "account_note": ("noteable_type",),
    TICKET: ("ticketable_type",),
    "ticket_reply": ("ticket", "ticketable_type"),
    "ticket_comment": ("ticket", "ticketable_type"),
}
"""Entities kept only when they are about an account: the path to the field naming what they are about."""
WINDOW_DATE = {"account_invoice": "date", "account_payment": "payment_datetime"}
"""The field that places a history record read by account inside or before the window."""
HISTORY_ENTITIES = (
    "account_balance", "account_invoice", "account_transaction", "account_payment", "account_note",
    "ticket", "ticket_reply", "ticket_comment",
)  # fmt: skip
"""What an account's history is made of, read after its other children, in this order."""
ACCOUNT_TYPE = "Account"


def _about_account(record: Record, path: tuple[str, ...]) -> bool:
    """Whether the field at `path` (`ticket.ticketable_type`: through a relation) says an account."""
    value: Any = record
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return bool(value == ACCOUNT_TYPE)

INTERNET_ONLY = ("ip_assignments", "radius_accounts", "uninventoried_mac_addresses")
"""Parts of an account's fold only its internet (DATA) services are made of."""


def _cpe_view(item: Record) -> Record | None:
    """What of a service's inventory item is the service's: the IPs it holds and its MAC fields (None: neither).

    Why so little: a swapped CPE without an address, or an edited serial number, must not re-PUT the service.
    """
    macs = [
        {"id": d.get("id"), "value": d.get("value")}
        for d in _listed(item.get("inventory_model_field_data"))
        if (d.get("inventory_model_field") or {}).get("type") == "MAC_ADDRESS" and d.get("value")
    ]
    ips = _listed(item.get("ip_assignments"))
    if not (macs or ips):
        return None
    return {"id": item.get("id"), "ip_assignments": ips, "macs": macs}


def _listed(value: Any) -> list[Record]:
    """The records of a nested list as staged (`{"entities": [...]}` once verified, or a plain list)."""
    if isinstance(value, dict):
        value = value.get("entities")
    return [v for v in value or [] if isinstance(v, dict)]


def _is_data(record: Record) -> bool:
    """Whether an account service is a subscription to a DATA plan (one without its plan read counts as one)."""
    return str((record.get("service") or {}).get("type") or "DATA") == "DATA"


def _as_seen_by(account: Record, record: Record) -> Record:
    """The account as one of its services needs it: only what that service's Splynx record is made of.

    Its DATA services (they alone pair with RADIUS accounts and MACs), its subscriptions to the same Sonar
    service and the DIDs assigned for that service (a voice line's number); IPs, RADIUS accounts and MACs
    for an internet service only. Why not the whole account:
    every service of the account carries this fold, so a router rental or a phone number added elsewhere
    would otherwise change each sibling's staged record and re-PUT it for nothing.
    """
    service_id = str(record.get("service_id"))

    def kept(service: Record) -> bool:
        plan = service.get("service") or {}
        return plan.get("type") == "DATA" or str(plan.get("id")) == service_id

    view = dict(account) if _is_data(record) else {k: v for k, v in account.items() if k not in INTERNET_ONLY}
    services = account.get("account_services")
    if isinstance(services, dict):
        view["account_services"] = {**services, "entities": [s for s in services.get("entities") or [] if kept(s)]}
    dids = account.get("did_assignments")
    if isinstance(dids, dict):
        mine = [d for d in dids.get("entities") or [] if str(d.get("service_id")) == service_id]
        if mine:
            view["did_assignments"] = {**dids, "entities": mine}
        else:
            view.pop("did_assignments")
    return view


def _verified(entity: str, parent_id: str, path: str, value: Any) -> None:
    """Check every nested list under a record is complete, dropping its `page_info` (staged as before)."""
    if isinstance(value, list):
        for item in value:
            _verified(entity, parent_id, path, item)
        return
    if not isinstance(value, dict):
        return
    info = value.pop("page_info", None) if path else None
    if isinstance(info, dict) and "entities" in value:
        read, total = len(value.get("entities") or []), int(info.get("total_count") or 0)
        if total > read:
            raise IncompleteList(
                f"Sonar {entity} {parent_id}: {path} has {total} records (page_info.total_count) but {read} were read",
                fix="the list changed while it was read, or this Sonar ignores nested paginators: resume; "
                "if it repeats, report this line",
            )
    for key, inner in value.items():
        if isinstance(inner, dict | list):
            _verified(entity, parent_id, f"{path}.{key}".strip(".").replace(".entities", ""), inner)


def _without_archived_accounts(page: Page) -> Page:
    """Services of archived accounts: their accounts are not selected, so neither are they."""
    kept = [r for r in page.records if not (r.get("account") or {}).get("archived_at")]
    return Page(page.entity, kept, page.number)


# --- extraction into staging and the ledger ---------------------------------------------------------


class PageRecorder:
    """Stages a page and records its items as `extracted` (with their source hash), in that order.

    Why this order: the ledger must never claim an item is extracted unless its record is on disk;
    a crash between the two leaves a staged page without items, which a resume simply extracts again.
    """

    def __init__(self, ledger: Ledger, stager: StagingWriter, run_id: int) -> None:
        self.ledger = ledger
        self.stager = stager
        self.run_id = run_id

    def __call__(self, page: Page) -> None:
        """Stage the page, then record its items."""
        hashes = [source_hash(r) for r in page.records]
        self.stager.write(page.entity, page.records, hashes)
        pairs = list(zip(page.ids, hashes, strict=True))
        new = self.ledger.add_items(
            self.run_id, page.entity, pairs, state=ItemState.EXTRACTED, phase=PHASES.get(page.entity, "")
        )
        if new < len(pairs):
            self._refresh(page.entity, pairs)

    def _refresh(self, entity: str, pairs: list[tuple[str, str]]) -> None:
        """Items already in the run (resume, re-extract) move to `extracted` with their new hash."""
        for source_id, digest in pairs:
            item = self.ledger.item(self.run_id, entity, source_id)
            if item is None or (item.state == ItemState.EXTRACTED and item.source_hash == digest):
                continue
            if is_legal(ItemState(item.state), ItemState.EXTRACTED):
                self.ledger.move(
                    self.run_id, entity, source_id, ItemState.EXTRACTED, source_hash=digest, detail="re-extracted"
                )
            else:
                logger.debug("{} {} stays {}: already past extraction", entity, source_id, item.state)

    def missing(self, entity: str, ids: Sequence[str]) -> None:
        """Note parents a selection references that Sonar did not return (deleted, or not a plan)."""
        for source_id in ids:
            self.ledger.event(
                self.run_id, "referenced by the selection but not returned by Sonar", entity, source_id
            )


PageSink = Callable[[Page], None]


def extract(
    extractor: SonarExtractor,
    selection: Selection,
    sink: PageSink,
    *,
    entities: Sequence[str] | None = None,
    on_missing: Callable[[str, Sequence[str]], None] | None = None,
) -> dict[str, int]:
    """Extract a selection, handing each page to `sink` (stage + ledger) before going on.

    Everything (`selection.is_everything`): every entity in full, in phase order. A customer selection:
    its accounts, their services and equipment page by page, then only the parents they reference.
    Returns records extracted per entity.
    """
    wanted = set(entities or q.entities())
    unknown = wanted - set(q.entities())
    if unknown:
        raise ConfigError(f"unknown entity {sorted(unknown)[0]!r}", fix=f"use any of {', '.join(q.entities())}")
    counts: dict[str, int] = {}

    def deliver(page: Page) -> None:
        if page.entity in wanted:
            sink(page)
            counts[page.entity] = counts.get(page.entity, 0) + len(page.records)

    if selection.is_everything:
        per_account = [e for e in q.entities() if e in wanted and e in q.PER_ACCOUNT]
        for entity in q.entities():
            if entity not in wanted or entity in per_account[1:]:
                continue  # the first per-account entity reads the others' records too, each account once
            pages = extractor.pages(entity, selection, together=per_account if entity in per_account else ())
            for page in pages:
                deliver(page)
        return counts
    refs = ReferenceSet()
    for page in chain(extractor.account_pages(selection), _parent_accounts(extractor, refs)):
        deliver(page)
        refs.add(page)
        _extract_children(extractor, page, deliver, refs, wanted)
    for entity in PARENT_ORDER:
        if not needed(entity, wanted):
            continue
        ids = refs.pending(entity)
        for page in extractor.fetch_by_ids(entity, ids):
            deliver(page)
            refs.add(page)
        missing = refs.pending(entity)
        if missing and on_missing is not None and entity in wanted:
            on_missing(entity, missing)
    return counts


def _parent_accounts(extractor: SonarExtractor, refs: ReferenceSet) -> Iterator[Page]:
    """The main accounts of the selected child accounts, level by level, until none is missing.

    Why: a child's `parent_id` is its parent's Splynx id, so a customer selection migrates the parents
    with their services as whole customers (archived ones included, as any record fetched by id).
    Consumed after the selection's own pages, so `refs` already holds them as found.
    """
    while pending := refs.pending("account"):
        fetched = 0
        for page in extractor.fetch_by_ids("account", pending):
            fetched += len(page.records)
            yield page
        if not fetched:  # a parent Sonar does not return: the child fails with missing_parent
            return


def needed(entity: str, wanted: set[str]) -> bool:
    """Whether a selection must read an entity: it is wanted, or leads to a wanted parent by reference."""
    if entity in wanted:
        return True
    return any(needed(parent, wanted) for _path, parent in REFERENCES.get(entity, ()) if parent != entity)


def _extract_children(
    extractor: SonarExtractor, accounts: Page, deliver: PageSink, refs: ReferenceSet, wanted: set[str]
) -> None:
    """One page of accounts' services and RADIUS logins, the equipment the accounts hold, and who holds it."""
    children = ("account_service", "inventory_assignment", "account_package", "ip_assignment", *HISTORY_ENTITIES)
    if not any(needed(entity, wanted) for entity in children):
        return
    service_ids: list[str] = []
    for services in extractor.fetch_where("account_service", "account_id", accounts.ids):
        deliver(services)
        refs.add(services)
        service_ids.extend(services.ids)
    holders = {("Account", i) for i in accounts.ids}  # what holds the IPs a selection reads (held_ips)
    if needed("radius_account", wanted) or needed("ip_assignment", wanted):
        for logins in extractor.fetch_where("radius_account", "account_id", accounts.ids):
            holders.update(("RadiusAccount", i) for i in logins.ids)
            if needed("radius_account", wanted):
                deliver(logins)
                refs.add(logins)
    if needed("ip_assignment", wanted):
        for macs in extractor.fetch_where("account_macs", "account_id", accounts.ids):
            holders.update(("UninventoriedMacAddress", i) for i in macs.ids)
    if needed("account_package", wanted):
        for packages in extractor.fetch_where("account_package", "account_id", accounts.ids):
            deliver(packages)
            refs.add(packages)
    for entity in ("inventory_item", "inventory_assignment"):
        if needed(entity, wanted) or (entity == "inventory_item" and needed("ip_assignment", wanted)):
            for items in held_items(extractor, entity, accounts, service_ids):
                holders.update(("InventoryItem", i) for i in items.ids)
                if needed(entity, wanted):
                    deliver(items)
                    refs.add(items)
    if needed("ip_assignment", wanted):
        for page in held_ips(extractor, holders):
            deliver(page)
            refs.add(page)
    history = [entity for entity in HISTORY_ENTITIES if needed(entity, wanted)]
    if history:
        for page in extractor.history_pages(history, accounts.ids):
            deliver(page)


def held_ips(extractor: SonarExtractor, holders: set[tuple[str, str]]) -> Iterator[Page]:
    """Pages of the IP assignments of a selection's accounts: their own, their RADIUS accounts', MACs' and CPEs'.

    Why not network sites': a selection reads its accounts' own records; `--all` reads every IP assignment.
    Sonar's ids are per type, so the (type, id) pairs are matched after the read.
    """
    ids = sorted({holder_id for _kind, holder_id in holders}, key=int)
    for page in extractor.fetch_where("ip_assignment", "ipassignmentable_id", ids):
        kept = [r for r in page.records if (ip_holder_type(r), str(r["ipassignmentable_id"])) in holders]
        if kept:
            yield Page(page.entity, kept, page.number)


def held_items(extractor: SonarExtractor, entity: str, accounts: Page, service_ids: Sequence[str]) -> Iterator[Page]:
    """Pages of the items the accounts hold, each item once: on one of their services or at one of their addresses.

    Why both: Sonar places a customer's device at the account's address (`inventoryitemable_type`
    Address) and usually on the service it serves too, but either may be set without the other.
    """
    address_ids = [str(v) for account in accounts.records for v in _values_at(account, ("addresses", "id"))]
    seen: set[str] = set()
    sources = (
        (extractor.fetch_where(entity, "account_service_id", service_ids), False),
        (extractor.fetch_where(entity, "inventoryitemable_id", address_ids), True),
    )
    for pages, at_address in sources:
        for page in pages:
            kept = [
                r
                for r in page.records
                if str(r["id"]) not in seen and (not at_address or r.get("inventoryitemable_type") == "Address")
            ]
            seen.update(str(r["id"]) for r in kept)
            if kept:
                yield Page(page.entity, kept, page.number)


class Progress(Protocol):
    """What `extract_to_staging` reports to a progress display (the CLI's Rich bars)."""

    def start(self, entity: str, total: int | None) -> None:
        """An entity's expected record count (None when unknown until its parents are read)."""

    def advance(self, entity: str, records: int) -> None:
        """A page of `records` was staged and recorded."""


def expected_totals(
    extractor: SonarExtractor, selection: Selection, entities: Sequence[str] | None = None
) -> dict[str, int | None]:
    """Record counts for progress and ETA: every entity for `--all`; for a selection only its accounts.

    Counting first also fails fast (bad token, unreachable URL, unknown status) before a run is opened.
    """
    wanted = [e for e in q.entities() if entities is None or e in entities]
    if selection.is_everything:
        return {
            e: None if e in q.UNCOUNTED else extractor.count(e, selection if e == "account" else None) for e in wanted
        }
    totals: dict[str, int | None] = dict.fromkeys(wanted)
    if "account" in totals:
        totals["account"] = extractor.count("account", selection)
    else:
        extractor.count("account", selection)
    return totals


@dataclass(frozen=True)
class ExtractResult:
    """What an extract run did: its ledger run id and the records staged per entity."""

    run_id: int
    counts: dict[str, int]


def extract_to_staging(
    extractor: SonarExtractor,
    ledger: Ledger,
    staging_dir: Path,
    selection: Selection,
    *,
    entities: Sequence[str] | None = None,
    progress: Progress | None = None,
    kind: str = "extract",
) -> ExtractResult:
    """`etl extract`: open a ledger run, stage and record every page of the selection, close the run."""
    totals = expected_totals(extractor, selection, entities)
    run_id = ledger.start_run(
        kind, selection=selection.to_json(), options={"entities": list(totals), "page_size": extractor.page_size}
    )
    recorder = PageRecorder(ledger, StagingWriter(staging_dir, run_id), run_id)
    for entity, total in totals.items():
        if progress is not None:
            progress.start(entity, total)

    def sink(page: Page) -> None:
        recorder(page)
        if progress is not None:
            progress.advance(page.entity, len(page.records))

    try:
        counts = extract(extractor, selection, sink, entities=list(totals), on_missing=recorder.missing)
    except KeyboardInterrupt:
        ledger.finish_run(run_id, RunStatus.INTERRUPTED, "interrupted during extraction")
        raise
    except Exception as exc:
        message = exc.one_line() if isinstance(exc, EtlError) else f"{type(exc).__name__}: {exc}"
        ledger.finish_run(run_id, RunStatus.FAILED, message)
        raise
    ledger.finish_run(run_id, RunStatus.SUCCEEDED, f"extracted {sum(counts.values())} records")
    return ExtractResult(run_id, counts)


__all__ = [
    "PARENT_ORDER",
    "PHASES",
    "ExtractResult",
    "IncompleteList",
    "Page",
    "PageRecorder",
    "PageSink",
    "Progress",
    "RatePacer",
    "ReferenceSet",
    "SchemaMismatch",
    "SonarClient",
    "SonarExtractor",
    "expected_totals",
    "extract",
    "extract_to_staging",
    "references",
]
