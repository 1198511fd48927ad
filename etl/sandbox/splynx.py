"""A faithful local Splynx REST API v2 server, for the demo, the tests and the benchmarks.

Why: the loader's auth, validation handling, idempotency and crash safety can only be proven against
something that behaves like Splynx over real HTTP, refuses what Splynx refuses, and fails the way a
production server fails (429, 5xx, a connection dropped after the write was committed).

    from etl.sandbox.splynx import SplynxSimulator
    with SplynxSimulator(db_path=Path("splynx.db")) as sim:      # or sim.start() / sim.stop()
        base = sim.base_url                                         # API at base + "/api/2.0/"
        sim.faults.drop_next = 1                                    # next write: commit, then hang up
        sim.faults.html_after_next = 1                              # next request: serve, answer HTML
        sim.rows("admin/customers/customer")                        # stored rows, typed (ids are ints)

Command line (serves until killed):
    python -m etl.sandbox.splynx --port 8081 --db splynx.db --key K --secret S

Data choices (see splynx_api for the wire format): GET bodies carry every scalar as a string, as Splynx's
PHP/MySQL stack does ("id": "3", "price": "12.3400"); POST-201 bodies carry the new id as an int; ids grow
per entity and are never reused, across restarts too. A fresh install holds partner 1 "Main",
location 1 "Central", stock 1 "Main stock", administrator 1 (the configured admin login), three taxes,
Splynx's five default transaction categories (1 "Service" .. 5 "Correction"), five payment methods (1 "Cash" ..
5 "Refill card"), the support setup (ticket statuses 1 "New" .. 5 "Waiting on agent", groups 1 "Support" and
2 "Billing", types 1 "Question" .. 4 "Feature request"), and no customers. A customer's balance (`deposit` of its
customer-billing record) is kept equal to its credit minus its debit transactions; each payment books one credit
transaction.
Modules: splynx_schema (entities), splynx_validation (422 rules), splynx_rules (cross-record rules,
delete guards), splynx_query (search), splynx_auth (signatures, tokens), splynx_store (SQLite).
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from etl.sandbox.server import Faults, RateLimiter, SandboxServer
from etl.sandbox.splynx_api import SplynxApi
from etl.sandbox.splynx_auth import ACCESS_TTL_S, REFRESH_TTL_S, Authenticator
from etl.sandbox.splynx_schema import (
    BY_KEY,
    BY_PATH,
    CUSTOMER_SERVICES,
    IPV4_IPS,
    PAYMENT_METHODS,
    SEEDED_PAYMENT_METHODS,
    SEEDED_TAXES,
    SEEDED_TICKET_GROUPS,
    SEEDED_TICKET_STATUSES,
    SEEDED_TICKET_TYPES,
    SEEDED_TRANSACTION_CATEGORIES,
    TRANSACTION_CATEGORIES,
    US_STATES,
    Entity,
)
from etl.sandbox.splynx_store import SplynxStore
from etl.sandbox.splynx_validation import hash_secret

__all__ = ["SplynxSimulator"]


class SplynxSimulator:
    """The Splynx simulator: a SQLite-backed API server on 127.0.0.1."""

    def __init__(self, db_path: Path | None = None, api_key: str = "sandbox-key",
                 api_secret: str = "sandbox-secret", admin_login: str = "admin", admin_password: str = "admin-pass",
                 rate_limit_per_s: float | None = None, port: int = 0) -> None:
        self.db_path = Path(db_path) if db_path is not None else None
        self.api_key = api_key
        self.api_secret = api_secret
        self.admin_login = admin_login
        self.admin_password = admin_password
        self.port = port
        self.faults = Faults()
        self.rate_limit_per_s = rate_limit_per_s
        self.rate_limiter = RateLimiter(rate_limit_per_s)
        self.store = SplynxStore(self.db_path)
        self.auth = Authenticator(self.store, api_key, api_secret)
        self.forbidden: set[str] = set()  # collection paths this API key may not use (answered 403)
        self._server: SandboxServer | None = None
        self._seed_if_fresh()

    # -- life cycle ----------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve in a background thread; return the base URL (the API lives at base + "/api/2.0/")."""
        if self._server is not None:
            return self._server.base_url
        if self.store.closed:
            self.store = SplynxStore(self.db_path)
            self.auth.store = self.store
            self._seed_if_fresh()
        app = SplynxApi(self.store, self.auth, self.faults, self.rate_limiter)
        app.forbidden = self.forbidden
        self._server = SandboxServer(app, port=self.port)
        return self._server.start()

    def stop(self) -> None:
        """Stop serving and close the database; everything committed stays in db_path."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.store.close()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` of the running server."""
        if self._server is None:
            raise RuntimeError("Splynx simulator is not running; call start() first")
        return self._server.base_url

    @property
    def api_url(self) -> str:
        """The API root, `<base>/api/2.0/`."""
        return self.base_url + "/api/2.0/"

    def __enter__(self) -> SplynxSimulator:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- state ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded empty install, as if freshly installed.

        Ids restart, nonces and tokens are forgotten, faults are off, the rate limit and token lifetimes
        are the constructor's again, and no endpoint is forbidden.
        """
        with self.store.transaction():
            self.store.wipe()
            self._seed_if_fresh()
        self.faults.reset()
        self.rate_limiter.per_second = self.rate_limit_per_s
        self.forbidden.clear()
        self.auth.access_ttl_s, self.auth.refresh_ttl_s = ACCESS_TTL_S, REFRESH_TTL_S

    def _seed_if_fresh(self) -> None:
        """A new Splynx has partner 1, location 1, the installing administrator and its default finance setup."""
        self._seed_categories()
        self._seed_payment_methods()
        self._seed_support()
        with self.store.transaction():
            if self.store.get("partners", 1) is not None:
                return
            self._seed("partners", {"name": "Main"})
            self._seed("locations", {"name": "Central", "tax_for_tariff_bundle": 0, "tax_for_tariff_internet": 0,
                                     "tax_for_tariff_voice": 0, "tax_for_tariff_recurring": 0,
                                     "tax_for_tariff_onetime": 0, "tax_for_inventory_items": 0})
            self._seed("stocks", {"name": "Main stock"})  # guess: an item's default stock_id is 1
            self._seed("administrators", {
                "partner_id": 0, "role_name": "super-administrator", "login": self.admin_login,
                "name": "Administrator", "email": "admin@example.com", "phone": "", "timeout": 1200,
                "router_access": "full", "password": hash_secret(self.admin_password), "last_ip": "",
                "last_dt": None, "updated_at": None})
            for code, name in US_STATES:
                self._seed("states_provinces", {"code": code, "name": name, "date_changed": None, "is_default": 0})
            for name, rate in SEEDED_TAXES:
                self._seed("taxes", {"name": name, "rate": rate, "type": "single", "archived": 0,
                                     "accounting_tax_rates_id": 0, "einvoicing_tax_rates_id": 0})

    def _seed_categories(self) -> None:
        """Splynx's default transaction categories, also into a database file made before they were simulated.

        Why apart from the rest of the seed: they cannot be deleted, so none at all means an older file.
        """
        with self.store.transaction():
            if self.store.count("transaction_categories"):
                return
            for name in SEEDED_TRANSACTION_CATEGORIES:
                self._seed_category(name)

    def _seed_payment_methods(self) -> None:
        """A fresh Splynx's payment methods, also into a database file made before they were simulated.

        Why keyed on the id sequence rather than on a count: methods can be deleted, and deleting them all must
        not bring them back at the next start; a sequence never written means a file older than the methods.
        """
        with self.store.transaction():
            if self.store.last_id("payment_methods"):
                return
            defaults = {f.name: f.default for f in PAYMENT_METHODS.fields if f.name != "id"}
            for name in SEEDED_PAYMENT_METHODS:
                self._seed("payment_methods", {**defaults, "name": name, "is_active": 1})

    def _seed_support(self) -> None:
        """A fresh Splynx's ticket statuses, groups and types, also into a file made before they were simulated.

        Why keyed on each id sequence, as payment methods: a sequence never written means an older file.
        """
        with self.store.transaction():
            if not self.store.last_id("ticket_statuses"):
                for title, label, mark, icon in SEEDED_TICKET_STATUSES:
                    self._seed("ticket_statuses", {"title_for_agent": title, "title_for_customer": title,
                                                   "label": label, "mark": list(mark), "icon": icon,
                                                   "view_on_dashboard": 1})
            if not self.store.last_id("ticket_groups"):
                for title in SEEDED_TICKET_GROUPS:
                    self._seed("ticket_groups", {"title": title, "description": "", "agent_ids": []})
            if not self.store.last_id("ticket_types"):
                for title in SEEDED_TICKET_TYPES:
                    self._seed("ticket_types", {"title": title, "background_color": None})

    def _seed_category(self, name: str) -> None:
        """One of Splynx's default transaction categories (`is_base` 1: it cannot be edited or deleted)."""
        defaults = {f.name: f.default for f in TRANSACTION_CATEGORIES.fields if f.name != "id"}
        self._seed("transaction_categories", {**defaults, "name": name, "is_base": 1})

    def _seed(self, entity: str, data: dict[str, Any]) -> None:
        record_id = self.store.next_id(entity)
        self.store.put(entity, record_id, {"id": record_id, **data, "additional_attributes": {}})

    def rows(self, path: str) -> list[dict[str, Any]]:
        """Stored records of a collection path (or entity key), typed, by id; for test assertions.

        `admin/customers/customer/{cid}/internet-services` filters by customer unless cid is 0;
        `admin/config/additional-fields/{module}` lists that module's definitions.
        """
        entity, scope = _entity_for(path.strip("/"))
        where = " AND ".join(f"json_extract(data, '$.{k}') = ?" for k in scope)
        if not self.store.closed:
            return self.store.select(entity.key, where, list(scope.values()))
        stopped = SplynxStore(self.db_path)  # after stop(): read the file directly
        try:
            return stopped.select(entity.key, where, list(scope.values()))
        finally:
            stopped.close()


def _entity_for(path: str) -> tuple[Entity, dict[str, Any]]:
    if path in BY_PATH:
        return BY_PATH[path], {}
    if path in BY_KEY:
        return BY_KEY[path], {}
    parts = path.split("/")
    for service in CUSTOMER_SERVICES:
        if path.startswith("admin/customers/customer/") and path.endswith("/" + service.path.split("/")[-1]):
            cid = int(parts[3])
            return service, ({"customer_id": cid} if cid else {})
    if path.startswith("admin/config/additional-fields/"):
        return BY_KEY["additional_fields"], {"module": parts[-1]}
    if path.startswith(IPV4_IPS.path + "/"):
        return IPV4_IPS, {"ipv4_networks_id": int(parts[-1])}
    raise KeyError(f"no simulated Splynx collection at {path!r}")


def main(argv: list[str] | None = None) -> None:
    """Serve the simulator until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m etl.sandbox.splynx", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: in memory)")
    parser.add_argument("--key", default="sandbox-key")
    parser.add_argument("--secret", default="sandbox-secret")
    parser.add_argument("--admin-login", default="admin")
    parser.add_argument("--admin-password", default="admin-pass")
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second (default: none)")
    args = parser.parse_args(argv)
    sim = SplynxSimulator(args.db, args.key, args.secret, args.admin_login, args.admin_password,
                          args.rate_limit, port=args.port)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(f"Splynx simulator at {sim.start()}/api/2.0/", flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
