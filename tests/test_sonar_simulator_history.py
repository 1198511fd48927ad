"""The Sonar simulator serves `core_transactions`: six months of debits, payments and discounts per account."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from graphql import GraphQLEnumType

from etl.sandbox import sonar_data
from etl.sandbox.sonar import DEFAULT_TOKEN, SonarSimulator
from etl.sandbox.sonar_data import generate
from etl.sandbox.sonar_schema import load_schema
from tests.test_sonar_simulator import AUTH, data

FIELDS = "id account_id sonar_unique_id created_at updated_at amount description datetime running_balance type "
FIELDS += "tax_total successful"
SIGN = {"DEBIT": 1, "PAYMENT": -1, "DISCOUNT": -1}
"""How each type moves the running balance (positive: the customer owes)."""


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
        assert len(debits) == 6, account_id
        assert len({r["datetime"][:7] for r in debits}) == 6  # one per month
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
    assert first["core_transactions"] == second["core_transactions"]
    assert first["core_transactions"] != other["core_transactions"]
    monkeypatch.setattr(sonar_data, "_transactions", lambda tables, seed: None)
    without = generate(60, 5).tables
    assert without["core_transactions"] == {}
    assert {t: rows for t, rows in first.items() if t != "core_transactions"} == {
        t: rows for t, rows in without.items() if t != "core_transactions"
    }
