"""The Sonar simulator serves `core_transactions`: six months of debits, payments and discounts per account."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from graphql import GraphQLEnumType

from etl.sandbox import sonar_data
from etl.sandbox.sonar import DEFAULT_TOKEN, SonarSimulator
from etl.sandbox.sonar_data import add_payment, generate
from etl.sandbox.sonar_schema import load_schema
from tests.test_sonar_simulator import AUTH, data

FIELDS = "id account_id sonar_unique_id created_at updated_at amount description datetime running_balance type "
FIELDS += "tax_total successful"
SIGN = {"DEBIT": 1, "PAYMENT": -1, "DISCOUNT": -1}
"""How each type moves the running balance (positive: the customer owes)."""
HISTORY_TABLES = ("core_transactions", "payments", "invoices", "debits")
"""The tables the transaction history fills: the payments are those of its PAYMENT transactions, the
invoices and debits those of its DEBIT transactions."""
BOOKED_TABLES = ("core_transactions", "payments")
"""The tables `add_payment` adds a record to."""


@pytest.fixture
def sim100() -> Iterator[SonarSimulator]:
    """A fresh 100-customer simulator (seed 42), stopped afterwards."""
    sim = SonarSimulator(customers=100, seed=42, token=DEFAULT_TOKEN)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def transactions_page(sim: SonarSimulator, page: int, per_page: int, account_id: int | None = None) -> dict[str, Any]:
    """One page of `core_transactions` (of one account, or of all) with its page_info."""
    account = f"account_id: {account_id}, " if account_id is not None else ""
    paginator = f"paginator: {{page: {page}, records_per_page: {per_page}}}"
    page_info = "page_info { page records_per_page total_count total_pages }"
    query = f"{{ core_transactions({account}{paginator}) {{ {page_info} entities {{ {FIELDS} }} }} }}"
    result: dict[str, Any] = data(sim, query)["core_transactions"]
    return result


def all_transactions(sim: SonarSimulator, account_id: int | None = None) -> list[dict[str, Any]]:
    """Every transaction served, across all pages, in the order served."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        result = transactions_page(sim, page, 1000, account_id)
        found += result["entities"]
        if page >= result["page_info"]["total_pages"]:
            return found
        page += 1


def by_account(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Transactions grouped per account, keeping the order served."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(int(row["account_id"]), []).append(row)
    return grouped


def billed_accounts(sim: SonarSimulator) -> tuple[set[int], set[int]]:
    """Over HTTP: (live accounts with at least one service, every other account, archived included)."""
    query = """{ accounts(include_archived: true, paginator: {page: 1, records_per_page: 1000}) { entities {
      id archived_at account_services(paginator: {page: 1, records_per_page: 1}) { page_info { total_count } } } } }"""
    accounts = data(sim, query)["accounts"]["entities"]
    billed = {int(a["id"]) for a in accounts
              if a["archived_at"] is None and a["account_services"]["page_info"]["total_count"] > 0}  # fmt: skip
    return billed, {int(a["id"]) for a in accounts} - billed


def test_running_balances_start_at_zero_and_move_by_each_amount_in_the_direction_of_its_type(
    sim100: SonarSimulator,
) -> None:
    enum = load_schema().type_map["TransactionType"]
    assert isinstance(enum, GraphQLEnumType)
    rows = all_transactions(sim100)
    assert rows and {r["type"] for r in rows} <= set(enum.values) == set(SIGN)
    for account_id, history in by_account(rows).items():
        balance = 0
        for row in history:
            assert row["amount"] > 0 and row["tax_total"] == 0, row
            balance += SIGN[row["type"]] * row["amount"]
            assert row["running_balance"] == balance, (account_id, row)
            assert row["datetime"] == row["created_at"] == row["updated_at"]
            assert row["successful"] is (True if row["type"] == "PAYMENT" else None)
            assert row["description"]
        assert [r["datetime"] for r in history] == sorted(r["datetime"] for r in history)  # oldest first


def test_every_live_account_with_services_has_six_monthly_debits_and_the_others_have_none(
    sim100: SonarSimulator,
) -> None:
    billed, others = billed_accounts(sim100)
    histories = by_account(all_transactions(sim100))
    assert set(histories) == billed
    for account_id in billed:
        debits = [r for r in histories[account_id] if r["type"] == "DEBIT"]
        per_month = {month: sum(1 for r in debits if r["datetime"][:7] == month) for month in
                     {r["datetime"][:7] for r in debits}}  # fmt: skip
        assert len(per_month) == 6, account_id  # every month (one debit per billed service)
        assert len(set(per_month.values())) == 1, (account_id, per_month)  # the same services each month
        assert all(r["datetime"][8:10] == "01" for r in debits)  # on the 1st
        assert max(r["datetime"] for r in histories[account_id]) < "2025-06-01"  # the last cycle ends at NOW
    assert 8 in others  # the always archived account (it may hold services) has no history
    assert all(all_transactions(sim100, account_id) == [] for account_id in sorted(others)[:5])


def test_a_hundred_customers_hold_an_account_that_owes_one_in_credit_and_one_with_a_discount(
    sim100: SonarSimulator,
) -> None:
    histories = by_account(all_transactions(sim100))
    final = {account_id: history[-1]["running_balance"] for account_id, history in histories.items()}
    assert any(balance > 0 for balance in final.values())
    assert any(balance < 0 for balance in final.values())
    assert any(r["type"] == "DISCOUNT" for history in histories.values() for r in history)
    paid_in_full = sum(1 for balance in final.values() if balance == 0)
    assert paid_in_full >= 0.7 * len(final)  # most customers pay in full


def test_account_id_filters_and_the_paginator_pages_through_one_account(sonar_sim: SonarSimulator) -> None:
    histories = by_account(all_transactions(sonar_sim))
    account_id, history = next((a, h) for a, h in sorted(histories.items()) if len(h) >= 9)
    assert all_transactions(sonar_sim, account_id) == history
    first, second = (transactions_page(sonar_sim, page, 3, account_id) for page in (1, 2))
    assert first["entities"] == history[:3]
    assert second["entities"] == history[3:6]
    assert second["page_info"] == {"page": 2, "records_per_page": 3, "total_count": len(history),
                                   "total_pages": math.ceil(len(history) / 3)}  # fmt: skip
    ids = [int(r["id"]) for r in history]
    assert ids == sorted(ids)


def test_without_account_id_every_transaction_is_served_oldest_first(sonar_sim: SonarSimulator) -> None:
    rows = all_transactions(sonar_sim)
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    assert [r["datetime"] for r in rows] == sorted(r["datetime"] for r in rows)
    assert transactions_page(sonar_sim, 2, 3)["entities"] == rows[3:6]
    assert len({r["sonar_unique_id"] for r in rows}) == len(rows)


def test_a_transaction_leads_to_its_account(sonar_sim: SonarSimulator) -> None:
    query = """{ core_transactions(paginator: {page: 1, records_per_page: 20}) {
      entities { account_id account { id } } } }"""
    rows = data(sonar_sim, query)["core_transactions"]["entities"]
    assert rows and all(r["account"]["id"] == r["account_id"] for r in rows)


def test_an_account_without_services_has_no_transactions(sonar_sim: SonarSimulator) -> None:
    created = requests.post(f"{sonar_sim.base_url}/_admin/accounts", json={"name": "No services yet"}, headers=AUTH,
                            timeout=10)  # fmt: skip
    assert created.status_code == 201
    page = transactions_page(sonar_sim, 1, 10, int(created.json()["id"]))
    assert page["entities"] == []
    assert page["page_info"]["total_count"] == 0


def test_the_same_seed_gives_the_same_transactions_and_leaves_the_data_before_them_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second, other = (generate(60, seed).tables for seed in (5, 5, 6))
    for table in HISTORY_TABLES:
        assert first[table] == second[table], table
        assert first[table] != other[table], table
    monkeypatch.setattr(sonar_data, "_transactions", lambda tables, seed: None)
    without = generate(60, 5).tables
    assert all(without[table] == {} for table in HISTORY_TABLES)
    assert {t: rows for t, rows in first.items() if t not in HISTORY_TABLES} == {
        t: rows for t, rows in without.items() if t not in HISTORY_TABLES
    }


PAYMENT_FIELDS = "id account_id amount payment_datetime payment_type reference description status successful "
PAYMENT_FIELDS += "is_autopay fee amount_remaining company_id created_at updated_at _version sonar_unique_id"
REFERENCE_FORMATS = {"CREDITCARD": r"ch_[0-9a-f]{24}", "BANKACCOUNT": r"ACH-\d{15}", "CHECK": r"CHK-\d{6}"}
"""The reference each generated payment type carries: a card charge id, an ACH trace number, a check number."""


def payments_page(sim: SonarSimulator, page: int, per_page: int, account_id: int | None = None) -> dict[str, Any]:
    """One page of the `payments` root field (of one account, or of all), oldest first by id."""
    account = f"account_id: {account_id}, " if account_id is not None else ""
    paginator = f"paginator: {{page: {page}, records_per_page: {per_page}}}"
    sorter = 'sorter: [{attribute: "id", direction: ASC}]'
    page_info = "page_info { page records_per_page total_count total_pages }"
    query = f"{{ payments({account}{paginator}, {sorter}) {{ {page_info} entities {{ {PAYMENT_FIELDS} }} }} }}"
    result: dict[str, Any] = data(sim, query)["payments"]
    return result


def all_payments(sim: SonarSimulator, account_id: int | None = None) -> list[dict[str, Any]]:
    """Every payment served, across all pages."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        result = payments_page(sim, page, 1000, account_id)
        found += result["entities"]
        if page >= result["page_info"]["total_pages"]:
            return found
        page += 1


def enum_values(name: str) -> set[str]:
    """The members of one of the served schema's enums (the same as the real SDL's: test_sonar_contract)."""
    enum = load_schema().type_map[name]
    assert isinstance(enum, GraphQLEnumType)
    return set(enum.values)


def test_every_payment_transaction_has_exactly_one_payment_of_the_same_amount_account_and_moment(
    sim100: SonarSimulator,
) -> None:
    query = """query($page: Int!) { core_transactions(paginator: {page: $page, records_per_page: 1000}) {
      page_info { total_pages } entities { id type amount account_id datetime description payment { id } } } }"""
    rows: list[dict[str, Any]] = []
    for page in range(1, 100):
        result = data(sim100, query, {"page": page})["core_transactions"]
        rows += result["entities"]
        if page >= result["page_info"]["total_pages"]:
            break
    payments = {p["id"]: p for p in all_payments(sim100)}
    accounts = data(sim100, "{ accounts(include_archived: true, paginator: {page: 1, records_per_page: 1000}) {"
                            " entities { id company_id } } }")["accounts"]["entities"]  # fmt: skip
    company = {a["id"]: a["company_id"] for a in accounts}
    paid = [r for r in rows if r["type"] == "PAYMENT"]
    assert paid and all(r["payment"] is None for r in rows if r["type"] != "PAYMENT")
    assert sorted(r["payment"]["id"] for r in paid) == sorted(payments)  # one each, none left over
    for row in paid:
        payment = payments[row["payment"]["id"]]
        assert (payment["amount"], payment["account_id"]) == (row["amount"], row["account_id"]), row
        assert payment["payment_datetime"] == row["datetime"] == payment["created_at"], row
        assert payment["description"] == row["description"]
        settled = (payment["status"], payment["successful"], payment["fee"], payment["amount_remaining"])
        assert settled == ("SUCCEEDED", True, 0, 0), payment
        assert payment["company_id"] == company[payment["account_id"]] and payment["_version"] == "1"
    assert len({p["sonar_unique_id"] for p in payments.values()}) == len(payments)


def test_payment_types_and_statuses_are_sdl_enum_members_and_references_fit_32_characters(
    sim100: SonarSimulator,
) -> None:
    payments = all_payments(sim100)
    kinds = {p["payment_type"] for p in payments}
    assert kinds == {"CREDITCARD", "BANKACCOUNT", "CHECK"} and kinds <= enum_values("PaymentType")
    assert {p["status"] for p in payments} <= enum_values("PaymentStatus")
    described = {p["description"]: p["payment_type"] for p in payments}
    assert described == {"Payment - Credit card": "CREDITCARD", "Payment - ACH": "BANKACCOUNT",
                         "Payment - Check": "CHECK"}  # fmt: skip
    for payment in payments:
        assert len(payment["reference"]) <= 32, payment
        assert re.fullmatch(REFERENCE_FORMATS[payment["payment_type"]], payment["reference"]), payment
        assert payment["is_autopay"] is (payment["payment_type"] != "CHECK")
    assert len({p["reference"] for p in payments}) == len(payments)


def test_the_payments_root_field_pages_and_filters_by_account_id(sonar_sim: SonarSimulator) -> None:
    everything = all_payments(sonar_sim)
    assert payments_page(sonar_sim, 2, 5)["entities"] == everything[5:10]
    account_id = everything[0]["account_id"]
    own = [p for p in everything if p["account_id"] == account_id]
    assert len(own) > 2 and all_payments(sonar_sim, int(account_id)) == own
    second = payments_page(sonar_sim, 2, 2, int(account_id))
    assert second["entities"] == own[2:4]
    assert second["page_info"] == {"page": 2, "records_per_page": 2, "total_count": len(own),
                                   "total_pages": math.ceil(len(own) / 2)}  # fmt: skip
    search = f'search: [{{integer_fields: [{{attribute: "account_id", search_value: {account_id}, operator: EQ}}]}}]'
    query = f"{{ payments({search}, paginator: {{page: 1, records_per_page: 100}}) {{ entities {{ id }} }} }}"
    found = data(sonar_sim, query)
    assert [p["id"] for p in found["payments"]["entities"]] == [p["id"] for p in own]


def test_a_transaction_resolves_its_payment_type_and_reference(sonar_sim: SonarSimulator) -> None:
    query = """{ core_transactions(paginator: {page: 1, records_per_page: 200}) {
      entities { type description payment { payment_type reference } } } }"""
    rows = data(sonar_sim, query)["core_transactions"]["entities"]
    paid = [r for r in rows if r["type"] == "PAYMENT"]
    assert paid and all(r["payment"]["payment_type"] in REFERENCE_FORMATS for r in paid)
    assert all(re.fullmatch(REFERENCE_FORMATS[r["payment"]["payment_type"]], r["payment"]["reference"]) for r in paid)


def test_the_payments_add_only_payment_ids_to_the_transactions_and_leave_everything_else_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = generate(60, 5).tables
    monkeypatch.setattr(sonar_data, "_payments", lambda tables, seed: None)
    without = generate(60, 5).tables
    assert without["payments"] == {} and first["payments"]
    assert {t: rows for t, rows in first.items() if t not in HISTORY_TABLES} == {
        t: rows for t, rows in without.items() if t not in HISTORY_TABLES
    }
    for transaction_id, row in first["core_transactions"].items():
        assert ("payment_id" in row) is (row.get("type") == "PAYMENT")
        assert {k: v for k, v in row.items() if k != "payment_id"} == without["core_transactions"][transaction_id]


def test_add_payment_continues_the_running_balance_and_its_payment_is_served(sim100: SonarSimulator) -> None:
    store = sim100.store
    history = all_transactions(sim100)
    account_id = int(history[-1]["account_id"])
    before = by_account(history)[account_id][-1]["running_balance"]
    account_before = store.get("accounts", account_id)
    counts = {t: len(rows) for t, rows in store.tables.items()}
    when = datetime(2025, 6, 3, 14, 30, tzinfo=UTC)

    transaction_id, payment_id = add_payment(store, account_id, 2500, when, "CHECK")

    grown = {t for t, rows in store.tables.items() if len(rows) != counts[t]}
    assert grown == set(BOOKED_TABLES)
    assert all(len(store.tables[t]) == counts[t] + 1 for t in BOOKED_TABLES)
    assert store.get("accounts", account_id) == account_before  # nothing else moves
    mine = all_transactions(sim100, account_id)
    assert int(mine[-1]["id"]) == transaction_id == max(int(r["id"]) for r in all_transactions(sim100))
    assert (mine[-1]["type"], mine[-1]["amount"], mine[-1]["running_balance"]) == ("PAYMENT", 2500, before - 2500)
    assert mine[-1]["datetime"] == "2025-06-03T14:30:00+00:00" and mine[-1]["successful"] is True
    served = all_payments(sim100, account_id)[-1]
    assert served["id"] == str(payment_id) and served["payment_datetime"] == mine[-1]["datetime"]
    assert (served["amount"], served["payment_type"], served["is_autopay"]) == (2500, "CHECK", False)
    assert re.fullmatch(REFERENCE_FORMATS["CHECK"], served["reference"])
    assert served["updated_at"] > served["created_at"]  # booked now: a run reading changes since then sees it
    query = f"{{ core_transactions(account_id: {account_id}, paginator: {{page: 1, records_per_page: 100}}) {{"
    query += " entities { id payment { id payment_type } } } }"
    last = data(sim100, query)["core_transactions"]["entities"][-1]
    assert last == {"id": str(transaction_id), "payment": {"id": str(payment_id), "payment_type": "CHECK"}}


def test_add_payment_books_cash_and_wire_and_refuses_what_would_break_the_balance(sim100: SonarSimulator) -> None:
    store = sim100.store
    account_id = int(all_transactions(sim100)[-1]["account_id"])
    first, _ = add_payment(store, account_id, 1000, payment_type="CASH")
    second, wire = add_payment(store, account_id, 700, payment_type="WIRE")
    rows = {int(r["id"]): r for r in all_transactions(sim100, account_id)}
    assert rows[second]["running_balance"] == rows[first]["running_balance"] - 700
    assert rows[first]["description"] == "Payment - Cash" and rows[second]["description"] == "Payment - Wire"
    assert store.get("payments", wire)["reference"].startswith("WIRE-")
    assert {p["payment_type"] for p in all_payments(sim100, account_id)} >= {"CASH", "WIRE"}
    with pytest.raises(ValueError, match="precedes"):
        add_payment(store, account_id, 100, datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError):
        add_payment(store, account_id, 100, payment_type="BITCOIN")
    with pytest.raises(KeyError):
        add_payment(store, 999_999, 100)


def test_the_admin_api_books_a_payment_for_a_simulator_in_another_process(sim100: SonarSimulator) -> None:
    account_id = int(all_transactions(sim100)[-1]["account_id"])
    before = all_transactions(sim100, account_id)[-1]["running_balance"]
    url = f"{sim100.base_url}/_admin/accounts/{account_id}/payments"
    booked = requests.post(url, json={"cents": 1234, "when": "2025-06-05T09:00:00Z", "payment_type": "BANKACCOUNT"},
                           headers=AUTH, timeout=10)  # fmt: skip
    assert booked.status_code == 201, booked.text
    last = all_transactions(sim100, account_id)[-1]
    assert last["id"] == booked.json()["transaction_id"] and last["running_balance"] == before - 1234
    assert all_payments(sim100, account_id)[-1]["id"] == booked.json()["payment_id"]
    refused = requests.post(url, json={"cents": 5, "when": "yesterday"}, headers=AUTH, timeout=10)
    assert refused.status_code == 422
