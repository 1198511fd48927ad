"""Values at Splynx's captured length limits, end to end: at the limit they land intact, one over they fail alone.

Why from the operator's side: the transformers and the simulator each know the limits (the contract test
compares both with the live capture), but only a run shows what an operator gets. Sonar records are given a
value exactly at each limit of docs/fidelity.md's "Lengths and enum values" table, and one character over it
(one record per field), then `etl run --all --continue-on-error`, `etl failures`, `etl fix`, `etl resume`
run as the operator would. Splynx's varchar(N) counts characters, so the at-limit values are multi-byte
wherever Splynx takes any text (names, street, city, ZIP, customer_info); logins and e-mail stay ASCII.

No Sonar field maps to customer_info passport, company_id or vat_id (docs/mapping.md): an operator reaches
them with `etl fix account ID --set customer_info.vat_id=...`, so those values are overrides.

One sandbox migration, shared by the module (`story`): the tests read what it recorded at each step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from etl.sandbox.pair import SandboxPair
from etl.sandbox.splynx_schema import ADMIN_ROLES
from state.models import Item
from state.states import ItemState, RunStatus
from tests.fixtures.pipeline import CUSTOMERS, Sandbox, marker_of
from tests.fixtures.splynx import SignedClient
from tests.test_splynx_contract import read_tsv, varchar_length
from transformers.validation import EMAIL_ADDRESS_MAX, SHOWN_VALUE_CHARS, shown, valid_email

ADMINISTRATORS = "admin/administration/administrators"
INFO_PREFIX = "customer_info."


def text(length: int, head: str, fill: str = "x") -> str:
    """`head` padded with `fill` to exactly `length` characters (single spaces only: clean_text keeps it)."""
    value = (head + fill * length)[:length]
    assert len(value) == length and value == value.strip() and "  " not in value
    return value


def address(length: int, tag: str) -> str:
    """One valid e-mail address of exactly `length` characters (local part ≤ 64, domain labels ≤ 63)."""
    local = text(min(40, length - 8), tag)
    body = ("d" * 59 + ".") * (length // 60 + 1)
    body = body[: length - len(local) - 1 - len(".net")]
    value = f"{local}@{body[:-1]}d.net" if body.endswith(".") else f"{local}@{body}.net"
    assert len(value) == length
    return value


def addresses(length: int, tag: str) -> str:
    """One address of exactly `length` characters, or beyond 254 two, comma-separated as Splynx allows.

    Two and not one: Yii2's EmailValidator refuses an address longer than 254 characters (RFC 5321), so
    a 256-character customer e-mail is only reachable as a list.
    """
    if length <= EMAIL_ADDRESS_MAX:
        return address(length, tag)
    half = length // 2
    return f"{address(half, tag + 'a')},{address(length - half - 1, tag + 'b')}"


@dataclass(frozen=True)
class Case:
    """One captured limit: which record and Splynx field it governs, and values of any length for it."""

    entity: str  # the ledger entity whose Sonar record carries the value
    field: str  # the Splynx field, as failures name it
    limit: int  # mysql-columns.tsv's varchar(N)
    column: str  # table.column of the capture
    make: Callable[[int, str], str]  # a value of exactly n characters, distinct per tag
    fixed_length: int | None = None  # the length `etl fix` sets (default: the limit)
    # Other Splynx fields the transformer fills with the same Sonar value: fixing the field fixes them too
    # (transformers.registry.COPIED_FIELDS), so the story fixes only the field and checks the copies.
    copies: tuple[str, ...] = ()
    own_run: bool = False  # its at-limit value goes to Splynx in a run of its own (see `story`)

    @property
    def id(self) -> str:
        """How pytest and the messages name the case."""
        return f"{self.entity}.{self.field}"


CASES = (
    Case("user", "login", 64, "admins.login", lambda n, t: text(n, f"{t}.login.")),
    Case("user", "name", 64, "admins.name", lambda n, t: text(n, f"Zoë {t} ", "é")),
    Case("user", "email", 64, "admins.email", lambda n, t: address(n, f"{t}.admin")),
    Case("account", "login", 128, "customers.login", lambda n, t: text(n, f"{t}-login-")),
    Case("account", "name", 256, "customers.name", lambda n, t: text(n, f"Coopérative {t} ", "日")),
    Case(
        "account",
        "email",
        256,
        "customers.email",
        lambda n, t: addresses(n, f"{t}.cust"),
        EMAIL_ADDRESS_MAX,
        copies=("billing_email",),
        own_run=True,
    ),
    Case("account", "street_1", 255, "customers.street_1", lambda n, t: text(n, f"1 Straße {t} ", "ß")),
    Case("account", "zip_code", 32, "customers.zip_code", lambda n, t: text(n, f"{t}-", "ö")),
    Case("account", "city", 32, "customers.city", lambda n, t: text(n, f"Zürich {t} ", "ü")),
    Case("account", "customer_info.passport", 32, "customer_info.passport", lambda n, t: text(n, f"P{t}", "é")),
    Case("account", "customer_info.company_id", 32, "customer_info.company_id", lambda n, t: text(n, f"C{t}", "日")),
    Case("account", "customer_info.vat_id", 32, "customer_info.vat_id", lambda n, t: text(n, f"DE{t}", "ü")),
)


def values(entity: str, tag: str, **given: str) -> dict[str, str]:
    """Ordinary values of every limited field of a record, with `given` (Splynx field -> value) instead."""
    plain = {
        "user": {"login": f"plain.{tag}", "name": f"Plain {tag}", "email": f"{tag}@example-isp.net"},
        "account": {"login": f"plain-{tag}", "name": f"Plain {tag}", "email": f"{tag}@example.net",
                    "street_1": "1 Main St", "zip_code": "73301", "city": "Austin"},
    }[entity]  # fmt: skip
    return {**plain, **given}


def add_record(box: Sandbox, entity: str, fields: dict[str, str]) -> str:
    """Put a Sonar user or account carrying these Splynx field values where the transformers read them."""
    store = box.sonar.store
    if entity == "user":
        user_id = store.insert(
            "users", name=fields["name"], username=fields["login"], email_address=fields["email"],
            public_name="Limit", enabled=True, super_admin=False, role_id=1, language="en",
        )  # fmt: skip
        return str(user_id)
    contact = {"name": "Limit Contact", "primary": True, "role": "Account holder",
               "username": fields["login"], "email_address": fields["email"]}  # fmt: skip
    place = {"type": "PHYSICAL", "line1": fields["street_1"], "zip": fields["zip_code"], "city": fields["city"],
             "subdivision": "US_TX"}  # fmt: skip
    return str(store.add_account(fields["name"], contacts=[contact], addresses=[place]))


def info_overrides(fields: dict[str, str]) -> list[str]:
    """`--set field=value` arguments for the customer_info fields, which only an override reaches."""
    return [a for n, v in fields.items() if n.startswith(INFO_PREFIX) for a in ("--set", f"{n}={v}")]


@dataclass
class Story:
    """What one operator session recorded at each step (module fixture `story`)."""

    box: Sandbox
    at_limit: dict[str, str] = field(default_factory=dict)  # case id -> Sonar id of the record at its limit
    over: dict[str, str] = field(default_factory=dict)  # case id -> Sonar id of its one-over record
    run_code: int = -1
    failed: dict[tuple[str, str], Item] = field(default_factory=dict)  # after the run: (entity, id) -> item
    failures_output: str = ""
    splynx_after_run: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    resume_code: int = -1
    failures_after_resume: str = ""
    own_run_codes: dict[str, int] = field(default_factory=dict)  # case id -> exit code of its own run

    def value(self, case: Case, tag: str) -> str:
        """The value the story gave a case under `tag` (`at`, `over`, `fixed`)."""
        length = {"at": case.limit, "over": case.limit + 1, "fixed": case.fixed_length or case.limit}[tag]
        return case.make(length, f"{tag}{CASES.index(case)}")


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    """An operator's session against one sandbox pair.

    Sonar gets one user and one account with every value at its limit, and one record per limit with that
    value one character over; `etl run --all --continue-on-error`, `etl failures`, `etl fix` of each with
    a value that fits, `etl resume`. A case marked `own_run` then gets its at-limit record in a run of its
    own (`etl run --customer ID`), so that a refusal there cannot hide the main story's outcome.
    """
    folder = tmp_path_factory.mktemp("limits")
    pair = SandboxPair(customers=0, splynx_db=folder / "splynx.db")
    pair.start()
    try:
        box = Sandbox(pair, folder / "home")
        box.etl("init")
        told = Story(box)
        for entity in ("user", "account"):
            mine = {c.field: told.value(c, "at") for c in CASES if c.entity == entity and not c.own_run}
            source_id = add_record(box, entity, values(entity, "at", **mine))
            told.at_limit.update({c.id: source_id for c in CASES if c.entity == entity and not c.own_run})
            if info_overrides(mine):
                box.etl("fix", entity, source_id, *info_overrides(mine))
        for number, case in enumerate(CASES):
            fields = values(case.entity, f"o{number}", **{case.field: told.value(case, "over")})
            told.over[case.id] = source_id = add_record(box, case.entity, fields)
            if info_overrides(fields):
                box.etl("fix", case.entity, source_id, *info_overrides(fields))

        told.run_code = box.etl("run", "--all", "--continue-on-error", code=None).exit_code
        told.failed = failed_items(box)
        told.failures_output = box.etl("failures").output
        told.splynx_after_run = splynx_now(box)

        for case in CASES:
            fixed = told.value(case, "fixed")
            box.etl("fix", case.entity, told.over[case.id], "--set", f"{case.field}={fixed}")
        told.resume_code = box.etl("resume", code=None).exit_code
        told.failures_after_resume = box.etl("failures").output

        for number, case in enumerate(c for c in CASES if c.own_run):
            fields = values(case.entity, f"own{number}", **{case.field: told.value(case, "at")})
            told.at_limit[case.id] = source_id = add_record(box, case.entity, fields)
            told.own_run_codes[case.id] = box.etl("run", "--customer", source_id, code=None).exit_code
        yield told
    finally:
        pair.stop()


def failed_items(box: Sandbox) -> dict[tuple[str, str], Item]:
    """(entity, Sonar id) -> failed item of the first migration run."""
    with box.ledger() as ledger:
        run = min(ledger.runs(kind="migrate"), key=lambda r: r.id or 0)
        return {(i.entity, i.source_id): i for i in ledger.items(run.id or 0, state=ItemState.FAILED)}


def splynx_value(rows: dict[str, list[dict[str, Any]]], case: Case, source_id: str) -> Any:
    """The stored value of a case's field on the Splynx record migrated from Sonar `source_id`."""
    path = ADMINISTRATORS if case.entity == "user" else CUSTOMERS
    found = [r for r in rows[path] if marker_of(r) == f"{case.entity}:{source_id}"]
    assert len(found) == 1, f"{case.entity} {source_id}: {len(found)} Splynx records"
    if not case.field.startswith(INFO_PREFIX):
        return found[0][case.field]
    info = [r for r in rows["customer_info"] if str(r["id"]) == str(found[0]["id"])]
    assert len(info) == 1, f"customer {found[0]['id']}: no customer_info"
    return info[0][case.field.removeprefix(INFO_PREFIX)]


def splynx_now(box: Sandbox) -> dict[str, list[dict[str, Any]]]:
    """The Splynx rows the assertions read."""
    return {p: box.splynx.rows(p) for p in (ADMINISTRATORS, CUSTOMERS, "customer_info")}


# --- the limits are the captured ones ------------------------------------------------------------


def test_the_limits_exercised_are_the_live_capture_columns() -> None:
    columns = {f"{r['table']}.{r['column']}": varchar_length(r["type"]) for r in read_tsv("mysql-columns.tsv")}
    assert {c.column: columns.get(c.column) for c in CASES} == {c.column: c.limit for c in CASES}


# --- the first run ------------------------------------------------------------------------------


AT_LIMIT = [pytest.param(c, id=c.id) for c in CASES]


def first_run_id(box: Sandbox) -> int:
    """The id of the story's `etl run --all` (resumed, not replaced, by `etl resume`)."""
    with box.ledger() as ledger:
        return min(r.id or 0 for r in ledger.runs(kind="migrate"))


@pytest.mark.parametrize("case", AT_LIMIT)
def test_a_value_exactly_at_the_limit_lands_intact_counted_in_characters(story: Story, case: Case) -> None:
    value = story.value(case, "at")
    if case.own_run:
        assert story.own_run_codes[case.id] == 0
    rows = splynx_now(story.box) if case.own_run else story.splynx_after_run
    stored = splynx_value(rows, case, story.at_limit[case.id])
    assert stored == value, f"{case.id}: {len(value)} characters sent, {len(str(stored))} stored"
    if not value.isascii():
        assert len(value.encode()) > case.limit  # more bytes than the limit: characters are what count


def test_the_run_finishes_with_exactly_the_over_long_records_failed(story: Story) -> None:
    assert story.run_code == 1
    expected = {(c.entity, story.over[c.id]) for c in CASES}
    assert set(story.failed) == expected
    with story.box.ledger() as ledger:
        verified = {(i.entity, i.source_id) for i in ledger.items(first_run_id(story.box), state=ItemState.VERIFIED)}
    assert {(c.entity, story.at_limit[c.id]) for c in CASES if not c.own_run} <= verified


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_one_character_over_fails_that_record_naming_the_field_and_its_limit(story: Story, case: Case) -> None:
    item = story.failed[(case.entity, story.over[case.id])]
    assert (item.error_code, item.error_field) == ("too_long", case.field)
    message = item.error_message or ""
    assert f"{case.field} " in message and f"{case.limit + 1} characters" in message, message
    assert f"at most {case.limit}" in message, message
    assert f"etl fix {case.entity} {story.over[case.id]} --set {case.field}=" in (item.fix_hint or "")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_etl_failures_shows_each_one_on_one_line_with_the_value_cut_short_and_the_fix(story: Story, case: Case) -> None:
    source_id, over = story.over[case.id], story.value(case, "over")
    lines = [line for line in story.failures_output.splitlines() if f" {case.entity} " in line
             and f" {source_id} " in line and f" {case.field} " in line]  # fmt: skip
    assert len(lines) == 1, story.failures_output
    (line,) = lines
    assert f"at most {case.limit}" in line and f"etl fix {case.entity} {source_id} --set {case.field}=" in line
    assert shown(over) in line  # the value, cut short when long
    assert len(over) <= SHOWN_VALUE_CHARS - 2 or over not in line


def test_etl_failures_carries_no_credential(story: Story) -> None:
    credentials = (story.box.pair.secret, story.box.pair.key, story.box.pair.token)
    assert not [c for c in credentials if c in story.failures_output]
    assert "password" not in story.failures_output.lower()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_nothing_of_an_over_long_record_is_written_to_splynx(story: Story, case: Case) -> None:
    marker = f"{case.entity}:{story.over[case.id]}"
    rows = story.splynx_after_run
    assert not [r for r in (*rows[ADMINISTRATORS], *rows[CUSTOMERS]) if marker_of(r) == marker]
    assert story.value(case, "over") not in repr(rows)


def test_no_customer_info_without_its_customer(story: Story) -> None:
    customers = {str(r["id"]) for r in story.splynx_after_run[CUSTOMERS]}
    infos = {str(r["id"]) for r in story.splynx_after_run["customer_info"]}
    assert infos <= customers


# --- fix and resume ------------------------------------------------------------------------------


def test_fix_and_resume_finish_the_run(story: Story) -> None:
    assert story.resume_code == 0, story.failures_after_resume
    assert "has no failed items" in story.failures_after_resume
    with story.box.ledger() as ledger:
        assert ledger.get_run(first_run_id(story.box)).status == RunStatus.SUCCEEDED
    story.box.check()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_after_fix_and_resume_the_record_lands_with_the_fixed_value(story: Story, case: Case) -> None:
    rows = splynx_now(story.box)
    assert splynx_value(rows, case, story.over[case.id]) == story.value(case, "fixed")
    for copy_field in case.copies:  # fixed by the same `etl fix --set`
        copied = replace(case, field=copy_field)
        assert splynx_value(rows, copied, story.over[case.id]) == story.value(case, "fixed")


def test_an_address_yii2_would_refuse_fails_before_the_write() -> None:
    """Splynx checks e-mail with Yii2's EmailValidator: a local part ≤ 64, an address ≤ 254 characters."""
    assert valid_email(address(EMAIL_ADDRESS_MAX, "ok")) and not valid_email(address(EMAIL_ADDRESS_MAX + 1, "no"))
    assert valid_email("l" * 64 + "@example.net") and not valid_email("l" * 65 + "@example.net")
    assert valid_email(addresses(256, "list"))  # each address of a list on its own


# --- the simulator on its own: characters, and roles ---------------------------------------------


def errors_of(response: Any) -> dict[str, str]:
    """field -> message of a 422 answer."""
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()}


def test_the_simulator_counts_characters_and_refuses_one_over(splynx_client: SignedClient) -> None:
    admin = {"login": "chars", "email": "chars@example.net", "password": "p", "name": "é" * 64}
    assert splynx_client.post(ADMINISTRATORS, json=admin).status_code == 201
    assert "name" in errors_of(splynx_client.post(ADMINISTRATORS, json={**admin, "login": "c2", "name": "é" * 65}))
    customer = {"name": "日" * 256, "partner_id": 1, "location_id": 1, "city": "ü" * 32}
    customer_id = splynx_client.create(CUSTOMERS, customer)
    assert "city" in errors_of(splynx_client.post(CUSTOMERS, json={**customer, "city": "ü" * 33}))
    info = f"admin/customers/customer-info/{customer_id}"
    assert splynx_client.put(info, json={"vat_id": "日" * 32}).status_code == 202
    assert "vat_id" in errors_of(splynx_client.put(info, json={"vat_id": "日" * 33}))


def test_an_administrator_with_a_role_splynx_lacks_is_refused_naming_role_name(splynx_client: SignedClient) -> None:
    admin = {"login": "roles", "email": "roles@example.net", "password": "p", "name": "Roles"}
    assert "role_name" in errors_of(splynx_client.post(ADMINISTRATORS, json={**admin, "role_name": "technician"}))
    listed = {r["name"] for r in splynx_client.get("admin/administration/roles").json()}
    assert listed == set(ADMIN_ROLES) and "technician" not in listed
    for n, role in enumerate(sorted(listed)):
        body = {**admin, "login": f"roles{n}", "email": f"roles{n}@example.net", "role_name": role}
        assert splynx_client.post(ADMINISTRATORS, json=body).status_code == 201, role
