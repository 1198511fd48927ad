"""The Splynx REST API v2 as a WSGI application: routing, CRUD handlers, rendering and faults.

Wire conventions (see /work/shared/api/splynx.md; our choices where the real API is unclear):

* Collections: GET = bare JSON array (search, order, limit, offset), HEAD = 204 + `X-total-count`,
  POST = 201 `{"id": N}` (an int), OPTIONS = 200 schema. Items: GET 200, PUT 202 (empty body),
  DELETE 204. PUT/DELETE on a collection: 400; any other undocumented method: 405.
* Additional-field definitions answer POST with 201 `{"name": "<name>"}`, as the APIB shows.
* GET bodies render every scalar as a string, the way Splynx's PHP/MySQL stack returns columns:
  ids and integers as "12", money as "12.3400", flags as "0"/"1", zero dates as "0000-00-00",
  lists of ids as lists of strings. Clients must coerce. `sim.rows()` returns the stored, typed values.
* `ipv4-ip` has no POST in the APIB: creating an endnet of /16 or smaller creates one IP record per
  address (ids from one global sequence); `ipv4-ip/{network}--{ip}` accepts the IP's id or its dotted
  address; an unknown network in that path is 404. A service with taking_ipv4=1 marks its IP used.
* Finance transactions (`admin/finance/transactions`): `total` is computed, never written; every
  create, update and delete of one re-sums its customer's `deposit` on `customer-billing/{id}`
  (credits minus debits, splynx_rules.settle_deposit). Transaction categories 1-5 are Splynx's defaults.
* Payments (`admin/finance/payments`): each books one credit transaction (its `transaction_id`, the
  transaction's `payment_id`) that follows the payment's amount, date, customer and receipt number and is
  deleted with it; that transaction cannot be deleted on its own (400). Payment methods 1-5 are seeded.
* Invoices (`admin/finance/invoices`): `items` is a list of objects, each with its own id (one sequence
  for all invoices) and the debit transaction it books when `use_transactions` is 1 (that transaction's
  `invoice_id` is the invoice's); a PUT's items merge by id; `total`/`due` are computed; the transactions
  follow the invoice's edits and go with it, and cannot be deleted on their own (400).
* Customer comments (`admin/customers/customer-notes`): POST and GET on the collection, GET on the item
  `customer-notes/{customer_id}--{id}` (the blueprint), PUT and DELETE there too (a guess); a customer part
  that is not the comment's customer is 404. A customer with comments cannot be deleted (400, a guess).
* Tickets (`admin/support/tickets`, additional-fields module `ticket`) and ticket messages
  (`admin/support/ticket-messages`): plain CRUD; a ticket POST may carry an inline `message` object, created as
  the ticket's first message and never returned; DELETE of a ticket deletes its messages; a customer with
  tickets cannot be deleted. Ticket statuses, groups and types (`admin/support/tickets-statuses|-groups|-types`)
  are GET-only like taxes, seeded (statuses 1-5, groups 1-2, types 1-4).
* Errors: `{"error":{"message","code","internal_code"}}` (compact JSON); validation: 422 with
  `[{"field","message"}]`; a still-referenced record: 400 ENTITY_CANNOT_BE_DELETED (except a bundle
  service that services still belong to: 422 on `id`, a guess, docs/fidelity.md).
* Faults (`etl.sandbox.server.Faults`), in this order: latency, rate limiter (429 + Retry-After in
  seconds, may be fractional), `burst_429`, `error_rate` (500 SERVER_ERROR), `html_next` (a 200 HTML
  maintenance page, nothing executed), then drops: a dropped read is never answered, a dropped write is
  executed and committed first and then its connection is closed without an answer; `html_after_next`
  and `truncate_next` execute (and commit) the request, then answer with the HTML page or the first half
  of the JSON body. `garble_rate` picks one of the three at random; `only` restricts every fault to the
  requests whose "METHOD path" matches a regex.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from etl.sandbox.server import Faults, RateLimiter, hang_up, maintenance_page, truncated
from etl.sandbox.splynx_auth import Authenticator, AuthError
from etl.sandbox.splynx_query import QueryError, build_query, php_nested
from etl.sandbox.splynx_rules import CannotDelete, after_create, after_delete, after_update, check, guard_delete
from etl.sandbox.splynx_schema import (
    ADDITIONAL_FIELDS,
    ADMIN_ROLES,
    AF_MODULES,
    BOOL,
    CUSTOMER_BILLING,
    CUSTOMER_INFO,
    CUSTOMER_NOTES,
    CUSTOMER_SERVICES,
    DECIMAL,
    ENUM,
    INT,
    INTS,
    IPV4_IPS,
    LABELS,
    OBJECTS,
    OPTIONS_TYPE,
    PLAIN_ENTITIES,
    PLAN_USES,
    READ_ONLY_ENTITIES,
    STATES_PROVINCES,
    STOCK_ITEM_PATH,
    STOCKS,
    Entity,
)
from etl.sandbox.splynx_store import SplynxStore
from etl.sandbox.splynx_validation import (
    Invalid,
    Problems,
    af_definitions,
    check_references,
    check_unique,
    merge_additional,
    merge_fields,
    validate_af_definition,
)

API_PREFIX = "/api/2.0/"
WRITES = ("POST", "PUT", "DELETE")


class ApiError(Exception):
    """An answer in Splynx's error envelope."""

    def __init__(self, status: int, internal_code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.internal_code, self.message = status, internal_code, message


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    text = "" if body is None else json.dumps(body, separators=(",", ":"))
    return Response(text, status=status, headers=headers, content_type="application/json; charset=UTF-8")


def error_response(status: int, internal_code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """Splynx's documented error envelope."""
    return _json({"error": {"message": message, "code": status, "internal_code": internal_code}}, status, headers)


@dataclass(frozen=True)
class Target:
    """What a path addresses: an entity, an optional record id, fixed conditions, allowed methods."""

    entity: Entity
    record_id: int | None
    scope: dict[str, Any]
    methods: tuple[str, ...]
    module: str | None = None  # additional-field definitions: the module in the path
    af_name: str | None = None


COLLECTION = ("GET", "HEAD", "POST", "OPTIONS")
SEARCH_ONLY = ("GET", "HEAD", "OPTIONS")
ITEM = ("GET", "PUT", "DELETE")


def resolve(path: str, store: SplynxStore) -> Target:
    """Map a path under /api/2.0/ to a Target, or raise 404."""
    stock = re.fullmatch(re.escape(STOCK_ITEM_PATH) + r"/(\d+)", path)
    if stock:  # the stocks' item path is singular; `inventory-stocks/{id}` is no path of Splynx's
        return Target(STOCKS, int(stock.group(1)), {}, ITEM)
    for entity in PLAIN_ENTITIES:
        if path == entity.path:
            return Target(entity, None, {}, COLLECTION)
        if entity is STOCKS:
            continue
        if path.startswith(entity.path + "/") and re.fullmatch(r"\d+", path[len(entity.path) + 1:]):
            return Target(entity, int(path[len(entity.path) + 1:]), {}, ITEM)
    for entity in (CUSTOMER_INFO, CUSTOMER_BILLING, STATES_PROVINCES):
        match = re.fullmatch(re.escape(entity.path) + r"/(\d+)", path)
        if match:
            return Target(entity, int(match.group(1)), {}, ("GET", "PUT"))
    if path == STATES_PROVINCES.path:
        return Target(STATES_PROVINCES, None, {}, SEARCH_ONLY)
    for entity in READ_ONLY_ENTITIES:  # taxes, ticket statuses/groups/types: made in the web UI (a write: 405)
        if path == entity.path:
            return Target(entity, None, {}, SEARCH_ONLY)
        match = re.fullmatch(re.escape(entity.path) + r"/(\d+)", path)
        if match:
            return Target(entity, int(match.group(1)), {}, ("GET",))
    return _resolve_nested(path, store)


# A customer's services by the last segment of their path: internet-, recurring-, voice- and bundle-services.
SERVICE_KINDS: dict[str, Entity] = {s.path.rsplit("/", 1)[1]: s for s in CUSTOMER_SERVICES}


def _resolve_service(path: str) -> Target | None:
    """`customer/{cid}/<kind>-services(--{id})`: one customer's services; `customer/0/...` searches them all."""
    match = re.fullmatch(r"admin/customers/customer/(\d+)/([a-z]+-services)(?:--(\d+))?", path)
    entity = SERVICE_KINDS.get(match.group(2)) if match else None
    if match is None or entity is None:
        return None
    cid = int(match.group(1))
    if match.group(3):
        return Target(entity, int(match.group(3)), {"customer_id": cid}, ITEM)
    return Target(entity, None, {"customer_id": cid} if cid else {}, COLLECTION if cid else SEARCH_ONLY)


def _resolve_note(path: str) -> Target | None:
    """`customer-notes` and `customer-notes/{customer_id}--{id}`: the item is named by its customer and its id.

    Why the customer goes into the scope: a request whose customer part is not the comment's is 404 (Handler's
    _current), and a PUT cannot move a comment to another customer. PUT and DELETE on the item are a guess:
    the blueprint documents only GET there (see CUSTOMER_NOTES).
    """
    if path == CUSTOMER_NOTES.path:
        return Target(CUSTOMER_NOTES, None, {}, COLLECTION)
    match = re.fullmatch(re.escape(CUSTOMER_NOTES.path) + r"/(\d+)--(\d+)", path)
    if match is None:
        return None
    return Target(CUSTOMER_NOTES, int(match.group(2)), {"customer_id": int(match.group(1))}, ITEM)


def _resolve_nested(path: str, store: SplynxStore) -> Target:
    customer_scoped = _resolve_service(path) or _resolve_note(path)
    if customer_scoped is not None:
        return customer_scoped
    if path == IPV4_IPS.path:
        return Target(IPV4_IPS, None, {}, SEARCH_ONLY)
    match = re.fullmatch(re.escape(IPV4_IPS.path) + r"/(\d+)(?:--([\d.]+))?", path)
    if match:
        scope: dict[str, Any] = {"ipv4_networks_id": int(match.group(1))}
        if match.group(2) is None:
            return Target(IPV4_IPS, None, scope, ("GET", "HEAD"))
        return Target(IPV4_IPS, _ip_id(store, scope["ipv4_networks_id"], match.group(2)), scope, ("GET", "PUT"))
    match = re.fullmatch(r"admin/config/additional-fields/([a-z0-9_]+)(?:--([A-Za-z0-9_]+))?", path)
    if match and match.group(1) in AF_MODULES:
        module, name = match.group(1), match.group(2)
        scope = {"module": module}
        if name is None:
            return Target(ADDITIONAL_FIELDS, None, scope, COLLECTION, module)
        found = store.select("additional_fields", "json_extract(data, '$.module') = ? AND "
                             "json_extract(data, '$.name') = ?", [module, name])
        return Target(ADDITIONAL_FIELDS, found[0]["id"] if found else 0, scope, ITEM, module, name)
    raise ApiError(404, "NOT_FOUND", f"Endpoint {path!r} not found")


def _ip_id(store: SplynxStore, network_id: int, ip: str) -> int:
    """`{network}--{ip}` names the IP record by id, or by its dotted address."""
    if ip.isdigit():
        return int(ip)
    found = store.select("ipv4_ips", "json_extract(data, '$.ipv4_networks_id') = ? AND "
                         "json_extract(data, '$.ip') = ?", [network_id, ip])
    return int(found[0]["id"]) if found else 0


# -- rendering ------------------------------------------------------------------------------------


def _wire(kind: str, value: Any) -> Any:
    """Stored value -> what Splynx sends: scalars as strings, id lists as string lists."""
    if value is None:
        return None
    if kind == INTS:
        return [str(v) for v in value]
    if isinstance(value, list):
        return list(value)
    if kind in (INT, BOOL, DECIMAL) or isinstance(value, (int, float)):
        return str(value)
    return value


def render(entity: Entity, record: dict[str, Any], store: SplynxStore) -> dict[str, Any]:
    """A stored record as Splynx returns it in a GET body."""
    body = {f.name: _wire(f.kind, record.get(f.name)) for f in entity.fields if not f.secret and not f.write_only}
    for f in entity.fields:
        if f.kind == LABELS:  # APIB *Customer label*: {id, label, color}
            found = (store.get("labels", label_id) for label_id in record.get(f.name) or [])
            body[f.name] = [{"id": str(x["id"]), "label": x["label"], "color": x["color"]} for x in found if x]
        elif f.kind == OBJECTS:  # an invoice's items: each attribute as a string, like the record's own
            body[f.name] = [{p.name: _wire(p.kind, item.get(p.name)) for p in f.parts}
                            for item in record.get(f.name) or []]
    if entity.module is not None:
        stored = record.get("additional_attributes") or {}
        body["additional_attributes"] = {d["name"]: stored.get(d["name"], "")
                                         for d in af_definitions(store, entity.module)}
    uses = PLAN_USES.get(entity.key)
    if uses is not None:  # APIB *... tariff Response*: `services`, the number of services on the tariff
        services, plan_field = uses
        body["services"] = str(store.count(services, f"json_extract(data, '$.{plan_field}') = ?", [record["id"]]))
    return body


def options_body(entity: Entity, store: SplynxStore) -> dict[str, Any]:
    """The OPTIONS schema: attributes and additional attributes with their types."""
    attributes = []
    for f in entity.fields:
        if f.secret or f.write_only:
            continue
        item: dict[str, Any] = {"name": f.name, "title": f.label, "type": OPTIONS_TYPE[f.kind],
                                "required": f.required}
        if f.kind == ENUM or f.choices:
            item["values"] = [str(c) for c in f.choices]
        attributes.append(item)
    extra = [{"name": d["name"], "title": d["title"], "type": d["type"], "required": bool(d["is_required"])}
             for d in af_definitions(store, entity.module)]
    return {"attributes": attributes, "additional_attributes": extra}


# -- the application ------------------------------------------------------------------------------


class SplynxApi:
    """The WSGI callable; one instance per running simulator."""

    def __init__(self, store: SplynxStore, auth: Authenticator, faults: Faults, rate_limiter: RateLimiter) -> None:
        self.store = store
        self.auth = auth
        self.faults = faults
        self.rate_limiter = rate_limiter
        self.forbidden: set[str] = set()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Apply the faults, then answer (or, for a dropped request, do not)."""
        request = Request(environ)
        subject = f"{request.method} {request.path[len(API_PREFIX):].strip('/')}"
        self.faults.delay()
        refused = self._injected_refusal(subject)
        if refused is not None:
            return refused(environ, start_response)
        bad = self.faults.take_answer(subject)
        if bad == "html":  # a maintenance page in front of Splynx: the request never reached it
            return maintenance_page()(environ, start_response)
        dropped = self.faults.take_drop(subject)
        if dropped and request.method not in WRITES:
            return hang_up(environ, start_response)
        response = self.respond(request)
        if dropped:
            return hang_up(environ, start_response)  # the write above is already committed
        if bad == "html_after":
            return maintenance_page()(environ, start_response)  # committed, answer replaced
        if bad == "truncate":
            return truncated(response)(environ, start_response)  # committed, answer cut
        return response(environ, start_response)

    def _injected_refusal(self, subject: str) -> Response | None:
        wait = self.rate_limiter.allow()
        if wait is not None:
            return error_response(429, "TOO_MANY_REQUESTS", "Rate limit exceeded",
                                  {"Retry-After": f"{wait:.3g}"})
        if self.faults.take_429(subject):
            return error_response(429, "TOO_MANY_REQUESTS", "Rate limit exceeded",
                                  {"Retry-After": f"{self.faults.retry_after_s:g}"})
        if self.faults.take_5xx(subject):
            return error_response(500, "SERVER_ERROR", "Internal server error")
        return None

    def respond(self, request: Request) -> Response:
        """Route one request and turn refusals into Splynx's answers."""
        try:
            if not request.path.startswith(API_PREFIX):
                raise ApiError(404, "NOT_FOUND", "Not found")
            path = request.path[len(API_PREFIX):].strip("/")
            if path == "admin/auth/tokens" or path.startswith("admin/auth/tokens/"):
                return self._tokens(request, path)
            subject = self.auth.check_header(request.headers.get("Authorization"))
            if any(path == p or path.startswith(p + "/") for p in self.forbidden):
                raise ApiError(403, "FORBIDDEN", "This API key has no permission for this endpoint")
            if path == "admin/api/check":
                if request.method != "GET":
                    raise ApiError(405, "METHOD_NOT_ALLOWED", "Method is not allowed")
                return _json({"status": "ok", "message": "API is valid", "same_server": 0}, 200)
            if path == ROLES_PATH:
                return _roles(request)
            with self.store.transaction():
                return Handler(self.store, request, resolve(path, self.store), subject).handle()
        except AuthError as exc:
            return error_response(exc.status, exc.internal_code, exc.message)
        except ApiError as exc:
            return error_response(exc.status, exc.internal_code, exc.message)
        except Invalid as exc:
            return _json(exc.errors, 422)
        except CannotDelete as exc:
            return error_response(400, "ENTITY_CANNOT_BE_DELETED", str(exc))
        except QueryError as exc:
            return error_response(400, "BAD_REQUEST", str(exc))

    def _tokens(self, request: Request, path: str) -> Response:
        refresh = path[len("admin/auth/tokens/"):] if "/" in path[len("admin/auth/"):] else None
        if refresh is None and request.method == "POST":
            return _json(self.auth.issue(_body(request)), 201)
        if refresh and request.method == "GET":
            return _json(self.auth.renew(refresh), 200)
        if refresh and request.method == "DELETE":
            self.auth.logout(refresh)
            return _json(None, 204)
        raise ApiError(405, "METHOD_NOT_ALLOWED", "Method is not allowed")


ROLES_PATH = "admin/administration/roles"  # *guess*: APIB has no roles resource; the admin UI's page path


def _roles(request: Request) -> Response:
    """The administrator roles this Splynx has, as rows of the live `roles` table (name, title, is_base)."""
    if request.method != "GET":
        raise ApiError(405, "METHOD_NOT_ALLOWED", "Method is not allowed")
    rows = [{"name": n, "title": n.replace("-", " ").capitalize(), "is_base": "1"} for n in ADMIN_ROLES]
    return _json(rows, 200)


def _body(request: Request) -> dict[str, Any]:
    """The write body: JSON, or form-encoded PHP arrays (both reach Splynx from real clients)."""
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return php_nested(request.form.items(multi=True))
    raw = request.get_data(as_text=True)
    if raw.strip() == "":
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        raise ApiError(400, "BAD_REQUEST", "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "BAD_REQUEST", "Request body must be a JSON object")
    return body


class Handler:
    """Serves one request on one Target, inside the store's transaction."""

    def __init__(self, store: SplynxStore, request: Request, target: Target, subject: str) -> None:
        self.store, self.request, self.target, self.subject = store, request, target, subject
        self.entity = target.entity

    def handle(self) -> Response:
        """Dispatch on method and on collection vs item."""
        method = self.request.method
        if method not in self.target.methods:
            if self.target.record_id is None and method in ("PUT", "DELETE"):
                raise ApiError(400, "BAD_REQUEST", "Record id is required for this method")
            raise ApiError(405, "METHOD_NOT_ALLOWED", "Method is not allowed")
        if self.target.record_id is None:
            return {"GET": self.list, "HEAD": self.count, "POST": self.create, "OPTIONS": self.options}[method]()
        return {"GET": self.read, "PUT": self.update, "DELETE": self.delete}[method]()

    # collection ---------------------------------------------------------------------------------

    def _query(self) -> Any:
        af_names = {d["name"] for d in af_definitions(self.store, self.entity.module)}
        args = php_nested(self.request.args.items(multi=True))
        return build_query(self.entity, args, af_names, self.target.scope)

    def list(self) -> Response:
        """GET collection: a bare array."""
        query = self._query()
        rows = self.store.select(self.entity.key, query.where_sql, query.params, query.order, query.limit,
                                 query.offset)
        return _json([render(self.entity, r, self.store) for r in rows], 200)

    def count(self) -> Response:
        """HEAD collection: 204 with X-total-count."""
        query = self._query()
        total = self.store.count(self.entity.key, query.where_sql, query.params)
        return Response(status=204, headers={"X-total-count": str(total),
                                             "Access-Control-Expose-Headers": "X-total-count"})

    def options(self) -> Response:
        """OPTIONS collection: the schema."""
        return _json(options_body(self.entity, self.store), 200)

    def create(self) -> Response:
        """POST collection: validate, allocate the next id, store, 201."""
        body = _body(self.request)
        record = self._validated(body, None)
        record["id"] = self.store.next_id(self.entity.key)
        if self.entity.key == "customers" and not record.get("login"):
            record["login"] = str(record["id"])
        written = {f.name: record.pop(f.name) for f in self.entity.fields if f.write_only and f.name in record}
        self.store.put(self.entity.key, record["id"], record)
        after_create(self.entity.key, record, self.store, written)
        if self.entity is ADDITIONAL_FIELDS:
            return _json({"name": record["name"]}, 201)
        return _json({"id": record["id"]}, 201)

    def _validated(self, body: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        problems = Problems() if self.entity is not ADDITIONAL_FIELDS or current else \
            validate_af_definition(body, self.store, str(self.target.module))
        if self.entity is ADDITIONAL_FIELDS and current:
            body = {k: v for k, v in body.items() if k not in ("name", "type")}  # the column is fixed
        if current is None:
            body = {k: v for k, v in body.items() if not getattr(self.entity.field(k), "update_only", False)}
        record = merge_fields(self.entity, body, current, problems)
        for name, value in self.target.scope.items():
            record[name] = value
        if self.entity.module is not None:
            merge_additional(self.entity, body, record, self.store, problems, current is None)
        check_references(self.entity, record, self.store, problems)
        check_unique(self.entity, record, self.store, problems, record.get("id"))
        check(self.entity.key, record, self.store, problems, current is None, body)
        problems.raise_if_any()
        self._stamp(record, current is None, body)
        return record

    def _stamp(self, record: dict[str, Any], creating: bool, body: dict[str, Any]) -> None:
        """Set what the server records about a write: when, and (on create) who made the record.

        A writable `updated_at` (a ticket's) that the write gives is kept: a migration carries the source's.
        """
        now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        if creating and self.entity.field("added_by") is not None:  # customers, payments
            kind, _, who = self.subject.partition(":")
            record["added_by"] = "admin" if kind == "admin" else "api"
            record["added_by_id"] = int(who) if kind == "admin" else 0
        if creating and self.entity.field("real_create_datetime") is not None:
            record["real_create_datetime"] = now
        if self.entity.key == "customers":
            record["last_update"] = now
        elif (updated := self.entity.field("updated_at")) is not None and not (updated.writable and
                                                                                "updated_at" in body):
            record["updated_at"] = now

    # item ---------------------------------------------------------------------------------------

    def _current(self) -> dict[str, Any]:
        record = self.store.get(self.entity.key, self.target.record_id or 0)
        if record is None or any(record.get(k) != v for k, v in self.target.scope.items()):
            raise ApiError(404, "NOT_FOUND", f"{self.entity.title} not found")
        return record

    def read(self) -> Response:
        """GET item."""
        return _json(render(self.entity, self._current(), self.store), 200)

    def update(self) -> Response:
        """PUT item: partial update, validated as a whole, 202."""
        current = self._current()
        record = self._validated(_body(self.request), current)
        self.store.put(self.entity.key, record["id"], record)
        after_update(self.entity.key, current, record, self.store)
        return Response(status=202, content_type="application/json; charset=UTF-8")

    def delete(self) -> Response:
        """DELETE item: refused while referenced, else 204."""
        current = self._current()
        guard_delete(self.entity.key, current["id"], self.store)
        self.store.delete(self.entity.key, current["id"])
        after_delete(self.entity.key, current, self.store)
        return Response(status=204)
