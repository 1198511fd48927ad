"""The Sonar simulator serves `tickets`, `ticket_replies`, `ticket_comments` and `ticket_groups`."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type, is_leaf_type

from etl.sandbox import sonar_data
from etl.sandbox.sonar import DEFAULT_TOKEN, SonarSimulator
from etl.sandbox.sonar_data import LONG_REPLY, NOW, TICKET_GROUPS, generate
from etl.sandbox.sonar_query import Record
from etl.sandbox.sonar_schema import load_schema
from etl.sandbox.sonar_store import SonarStore
from tests.test_sonar_simulator import data
from tests.test_sonar_simulator_history import enum_values

TICKET_TABLES = ("tickets", "ticket_replies", "ticket_comments", "ticket_groups")
TICKET_FIELDS = ("id created_at updated_at _version subject description status priority ticketable_id ticketable_type"
                 " user_id closed_at closed_by_user_id company_id ticket_group_id")  # fmt: skip
REPLY_FIELDS = "id body incoming user_id author author_email ticket_id created_at"
NESTED = "paginator: {page: 1, records_per_page: 100}"
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


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def about(ticketable_type: str, ticketable_id: int | str) -> str:
    """The search a client sends for one record's tickets: its type and its id."""
    kind = f'{{attribute: "ticketable_type", search_value: "{ticketable_type}", match: true, partial_matching: false}}'
    number = f'{{attribute: "ticketable_id", search_value: {ticketable_id}, operator: EQ}}'
    return f"search: [{{string_fields: [{kind}], integer_fields: [{number}]}}]"


def of_ticket(ticket_id: int | str) -> str:
    return f'search: [{{integer_fields: [{{attribute: "ticket_id", search_value: {ticket_id}, operator: EQ}}]}}]'


def page_of(sim: SonarSimulator, root: str, fields: str, page: int, per_page: int, args: str = "") -> dict[str, Any]:
    """One page of a root field (filtered by `args`), by id, with its page_info."""
    paginator = f"paginator: {{page: {page}, records_per_page: {per_page}}}"
    sorter = 'sorter: [{attribute: "id", direction: ASC}]'
    query = f"{{ {root}({args} {paginator}, {sorter}) {{ {PAGE_INFO} entities {{ {fields} }} }} }}"
    result: dict[str, Any] = data(sim, query)[root]
    return result


def grouped(rows: list[Record], column: str) -> dict[Any, list[Record]]:
    """Rows per value of one column, each group in id order."""
    groups: dict[Any, list[Record]] = {}
    for row in sorted(rows, key=lambda r: int(r["id"])):
        groups.setdefault(row[column], []).append(row)
    return groups


def test_about_a_third_of_live_accounts_have_tickets_with_a_realistic_status_and_priority_mix(
    store: SonarStore,
) -> None:
    tickets = store.all("tickets")
    on_accounts = [t for t in tickets if t["ticketable_type"] == "Account"]
    per_account = Counter(t["ticketable_id"] for t in on_accounts)
    live = {a["id"]: a for a in store.accounts(include_archived=False)}
    assert set(per_account) <= set(live)
    assert 0.09 <= len(per_account) / len(live) <= 0.15 and set(per_account.values()) == {1, 2, 3}
    statuses = Counter(t["status"] for t in tickets)
    assert set(statuses) == enum_values("TicketStatus")
    assert 0.55 <= statuses["CLOSED"] / len(tickets) <= 0.85
    assert statuses["OPEN"] > max(statuses["PENDING_EXTERNAL"], statuses["PENDING_INTERNAL"]) / 2
    priorities = Counter(t["priority"] for t in tickets)
    assert set(priorities) <= enum_values("TicketPriority") and priorities.most_common(1)[0][0] == "MEDIUM"
    assert priorities["LOW"] and priorities["HIGH"] and priorities["CRITICAL"] <= 0.1 * len(tickets)
    unassigned = [t for t in tickets if t["user_id"] is None]
    assert 0.05 <= len(unassigned) / len(tickets) <= 0.35
    for ticket in on_accounts:
        account = live[ticket["ticketable_id"]]
        assert ticket["company_id"] == account["company_id"], ticket
        assert moment(account["created_at"]) < moment(ticket["created_at"]) < NOW, ticket
        assert (NOW - moment(ticket["created_at"])).days <= 183, ticket
    groups = {g["id"]: g["name"] for g in store.all("ticket_groups")}
    assert all(groups[t["ticket_group_id"]] == "Billing" for t in tickets if "bill" in t["subject"].lower())
    assert {groups[t["ticket_group_id"]] for t in tickets} == set(TICKET_GROUPS)


def test_every_reply_and_comment_belongs_to_a_ticket_and_comes_after_it(store: SonarStore) -> None:
    tickets = {t["id"]: t for t in store.all("tickets")}
    users = set(store.tables["users"])
    replies = grouped(store.all("ticket_replies"), "ticket_id")
    comments = grouped(store.all("ticket_comments"), "ticket_id")
    assert set(replies) | set(comments) <= set(tickets)
    sites = {i for i, t in tickets.items() if t["ticketable_type"] == "NetworkSite"}
    for table, column in (("tickets", "id"), ("ticket_replies", "ticket_id"), ("ticket_comments", "ticket_id")):
        rows = store.all(table)  # ids oldest first: the accounts' tickets, then the network sites' (see below)
        kinds = [r[column] in sites for r in rows]
        assert kinds == sorted(kinds), table
        for part in ([r for r in rows if r[column] not in sites], [r for r in rows if r[column] in sites]):
            assert [r["created_at"] for r in part] == sorted(r["created_at"] for r in part), table
    for ticket_id, ticket in tickets.items():
        created = moment(ticket["created_at"])
        own = replies.get(ticket_id, [])
        events = sorted(moment(r["created_at"]) for r in own + comments.get(ticket_id, []))
        assert all(created < e < NOW for e in events) and len(set(events)) == len(events), ticket_id
        assert [r["created_at"] for r in own] == sorted(r["created_at"] for r in own)
        assert [r["incoming"] for r in own] == [n % 2 == 1 for n in range(len(own))], ticket_id  # staff first
        closed = ticket["closed_at"]
        assert (closed is not None) is (ticket["status"] == "CLOSED") is (ticket["closed_by_user_id"] in users)
        last = max([*events, *([moment(closed)] if closed else [])], default=created)
        assert moment(ticket["updated_at"]) == last and (closed is None or moment(closed) == last), ticket_id
        assert ticket["user_id"] is None or ticket["user_id"] in users
    for reply in store.all("ticket_replies"):
        assert reply["updated_at"] == reply["created_at"] and reply["body"].strip()
        if reply["incoming"]:
            assert reply["user_id"] is None and reply["author"] and "@" in reply["author_email"], reply
        else:
            user = store.get("users", reply["user_id"])
            assert (reply["author"], reply["author_email"]) == (user["name"], user["email_address"]), reply
    assert all(c["user_id"] in users and c["body"].strip() for c in store.all("ticket_comments"))
    assert {len(v) for v in replies.values()} <= {1, 2, 3, 4} and max(len(v) for v in comments.values()) <= 2


def test_a_customers_reply_carries_the_name_and_address_of_the_accounts_primary_contact(store: SonarStore) -> None:
    tickets = {t["id"]: t for t in store.all("tickets") if t["ticketable_type"] == "Account"}
    incoming = [r for r in store.all("ticket_replies") if r["incoming"] and r["ticket_id"] in tickets]
    assert incoming
    for reply in incoming:
        primary = [c for c in store.children(tickets[reply["ticket_id"]]["ticketable_id"], "contacts") if c["primary"]]
        assert reply["author"] == primary[0]["name"]
        assert reply["author_email"] == (primary[0]["email_address"] or reply["author_email"]), reply
        assert "@" in reply["author_email"]  # a primary contact without an address wrote from another one


def test_a_ten_customer_store_has_tickets_one_without_replies_and_one_long_reply() -> None:
    store = generate(10, 42)
    tickets = store.all("tickets")
    assert len({t["ticketable_id"] for t in tickets if t["ticketable_type"] == "Account"}) >= 3
    replied = {r["ticket_id"] for r in store.all("ticket_replies")}
    assert any(t["id"] not in replied for t in tickets)
    long = [r for r in store.all("ticket_replies") if r["body"] == LONG_REPLY]
    assert len(long) == 1 and long[0]["incoming"] and LONG_REPLY.count("\n\n") >= 3
    assert {t["ticketable_type"] for t in tickets} == {"Account", "NetworkSite"}


def test_an_accounts_tickets_are_served_with_their_replies_comments_and_group(
    sim: SonarSimulator, store: SonarStore
) -> None:
    busiest = Counter(t["ticketable_id"] for t in store.all("tickets") if t["ticketable_type"] == "Account")
    account_id = busiest.most_common(1)[0][0]
    counts = "page_info { total_count records_per_page }"
    nested = (f"ticket_replies({NESTED}) {{ {counts} entities {{ {REPLY_FIELDS} }} }}"
              f" ticket_comments({NESTED}) {{ {counts}"
              " entities { id body user_id created_at user { id name } } }"
              " ticket_group { id name } user { id name }")  # fmt: skip
    query = f"{{ tickets({about('Account', account_id)}) {{ {PAGE_INFO} entities {{ {TICKET_FIELDS} {nested} }} }} }}"
    served = data(sim, query)["tickets"]
    own = [t for t in store.all("tickets") if (t["ticketable_type"], t["ticketable_id"]) == ("Account", account_id)]
    assert served["page_info"]["total_count"] == len(own) >= 2
    assert [t["id"] for t in served["entities"]] == [str(t["id"]) for t in own]
    for ticket in served["entities"]:
        assert ticket["ticketable_id"] == str(account_id) and ticket["ticketable_type"] == "Account"
        replies = store.where("ticket_replies", "ticket_id", int(ticket["id"]))
        assert ticket["ticket_replies"]["page_info"] == {"total_count": len(replies), "records_per_page": 100}
        assert [r["id"] for r in ticket["ticket_replies"]["entities"]] == [str(r["id"]) for r in replies]
        assert all(r["ticket_id"] == ticket["id"] for r in ticket["ticket_replies"]["entities"])
        comments = ticket["ticket_comments"]
        own_comments = store.where("ticket_comments", "ticket_id", int(ticket["id"]))
        assert comments["page_info"]["total_count"] == len(own_comments)
        assert all(c["user"]["id"] == c["user_id"] for c in comments["entities"])
        group = store.get("ticket_groups", int(ticket["ticket_group_id"]))
        assert ticket["ticket_group"] == {"id": ticket["ticket_group_id"], "name": group["name"]}
        assert ticket["user"] is None if ticket["user_id"] is None else ticket["user"]["id"] == ticket["user_id"]


def test_replies_and_comments_are_served_at_the_root_by_ticket_id_and_lead_to_their_ticket(
    sim: SonarSimulator, store: SonarStore
) -> None:
    ticket_id = next(t for t, rows in grouped(store.all("ticket_replies"), "ticket_id").items() if len(rows) >= 3)
    fields = f"{REPLY_FIELDS} ticket {{ id ticketable_id ticketable_type }} user {{ id name }}"
    served = page_of(sim, "ticket_replies", fields, 1, 100, of_ticket(ticket_id))
    replies = store.where("ticket_replies", "ticket_id", ticket_id)
    assert [r["id"] for r in served["entities"]] == [str(r["id"]) for r in replies]
    ticket = store.get("tickets", ticket_id)
    for reply in served["entities"]:
        assert reply["ticket"] == {"id": str(ticket_id), "ticketable_id": str(ticket["ticketable_id"]),
                                   "ticketable_type": ticket["ticketable_type"]}  # fmt: skip
        assert (reply["user"] is None) is reply["incoming"]
    assert data(sim, f"{{ ticket_replies(ticket_id: {ticket_id}) {{ entities {{ id }} }} }}")["ticket_replies"][
        "entities"
    ] == [{"id": r["id"]} for r in served["entities"]]  # the exact-column argument too
    commented = next(iter(grouped(store.all("ticket_comments"), "ticket_id")))
    comments = page_of(sim, "ticket_comments", "id ticket_id body user_id ticket { id }", 1, 100, of_ticket(commented))
    assert comments["entities"] and all(c["ticket"] == {"id": str(commented)} for c in comments["entities"])
    groups = data(sim, "{ ticket_groups { entities { id name enabled private } } }")["ticket_groups"]["entities"]
    assert groups == [{"id": str(n), "name": name, "enabled": True, "private": False}
                      for n, name in enumerate(TICKET_GROUPS, start=1)]  # fmt: skip


@pytest.mark.parametrize("root", ["tickets", "ticket_replies", "ticket_comments"])
def test_the_root_fields_page_through_every_record_once(sim: SonarSimulator, store: SonarStore, root: str) -> None:
    total = len(store.tables[root])
    everything = page_of(sim, root, "id created_at", 1, 1000)["entities"]
    assert [int(r["id"]) for r in everything] == sorted(store.tables[root]) and total > 10
    second = page_of(sim, root, "id created_at", 2, 7)
    assert second["entities"] == everything[7:14]
    assert second["page_info"] == {"page": 2, "records_per_page": 7, "total_count": total,
                                   "total_pages": math.ceil(total / 7)}  # fmt: skip


def test_network_site_tickets_exist_and_are_told_apart_by_ticketable_type(
    sim: SonarSimulator, store: SonarStore
) -> None:
    sites = [t for t in store.all("tickets") if t["ticketable_type"] == "NetworkSite"]
    assert len(sites) == 2 and all(t["ticketable_id"] in store.tables["network_sites"] for t in sites)
    assert all(store.get("ticket_groups", t["ticket_group_id"])["name"] == "Field Services" for t in sites)
    for ticket in sites:
        served = data(sim, f"{{ tickets({about('NetworkSite', ticket['ticketable_id'])}) {{ entities {{ id }} }} }}")
        assert served["tickets"]["entities"] == [{"id": str(ticket["id"])}]
        shared = data(sim, f"{{ tickets({about('Account', ticket['ticketable_id'])}) {{ entities {{ id }} }} }}")
        assert {"id": str(ticket["id"])} not in shared["tickets"]["entities"]  # the same id, another kind of record
    by_type = data(sim, "{ tickets(ticketable_type: NetworkSite) { entities { id } } }")["tickets"]["entities"]
    assert sorted(int(t["id"]) for t in by_type) == sorted(t["id"] for t in sites)


def test_every_non_null_ticket_field_is_served_with_a_value(sim: SonarSimulator) -> None:
    schema = load_schema()
    for root, type_name in (("tickets", "Ticket"), ("ticket_replies", "TicketReply"),
                            ("ticket_comments", "TicketComment"), ("ticket_groups", "TicketGroup")):  # fmt: skip
        entity = schema.type_map[type_name]
        assert isinstance(entity, GraphQLObjectType)
        leaves = {n: f for n, f in entity.fields.items() if is_leaf_type(get_named_type(f.type))}
        query = f"{{ {root}(paginator: {{page: 1, records_per_page: 1000}}) {{ entities {{ {' '.join(leaves)} }} }} }}"
        rows = data(sim, query)[root]["entities"]
        assert rows, root
        required = [n for n, f in leaves.items() if isinstance(f.type, GraphQLNonNull)]
        assert {"body", "subject", "name"} & set(required), root
        assert all(row[n] is not None for row in rows for n in required), root
        assert len({row["sonar_unique_id"] for row in rows}) == len(rows), root


def test_the_same_seed_gives_the_same_tickets_and_leaves_the_data_before_them_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second, other = (generate(60, seed).tables for seed in (5, 5, 6))
    for table in TICKET_TABLES:
        assert first[table] == second[table], table
    assert first["tickets"] != other["tickets"]
    monkeypatch.setattr(sonar_data, "_tickets", lambda tables, seed: None)
    without = generate(60, 5).tables
    assert all(without[table] == {} for table in TICKET_TABLES) and first["tickets"]
    assert {t: rows for t, rows in first.items() if t not in TICKET_TABLES} == {
        t: rows for t, rows in without.items() if t not in TICKET_TABLES
    }


def test_a_store_without_network_sites_holds_the_same_account_tickets(monkeypatch: pytest.MonkeyPatch) -> None:
    full = generate(60, 5).tables
    monkeypatch.setattr(sonar_data, "_network_sites", lambda tables, customers, seed: None)
    bare = generate(60, 5).tables
    assert bare["network_sites"] == {} and all(t["ticketable_type"] == "Account" for t in bare["tickets"].values())
    for table in TICKET_TABLES:
        assert bare[table] and bare[table] == {i: r for i, r in full[table].items() if i in bare[table]}, table
    assert len(full["tickets"]) == len(bare["tickets"]) + 2
