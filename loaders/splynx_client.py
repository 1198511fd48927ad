"""A Splynx REST API v2 client: signing, tokens, safe retries, pacing, and errors a user can act on.

Why its own module: every call the loader makes goes through three decisions that must be right
once — how to authenticate (HMAC-signed key with a strictly increasing nonce, or an access token
renewed before it expires), whether a failed call may be repeated (a POST whose request may have
reached Splynx must never be repeated blindly: it raises `UncertainWrite` so the loader can look
the record up by its migration marker), and what the user is told (one line, never a secret).
See /work/shared/api/splynx.md for the API facts this follows.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from etl.errors import ConnectionFailure, RecordError, RecordProblem, RetryableError
from loaders.ratelimit import TokenBucket

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
Query = list[tuple[str, str]]  # encoded query pairs, as `php_query` builds them
Body = Mapping[str, Any] | Callable[[], Mapping[str, Any]]  # a callable is rebuilt for each attempt
NEVER_SENT = frozenset({"NewConnectionError", "NameResolutionError"})
SECRET_FIELDS = ("password", "secret", "token", "key")
CREDENTIALS_FIX = "check ETL_SPLYNX_KEY/ETL_SPLYNX_SECRET and the key's permissions (Splynx: Administration > API keys)"
NOT_SPLYNX_FIX = "a proxy or maintenance page answered instead of Splynx: check ETL_SPLYNX_URL / retry later"
BODY_EXCERPT = 60  # bytes of an unreadable answer shown in its error line
T = TypeVar("T")
Decoder = Callable[[requests.Response], T]  # turns a 2xx answer into a value, or raises _BadAnswer


class UncertainWrite(RetryableError):
    """A POST whose request may have reached Splynx, but whose answer never came back.

    Repeating it could create the record twice; the caller must first look the record up by its
    migration marker (and adopt it if it is there).
    """


class NotFound(RecordError):
    """Splynx answered 404 for a record or path."""


class ValidationRefused(RecordError):
    """Splynx answered 422; `errors` keeps every (field, message) pair, not only the first."""

    def __init__(self, problem: RecordProblem, errors: list[tuple[str | None, str]]) -> None:
        super().__init__(problem)
        self.errors = errors


class _BadAnswer(Exception):
    """Internal: a 2xx answer that is not what Splynx sends there (HTML, cut JSON, wrong shape)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Transient(Exception):
    """Internal: one attempt failed in a way that is safe to repeat; carries the error to surface."""

    def __init__(self, error: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


# --- pure helpers ---------------------------------------------------------------------------------


def php_query(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested dicts/lists into PHP `http_build_query` pairs (`a[b][0]=x`), as Splynx expects."""
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}[{key}]" if prefix else str(key), sub)
        elif isinstance(value, list | tuple):
            for index, sub in enumerate(value):
                walk(f"{prefix}[{index}]", sub)
        elif value is not None:
            pairs.append((prefix, _scalar(value)))

    walk("", params)
    return pairs


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def coerce_id(value: Any) -> str:
    """Splynx returns ids as 12, "12" or 12.0 depending on the endpoint; we always use "12"."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return str(int(text)) if text.lstrip("-").isdigit() else text


def _redact(field: str | None, value: Any) -> str | None:
    if value is None:
        return None
    if field and any(word in field.lower() for word in SECRET_FIELDS):
        return "***"
    return str(value)


def _error_message(payload: Any) -> tuple[str, str]:
    """(internal_code, message) from Splynx's `{"error": {...}}` envelope, tolerant of anything else."""
    if isinstance(payload, Mapping) and isinstance(payload.get("error"), Mapping):
        err = payload["error"]
        return str(err.get("internal_code") or err.get("code") or ""), str(err.get("message") or "")
    return "", str(payload)[:200] if payload not in (None, "") else ""


def field_errors(payload: Any) -> list[tuple[str | None, str]]:
    """(field, message) pairs of a 422 answer: Yii2's `[{"field","message"}]` or the error envelope."""
    errors: list[tuple[str | None, str]] = []
    if isinstance(payload, list):
        errors = [(e.get("field"), str(e.get("message", ""))) for e in payload if isinstance(e, Mapping)]
    if not errors:
        _, message = _error_message(payload)
        errors = [(None, message or "validation failed")]
    return errors


def validation_problem(
    errors: list[tuple[str | None, str]], body: Mapping[str, Any] | None, where: str
) -> RecordProblem:
    """Turn a 422 answer into one RecordProblem: the first field, its value, and every message."""
    field, _ = errors[0]
    value = _lookup(body or {}, field) if field else None
    summary = "; ".join(f"{f}: {m}" if f else m for f, m in errors)
    fix = (
        f"correct `{field}` (in Sonar, or locally with `etl fix ENTITY ID --set {field}=...`) and resume"
        if field
        else "correct the record in Sonar or with `etl fix`, then resume"
    )
    if field and any("already been taken" in m for f, m in errors if f == field):
        fix = f"`{field}` must be unique in Splynx and another record has it: {fix}" + (
            " (a service's login is its Sonar RADIUS username: rename one of the two RADIUS accounts)"
            if field == "login" and "internet-services" in where
            else ""
        )
    return RecordProblem(
        code="splynx_validation",
        message=f"Splynx refused {where}: {summary}",
        field=field,
        value=_redact(field, value),
        fix=fix,
    )


def _lookup(body: Mapping[str, Any], field: str) -> Any:
    """Find `a.b` or `a[b]` style field names in a nested body."""
    node: Any = body
    for part in field.replace("[", ".").replace("]", "").split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds from a Retry-After header (numeric form), if any."""
    raw = response.headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


# --- authentication -------------------------------------------------------------------------------


class NonceCounter:
    """A strictly increasing nonce, seeded from the clock in centiseconds like the official clients.

    Thread-safe, and it never goes backwards even if the clock does, because Splynx refuses a nonce
    not greater than the key's previous one. When Splynx refuses one anyway (another process used the
    key moments ago and ran ahead of the clock), `jump` skips forward by growing steps until it passes.
    """

    def __init__(self) -> None:
        self._last = 0
        self._step = 100
        self._lock = threading.Lock()

    def next(self) -> int:
        """The next nonce."""
        with self._lock:
            self._last = max(self._last + 1, int(time.time() * 100))
            return self._last

    def jump(self) -> None:
        """Skip ahead after a refused nonce: 1 s, then 4 s, 16 s ... (capped at about a day)."""
        with self._lock:
            self._last += self._step
            self._step = min(self._step * 4, 10_000_000)

    def accepted(self) -> None:
        """A nonce went through: the next refusal starts again with a small jump."""
        if self._step != 100:
            with self._lock:
                self._step = 100


def sign(key: str, secret: str, nonce: int) -> str:
    """Splynx's signature: upper(hex(HMAC-SHA256(secret, nonce + key)))."""
    return hmac.new(secret.encode(), f"{nonce}{key}".encode(), hashlib.sha256).hexdigest().upper()


@dataclass
class _Token:
    access: str
    access_exp: float
    refresh: str
    refresh_exp: float


# --- the client -----------------------------------------------------------------------------------


class SplynxClient:
    """Talks to one Splynx over REST v2; safe to share between the loader's worker threads.

    Args:
        base_url: the Splynx address, e.g. ``https://isp.splynx.app`` (``/api/2.0/`` is added).
        api_key / api_secret: the API key pair (never logged, never in an error).
        auth: ``"signature"`` signs every request; ``"token"`` signs once for an access token and
            renews it before it expires (better for many threads: no nonce ordering races).
        rate_per_s: client-side pace shared by all threads (None = unpaced).
        max_concurrency: requests in flight at once, across threads.
        attempts: tries per request for retryable failures (429, 5xx, connection errors).
        timeout_s: connect/read timeout per request.
        settle_s: how long Splynx may still apply a write after its sender stopped waiting for the
            answer (a killed process, a read timeout): a web server finishes a request whose client went
            away. The loader looks an unanswered create up by its marker only once this has passed since
            it was sent, or the late create would land after the lookup and be made twice.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        auth: str = "token",
        rate_per_s: float | None = None,
        max_concurrency: int = 8,
        attempts: int = 6,
        timeout_s: float = 30.0,
        max_wait_s: float = 10.0,
        settle_s: float = 30.0,
    ) -> None:
        if auth not in ("signature", "token"):
            raise ValueError("auth must be 'signature' or 'token'")
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + "/api/2.0/"
        self.where = f"{parts.scheme}://{parts.netloc}"
        self.auth = auth
        self._key = api_key
        self._secret = api_secret
        self._nonce = NonceCounter()
        self._token: _Token | None = None
        self._token_lock = threading.RLock()
        self.limiter = TokenBucket(rate_per_s)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._pool_size = max_concurrency
        self._local = threading.local()
        self._attempts = attempts
        self._timeout = timeout_s
        self.settle_s = settle_s
        self._max_wait = max_wait_s
        self.requests_sent = 0
        self._count_lock = threading.Lock()

    # -- public API ----------------------------------------------------------------------------

    def list(
        self,
        path: str,
        *,
        main: Mapping[str, Any] | None = None,
        additional: Mapping[str, Any] | None = None,
        order: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[dict[str, Any]]:
        """Search a collection (PHP-style `main_attributes`/`additional_attributes`); ids come back as str."""
        params = _search(main, additional, order, limit, offset)
        rows = self._send("GET", path, params=params, decode=_json_list)
        return [normalise(row) for row in rows]

    def get(self, path: str) -> dict[str, Any]:
        """One record; NotFound if Splynx has no such record."""
        return normalise(self._send("GET", path, decode=_json_record))

    def create(self, path: str, body: Mapping[str, Any]) -> str:
        """POST a new record and return its id as a string (additional fields answer with a name).

        An answer we cannot read (HTML, cut JSON, no id) raises UncertainWrite: the record may exist.
        """
        return self._send("POST", path, json=dict(body), decode=_created_id)

    def update(self, path: str, body: Mapping[str, Any]) -> None:
        """PUT changed fields of an existing record (idempotent, so retried freely)."""
        self._send("PUT", path, json=dict(body), decode=_json_any)

    def delete(self, path: str) -> bool:
        """Delete a record; True if it was deleted, False if it was already gone (404)."""
        try:
            self._send("DELETE", path, decode=_json_any)
        except NotFound:
            return False
        return True

    def count(
        self, path: str, *, main: Mapping[str, Any] | None = None, additional: Mapping[str, Any] | None = None
    ) -> int:
        """Count matching records with HEAD and the `X-total-count` header."""
        return self._send("HEAD", path, params=_search(main, additional, None, None, None), decode=_total_count)

    def options(self, path: str) -> dict[str, Any]:
        """The collection's schema: attributes and additional attributes."""
        return self._send("OPTIONS", path, decode=_json_record)

    def check(self) -> None:
        """Prove the URL and credentials work (ConnectionFailure with a fix otherwise)."""
        self._send("GET", "admin/api/check", decode=_json_record)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Query | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one call with the retry policy of its method and return the decoded JSON (or None if empty)."""
        return self._send(method, path, params=params, json=json, decode=_json_any)

    # -- sending and retrying ------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        decode: Decoder[T],
        params: Query | None = None,
        json: Body | None = None,
        anonymous: bool = False,
    ) -> T:
        """One call with retries; each attempt sends, checks the status and decodes the answer.

        Why decoding inside the attempt: an answer that is not what Splynx sends (a proxy's HTML page,
        JSON cut short) is a transient fault like a dropped connection, so a read is repeated, and a
        write that may have been applied is reported as uncertain instead of aborting the run.
        """
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self._attempt(method, path, params, json, anonymous)
                    return self._decoded(method, path, response, decode, anonymous)
        except _Transient as exc:
            raise exc.error from exc
        raise AssertionError("unreachable")  # pragma: no cover - tenacity either returns or raises

    def _wait(self, state: RetryCallState) -> float:
        """Honour Retry-After when the server sent one; otherwise back off exponentially."""
        outcome = state.outcome
        error = outcome.exception() if outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return min(error.retry_after, self._max_wait)
        return float(min(self._max_wait, 0.05 * 2 ** (state.attempt_number - 1)))

    def _attempt(
        self, method: str, path: str, params: Query | None, body: Body | None, anonymous: bool
    ) -> requests.Response:
        url = self.api_url + path.lstrip("/")
        headers = {"User-Agent": "sonar-splynx-etl"}
        if not anonymous:
            headers["Authorization"] = self._authorization()
        json = body() if callable(body) else body
        self.limiter.acquire()
        with self._slots:
            self._count()
            try:
                response = self._session().request(
                    method, url, params=params, json=json, headers=headers, timeout=self._timeout
                )
            except requests.RequestException as exc:
                raise self._transport_error(method, path, exc, anonymous) from None
        return self._check(method, path, response, json, anonymous)

    def _transport_error(self, method: str, path: str, exc: requests.RequestException, anonymous: bool) -> Exception:
        """Decide whether a transport failure may be repeated, and what to surface if it persists."""
        never_sent = isinstance(exc, requests.ConnectTimeout) or _refused(exc)
        if never_sent:
            return _Transient(
                ConnectionFailure(
                    f"cannot reach Splynx at {self.where} ({type(exc).__name__})",
                    fix="check ETL_SPLYNX_URL and that Splynx is running and reachable",
                )
            )
        if method not in IDEMPOTENT and not anonymous:  # a second token request is harmless
            return UncertainWrite(
                f"the connection dropped during {method} {_safe(path)}: Splynx may have applied it",
                fix="resume: the loader looks the record up by its migration marker before writing again",
            )
        dropped = f"the connection to Splynx dropped during {method} {_safe(path)}"
        return _Transient(RetryableError(dropped, fix="resume later"))

    def _decoded(
        self, method: str, path: str, response: requests.Response, decode: Decoder[T], anonymous: bool
    ) -> T:
        """Decode a 2xx answer; one that is not Splynx's is retried, or for a write, uncertain."""
        try:
            return decode(response)
        except _BadAnswer as exc:
            where = f"{method} {_safe(path)}"
            came = f"{exc.reason} ({_described(response, path)})"
            if method in IDEMPOTENT or anonymous:  # a second token request is harmless
                raise _Transient(
                    RetryableError(f"Splynx answered {where} with {came} instead of its JSON", fix=NOT_SPLYNX_FIX)
                ) from None
            raise UncertainWrite(
                f"Splynx answered {where} with {came}: it may have applied the write",
                fix=f"resume: the loader looks the record up by its migration marker before writing again; "
                f"{NOT_SPLYNX_FIX}",
            ) from None

    def _check(
        self, method: str, path: str, response: requests.Response, body: Mapping[str, Any] | None, anonymous: bool
    ) -> requests.Response:
        status = response.status_code
        if status < 400:
            self._nonce.accepted()
            return response
        payload = _json_or_none(response)
        internal, message = _error_message(payload)
        where = f"{method} {_safe(path)}"
        if status == 401 and self._may_retry_auth(internal, message, anonymous):
            raise _Transient(self._auth_error(status, internal, where))
        if status in (401, 403):
            raise self._auth_error(status, internal, where)
        if status == 404:
            raise NotFound(RecordProblem("splynx_not_found", f"Splynx has nothing at {where}"))
        if status == 422:
            errors = field_errors(payload)
            raise ValidationRefused(validation_problem(errors, body, where), errors)
        if status == 429 or (status == 503 and method not in IDEMPOTENT):
            raise _Transient(
                RetryableError(f"Splynx is throttling us ({status} on {where})", fix="lower the rate"),
                retry_after=retry_after_seconds(response),
            )
        if status >= 500 and method in IDEMPOTENT:
            raise _Transient(RetryableError(f"Splynx failed {where} with HTTP {status}: {message}"))
        if status >= 500:
            raise UncertainWrite(
                f"Splynx failed {where} with HTTP {status}: the record may have been created",
                fix="resume: the loader looks the record up by its migration marker before writing again",
            )
        raise RecordError(
            RecordProblem(
                code="splynx_rejected",
                message=f"Splynx refused {where} with HTTP {status} {internal}: {message}".strip(),
                fix="check the record and the API key's partner restrictions",
            )
        )

    def _auth_error(self, status: int, internal: str, where: str) -> ConnectionFailure:
        what = "refused the API key's permission for" if status == 403 else "rejected the API key on"
        message = f"Splynx {what} {where} (HTTP {status} {internal})".replace(" )", ")")
        return ConnectionFailure(message, fix=CREDENTIALS_FIX)

    def _may_retry_auth(self, internal: str, message: str, anonymous: bool) -> bool:
        """A 401 that was a race, not a wrong key: a nonce overtaken by another thread, or an expiry."""
        if internal == "EXPIRED_ACCESS_TOKEN":
            with self._token_lock:
                self._token = None
            return True
        if "nonce" in message.lower():
            self._nonce.jump()
            return self.auth == "signature" or anonymous
        return False

    def _count(self) -> None:
        with self._count_lock:
            self.requests_sent += 1

    def _session(self) -> requests.Session:
        """One keep-alive session per thread: requests.Session is not meant to be shared."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self._pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

    # -- authentication ------------------------------------------------------------------------

    def _authorization(self) -> str:
        if self.auth == "signature":
            nonce = self._nonce.next()
            signature = sign(self._key, self._secret, nonce)
            return f"Splynx-EA (key={self._key}&nonce={nonce}&signature={signature})"
        return f"Splynx-EA (access_token={self._access_token()})"

    def _access_token(self) -> str:
        """A valid access token, renewed 30 s before it expires (refresh first, a new login if that fails)."""
        with self._token_lock:
            token, now = self._token, time.time()
            if token is not None and now + 30 < token.access_exp:
                return token.access
            fresh = None
            if token is not None and now + 30 < token.refresh_exp:
                try:
                    fresh = self._send("GET", f"admin/auth/tokens/{token.refresh}", anonymous=True, decode=_token)
                except ConnectionFailure:
                    fresh = None  # the refresh token was revoked or expired: log in again
            if fresh is None:
                fresh = self._send("POST", "admin/auth/tokens", json=self._login_body, anonymous=True, decode=_token)
            self._token = fresh
            return fresh.access

    def _login_body(self) -> dict[str, Any]:
        """`auth_type=api_key` credentials, freshly signed for each attempt (the secret itself never travels)."""
        nonce = self._nonce.next()
        return {
            "auth_type": "api_key",
            "key": self._key,
            "nonce": nonce,
            "signature": sign(self._key, self._secret, nonce),
        }

    def close(self) -> None:
        """Close this thread's session (other threads' sessions close with their threads)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None:
            session.close()


def _token(response: requests.Response) -> _Token:
    """The access and refresh tokens of a login or renewal answer."""
    data = _json_record(response)
    try:
        return _Token(
            access=str(data["access_token"]),
            access_exp=float(data["access_token_expiration"]),
            refresh=str(data["refresh_token"]),
            refresh_exp=float(data["refresh_token_expiration"]),
        )
    except (KeyError, TypeError, ValueError):
        raise _BadAnswer("a JSON object without the tokens") from None


# --- decoding answers -----------------------------------------------------------------------------


def _json_any(response: requests.Response) -> Any:
    """The JSON of an answer (None if it has no body); _BadAnswer if the body is not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise _BadAnswer(_not_json(response)) from None


def _not_json(response: requests.Response) -> str:
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return "an HTML page" if "html" in kind else "cut or invalid JSON"


def _json_record(response: requests.Response) -> dict[str, Any]:
    """A JSON object (a record, a schema, a status)."""
    data = _json_any(response)
    if not isinstance(data, dict):
        raise _BadAnswer(f"{_kind(data)} where a JSON object was expected")
    return data


def _json_list(response: requests.Response) -> list[Any]:
    """A JSON array (a search result)."""
    data = _json_any(response)
    if not isinstance(data, list):
        raise _BadAnswer(f"{_kind(data)} where a JSON list was expected")
    return data


def _created_id(response: requests.Response) -> str:
    """The id of a created record (additional-field definitions answer with their name)."""
    data = _json_record(response)
    key = data.get("id", data.get("name"))
    if key is None or key == "":
        raise _BadAnswer("a JSON object without the new record's id")
    return coerce_id(key)


def _total_count(response: requests.Response) -> int:
    """The `X-total-count` header of a HEAD answer."""
    raw = response.headers.get("X-total-count", "").strip()
    if not raw.isdigit():
        raise _BadAnswer("no X-total-count header" if not raw else f"X-total-count {raw[:20]!r}")
    return int(raw)


def _kind(data: Any) -> str:
    if data is None:
        return "an empty body"
    if isinstance(data, dict):
        return "a JSON object"
    if isinstance(data, list):
        return "a JSON list"
    return f"a JSON {type(data).__name__}"


def _described(response: requests.Response, path: str) -> str:
    """What came back, for one line: status, content type, size and the first bytes (never a token)."""
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    size = len(response.content)
    what = f"HTTP {response.status_code}, {kind}, {size} bytes"
    if path.startswith("admin/auth/tokens") or not size:
        return what  # a login or renewal answer may carry tokens: never echo it
    head = " ".join(response.content[:BODY_EXCERPT].decode("utf-8", "replace").split())
    return f"{what}: {head!r}"


def _search(
    main: Mapping[str, Any] | None,
    additional: Mapping[str, Any] | None,
    order: Mapping[str, str] | None,
    limit: int | None,
    offset: int | None,
) -> list[tuple[str, str]]:
    query: dict[str, Any] = {}
    if main:
        query["main_attributes"] = dict(main)
    if additional:
        query["additional_attributes"] = dict(additional)
    if order:
        query["order"] = dict(order)
    if limit is not None:
        query["limit"] = limit
    if offset is not None:
        query["offset"] = offset
    return php_query(query)


def normalise(record: Any) -> dict[str, Any]:
    """Make a Splynx record's `id` a str, whatever type the endpoint used."""
    if not isinstance(record, Mapping):
        return {}
    out = dict(record)
    if "id" in out and out["id"] is not None:
        out["id"] = coerce_id(out["id"])
    return out


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200] or None


def _refused(exc: BaseException) -> bool:
    """True if the connection was never established (refused, unknown host): nothing was sent."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or type(current).__name__ in NEVER_SENT:
            return True
        linked = [*current.args, getattr(current, "reason", None), current.__cause__, current.__context__]
        pending.extend(x for x in linked if isinstance(x, BaseException))
    return False


def _safe(path: str) -> str:
    """A path fit for messages: token paths carry a refresh token, which is a secret."""
    return "admin/auth/tokens/***" if path.startswith("admin/auth/tokens/") else path
