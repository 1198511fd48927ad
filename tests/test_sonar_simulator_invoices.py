"""The Sonar simulator serves `invoices` and `debits`: one debit per billed service and month, one invoice per cycle."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type, is_leaf_type

from etl.sandbox import sonar_data
from etl.sandbox.sonar import DEFAULT_TOKEN, SonarSimulator
from etl.sandbox.sonar_data import add_payment, generate
from etl.sandbox.sonar_query import Record
from etl.sandbox.sonar_schema import load_schema
from etl.sandbox.sonar_store import SonarStore
from tests.test_sonar_simulator import data
from tests.test_sonar_simulator_history import enum_values

SIGN = {"DEBIT": 1, "PAYMENT": -1, "DISCOUNT": -1}
INVOICE_FIELDS = "id account_id date due_date end_date total_debits total_taxes remaining_due status void"
DEBIT_FIELDS = "id account_id amount description invoice_id service_id service_name type quantity"
PAGE_INFO = "page_info { page records_per_page total_count total_pages }"


@pytest.fixture(scope="module")
def store() -> SonarStore:
    """A 100-customer store (seed 42), read only."""
    return generate(100, 42)


@pytest.fixture(scope="module")
def sim() -> Iterator[SonarSimulator]:
    """A 100-customer simulator (seed 42) shared by the read-only tests."""
    with SonarSimulator(customers=100, seed=42, token=DEFAULT_TOKEN) as running:
        yield running


@pytest.fixture
def fresh_sim() -> Iterator[SonarSimulator]:
    """A fresh 100-customer simulator for a test that books payments."""
    with SonarSimulator(customers=100, seed=42, token=DEFAULT_TOKEN) as running:
        yield running


def grouped(rows: list[Record], column: str) -> dict[Any, list[Record]]:
    """Rows per value of one column, each group in id order."""
    groups: dict[Any, list[Record]] = {}
    for row in sorted(rows, key=lambda r: int(r["id"])):
        groups.setdefault(row[column], []).append(row)
    return groups


def test_the_latest_running_balance_is_what_the_debits_discounts_and_payments_add_up_to(store: SonarStore) -> None:
    for account_id, history in grouped(store.all("core_transactions"), "account_id").items():
        expected = sum(SIGN[t["type"]] * t["amount"] for t in history
                       if t["type"] != "PAYMENT" or t["successful"])  # fmt: skip
        assert history[-1]["running_balance"] == expected, account_id


def test_every_debit_transaction_has_exactly_one_debit_on_an_invoice_of_its_own_account(store: SonarStore) -> None:
    transactions = store.tables["core_transactions"]
    debits, invoices = store.tables["debits"], store.tables["invoices"]
    pointed = [t["debit_id"] for t in transactions.values() if "debit_id" in t]
    assert sorted(pointed) == sorted(debits)  # one each, none left over
    for transaction in store.all("core_transactions"):
        debit_id = transactions[transaction["id"]].get("debit_id")
        assert (debit_id is not None) is (transaction["type"] == "DEBIT"), transaction
        if debit_id is None:
            continue
        debit = store.get("debits", debit_id)
        assert (debit["account_id"], debit["amount"]) == (transaction["account_id"], transaction["amount"])
        assert debit["description"] == transaction["description"]
        assert debit["created_at"] == debit["updated_at"] == transaction["datetime"]
        assert invoices[debit["invoice_id"]]["account_id"] == debit["account_id"]


def test_an_invoices_debits_add_up_to_its_total_and_it_spans_its_billing_cycle(store: SonarStore) -> None:
    debits = grouped(store.all("debits"), "invoice_id")
    invoices = store.all("invoices")
    assert invoices and set(debits) == {i["id"] for i in invoices}  # no empty invoice, no orphan debit
    for invoice in invoices:
        assert invoice["total_debits"] == sum(d["amount"] for d in debits[invoice["id"]]) > 0, invoice
        assert (invoice["total_taxes"], invoice["void"], invoice["delinquent"], invoice["number_of_months"]) == (
            0, False, False, 1,
        )  # fmt: skip
        day = date.fromisoformat(invoice["date"])
        assert day.day == 1 and invoice["created_at"] == invoice["updated_at"] == debits[invoice["id"]][0]["created_at"]
        assert date.fromisoformat(invoice["due_date"]) == day + timedelta(days=14)
        end = date.fromisoformat(invoice["end_date"])
        assert end.month == day.month and (end + timedelta(days=1)).day == 1  # the day before the next cycle
        assert all(d["account_id"] == invoice["account_id"] for d in debits[invoice["id"]])
    per_account = grouped(invoices, "account_id")
    assert set(per_account) == {t["account_id"] for t in store.tables["core_transactions"].values()}
    assert all(len(own) == 6 and len({i["date"] for i in own}) == 6 for own in per_account.values())


def test_each_debit_is_one_billed_service_at_its_price_and_a_month_still_bills_the_same_total(
    store: SonarStore,
) -> None:
    services = store.tables["services"]
    subscriptions = grouped(store.all("account_services"), "account_id")
    kinds = enum_values("ServiceType")
    for invoice_id, own in grouped(store.all("debits"), "invoice_id").items():
        account_id = own[0]["account_id"]
        held = sorted(s["service_id"] for s in subscriptions[account_id])
        billed = [s for s in held if services[s].get("application", "DEBIT") == "DEBIT" and services[s]["amount"] > 0]
        assert [d["service_id"] for d in own] == billed, invoice_id  # one per billed service, in service id order
        for debit in own:
            service = services[debit["service_id"]]
            assert debit["service_name"] == debit["description"] == service["name"]
            assert debit["amount"] == service["amount"] and debit["type"] == service["type"] and debit["type"] in kinds
            assert (debit["quantity"], debit["number_of_months"], debit["reversed"]) == (1, 1, False)
        total = sum(services[s]["amount"] * sub.get("quantity", 1) for sub in subscriptions[account_id]
                    if (s := sub["service_id"]) in billed)  # fmt: skip
        assert sum(d["amount"] for d in own) == max(total, sonar_data.MIN_DEBIT_CENTS)


def test_remaining_due_applies_the_credits_oldest_invoice_first(store: SonarStore) -> None:
    histories = grouped(store.all("core_transactions"), "account_id")
    owing = 0
    for account_id, own in grouped(store.all("invoices"), "account_id").items():
        balance = histories[account_id][-1]["running_balance"]
        assert sum(i["remaining_due"] for i in own) == max(balance, 0), account_id
        started = False  # once an invoice is owed, every later one is owed in full
        for invoice in own:
            assert 0 <= invoice["remaining_due"] <= invoice["total_debits"]
            assert invoice["status"] == ("PAID" if invoice["remaining_due"] == 0 else "UNPAID")
            if started:
                assert invoice["remaining_due"] == invoice["total_debits"], invoice
            started = started or invoice["remaining_due"] > 0
        owing += balance > 0
    assert owing > 0


def test_splitting_the_debits_leaves_the_payments_discounts_and_balances_as_one_debit_a_month_had_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    split = generate(60, 5).tables
    real = sonar_data._monthly_charges

    def one_charge(tables: dict[str, dict[int, Record]]) -> dict[int, list[sonar_data.Charge]]:
        return {account_id: [(*charges[0][:3], sum(c[3] for c in charges), sonar_data.DEBIT_DESCRIPTION)]
                for account_id, charges in real(tables).items()}  # fmt: skip

    monkeypatch.setattr(sonar_data, "_monthly_charges", one_charge)
    single = generate(60, 5).tables

    def others(tables: dict[str, dict[int, Record]]) -> list[Record]:
        return [{k: v for k, v in t.items() if k not in ("id", "payment_id")}
                for t in tables["core_transactions"].values() if t.get("type", "DEBIT") != "DEBIT"]  # fmt: skip

    assert others(split) == others(single)
    assert split["payments"] == single["payments"]
    assert len(split["invoices"]) == len(single["invoices"])
    assert len(single["debits"]) == len(single["invoices"]) < len(split["debits"])
    for invoice_id, invoice in split["invoices"].items():
        assert invoice == single["invoices"][invoice_id]


def test_every_non_null_invoice_and_debit_field_is_served_with_a_value(sim: SonarSimulator) -> None:
    schema = load_schema()
    for root, type_name in (("invoices", "Invoice"), ("debits", "Debit")):
        entity = schema.type_map[type_name]
        assert isinstance(entity, GraphQLObjectType)
        leaves = {n: f for n, f in entity.fields.items() if is_leaf_type(get_named_type(f.type))}
        query = f"{{ {root}(paginator: {{page: 1, records_per_page: 1000}}) {{ entities {{ {' '.join(leaves)} }} }} }}"
        rows = data(sim, query)[root]["entities"]
        assert rows, root
        required = [n for n, f in leaves.items() if isinstance(f.type, GraphQLNonNull)]
        assert {"status", "remaining_due", "service_name", "type"} & set(required)
        assert all(row[n] is not None for row in rows for n in required), root


def test_an_accounts_invoices_are_served_with_their_debits(sim: SonarSimulator) -> None:
    store = sim.store
    several = next(i for i in store.tables["invoices"].values()
                   if len(store.where("debits", "invoice_id", i["id"])) >= 2)  # fmt: skip
    account_id = several["account_id"]
    query = f"""{{ invoices(account_id: {account_id}) {{ {PAGE_INFO}
      entities {{ {INVOICE_FIELDS} debits {{ entities {{ {DEBIT_FIELDS} }} }} account {{ id }} }} }} }}"""
    served = data(sim, query)["invoices"]
    assert served["page_info"] == {"page": 1, "records_per_page": 100, "total_count": 6, "total_pages": 1}
    invoices = served["entities"]
    assert [int(i["id"]) for i in invoices] == sorted(int(i["id"]) for i in invoices)
    assert [i["date"] for i in invoices] == sorted(i["date"] for i in invoices)  # oldest first
    for invoice in invoices:
        assert invoice["account"] == {"id": str(account_id)} and invoice["account_id"] == str(account_id)
        debits = invoice["debits"]["entities"]
        assert len(debits) >= 2 and {d["invoice_id"] for d in debits} == {invoice["id"]}
        assert sum(d["amount"] for d in debits) == invoice["total_debits"]
        assert all(d["description"] == d["service_name"] for d in debits)
    query = f"{{ debits(invoice_id: {several['id']}) {{ entities {{ id amount invoice {{ id account_id }} }} }} }}"
    debits = data(sim, query)["debits"]["entities"]
    assert len(debits) >= 2
    assert all(d["invoice"] == {"id": str(several["id"]), "account_id": str(account_id)} for d in debits)


def test_a_debit_transaction_leads_to_its_debit_and_the_others_to_none(sim: SonarSimulator) -> None:
    account_id = next(i["account_id"] for i in sim.store.tables["invoices"].values()
                      if len(sim.store.where("debits", "invoice_id", i["id"])) >= 2)  # fmt: skip
    query = f"""{{ core_transactions(account_id: {account_id}, paginator: {{page: 1, records_per_page: 100}}) {{
      entities {{ id type amount datetime debit {{ id invoice_id amount account_id created_at }} }} }} }}"""
    rows = data(sim, query)["core_transactions"]["entities"]
    assert {r["type"] for r in rows} >= {"DEBIT", "PAYMENT"}
    invoices = {i["id"]: i for i in data(sim, f"{{ invoices(account_id: {account_id}) {{ entities {{ id date }} }} }}")
                ["invoices"]["entities"]}  # fmt: skip
    seen: set[str] = set()
    for row in rows:
        if row["type"] != "DEBIT":
            assert row["debit"] is None, row
            continue
        debit = row["debit"]
        assert (debit["amount"], debit["account_id"], debit["created_at"]) == (row["amount"], str(account_id),
                                                                               row["datetime"])  # fmt: skip
        assert invoices[debit["invoice_id"]]["date"] == row["datetime"][:10]
        assert debit["id"] not in seen
        seen.add(debit["id"])


def test_invoices_page_sort_and_search_like_every_root_field(sim: SonarSimulator) -> None:
    def page(number: int, per_page: int, more: str = "") -> dict[str, Any]:
        query = f"{{ invoices(paginator: {{page: {number}, records_per_page: {per_page}}}{more}) {{ {PAGE_INFO} "
        query += "entities { id account_id date status remaining_due } } }"
        result: dict[str, Any] = data(sim, query)["invoices"]
        return result

    total = len(sim.store.tables["invoices"])
    everything = page(1, 1000)["entities"]
    assert len(everything) == total
    second = page(2, 7)
    assert second["entities"] == everything[7:14]
    assert second["page_info"] == {"page": 2, "records_per_page": 7, "total_count": total,
                                   "total_pages": math.ceil(total / 7)}  # fmt: skip
    newest = page(1, 5, ', sorter: [{attribute: "date", direction: DESC}, {attribute: "id", direction: ASC}]')
    assert [i["date"] for i in newest["entities"]] == [max(i["date"] for i in everything)] * 5
    unpaid = page(1, 1000, ', search: [{string_fields: [{attribute: "status", search_value: "UNPAID", match: true,'
                           " partial_matching: false}]}]")  # fmt: skip
    assert unpaid["entities"] == [i for i in everything if i["status"] == "UNPAID"] != []
    assert all(i["remaining_due"] > 0 for i in unpaid["entities"])
    owed = page(1, 1000, ', search: [{integer_fields: [{attribute: "remaining_due", search_value: 0, operator: GT}]}]')
    assert owed["entities"] == unpaid["entities"]
    may = page(1, 1000, ', date: "2025-05-01"')
    assert may["entities"] == [i for i in everything if i["date"] == "2025-05-01"] != []


def test_add_payment_settles_the_oldest_owed_invoices(fresh_sim: SonarSimulator) -> None:
    store = fresh_sim.store
    owed = [i for i in store.tables["invoices"].values() if i.get("remaining_due")]
    account_id = owed[0]["account_id"]

    def invoices() -> list[dict[str, Any]]:
        query = f"{{ invoices(account_id: {account_id}) {{ entities {{ id remaining_due status _version }} }} }}"
        rows: list[dict[str, Any]] = data(fresh_sim, query)["invoices"]["entities"]
        return rows

    before = invoices()
    due = sum(i["remaining_due"] for i in before)
    assert due > 0
    add_payment(store, account_id, 1, datetime(2025, 6, 2, tzinfo=UTC))
    after_one = invoices()
    assert sum(i["remaining_due"] for i in after_one) == due - 1
    changed = [a for b, a in zip(before, after_one, strict=True) if a != b]
    assert len(changed) == 1 and changed[0]["_version"] == "2" and changed[0]["status"] == "UNPAID"
    add_payment(store, account_id, due - 1 + 500, datetime(2025, 6, 3, tzinfo=UTC))  # 5 dollars in credit
    settled = invoices()
    assert all((i["remaining_due"], i["status"]) == (0, "PAID") for i in settled)
    untouched = [a for b, a in zip(before, settled, strict=True) if b["remaining_due"] == 0]
    assert untouched and all(i["_version"] == "1" for i in untouched)


def test_an_account_whose_services_bill_almost_nothing_gets_one_monthly_services_debit_of_the_floor() -> None:
    tables: dict[str, dict[int, Record]] = {
        "services": {1: {"id": 1, "name": "Fiber 100", "type": "DATA", "application": "DEBIT", "amount": 4999},
                     2: {"id": 2, "name": "Free Wi-Fi", "type": "RECURRING", "application": "DEBIT", "amount": 0},
                     3: {"id": 3, "name": "Goodwill Credit", "type": "ADJUSTMENT", "application": "CREDIT",
                         "amount": 500}},
        "account_services": {
            1: {"id": 1, "account_id": 1, "service_id": 3},
            2: {"id": 2, "account_id": 1, "service_id": 2},
            3: {"id": 3, "account_id": 2, "service_id": 2},
            4: {"id": 4, "account_id": 2, "service_id": 1, "quantity": 2},
        },
        "accounts": {1: {"id": 1}, 2: {"id": 2}},
    }  # fmt: skip
    charges = sonar_data._monthly_charges(tables)
    floor = sonar_data.MIN_DEBIT_CENTS
    assert charges == {1: [(2, "Free Wi-Fi", "RECURRING", floor, "Monthly services")],
                       2: [(1, "Fiber 100", "DATA", 9998, "Fiber 100")]}  # fmt: skip
