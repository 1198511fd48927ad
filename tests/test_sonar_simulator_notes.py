"""The Sonar simulator serves `notes`: staff and system notes on accounts, and a few on devices and sites."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLEnumType

from etl.sandbox import sonar_data
from etl.sandbox.sonar import SonarSimulator
from etl.sandbox.sonar_data import NOW, add_note, edit_note, generate
from etl.sandbox.sonar_schema import load_schema
from tests.test_sonar_simulator import data

FIELDS = "id sonar_unique_id created_at updated_at _version message noteable_id noteable_type priority user_id"
ACCOUNT_NOTES = 'search: [{string_fields: [{attribute: "noteable_type", search_value: "Account", match: true}]}]'


def notes_page(sim: SonarSimulator, page: int, per_page: int, args: str = "") -> dict[str, Any]:
    """One page of the `notes` root field (filtered by `args`), by id, with its page_info."""
    paginator = f"paginator: {{page: {page}, records_per_page: {per_page}}}"
    sorter = 'sorter: [{attribute: "id", direction: ASC}]'
    page_info = "page_info { page records_per_page total_count total_pages }"
    query = f"{{ notes({args} {paginator}, {sorter}) {{ {page_info} entities {{ {FIELDS} }} }} }}"
    result: dict[str, Any] = data(sim, query)["notes"]
    return result


def all_notes(sim: SonarSimulator, args: str = "") -> list[dict[str, Any]]:
    """Every note served (filtered by `args`), across all pages."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        result = notes_page(sim, page, 1000, args)
        found += result["entities"]
        if page >= result["page_info"]["total_pages"]:
            return found
        page += 1


def about(noteable_type: str, noteable_id: int | str) -> str:
    """The search a client sends for one record's notes: its type and its id, both (an id alone is ambiguous)."""
    return (f'search: [{{string_fields: [{{attribute: "noteable_type", search_value: "{noteable_type}", match: true,'
            f' partial_matching: false}}], integer_fields: [{{attribute: "noteable_id", search_value: {noteable_id},'
            " operator: EQ}]}]")  # fmt: skip


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def served_ids(sim: SonarSimulator, root: str, args: str = "") -> set[str]:
    """The ids of every record of a root collection (one page of 1000 is enough for the test stores)."""
    query = f"{{ {root}({args} paginator: {{page: 1, records_per_page: 1000}}) {{ entities {{ id }} }} }}"
    return {e["id"] for e in data(sim, query)[root]["entities"]}


def test_the_notes_root_field_pages_and_filters_by_noteable_type_and_noteable_id(sonar_sim: SonarSimulator) -> None:
    everything = all_notes(sonar_sim)
    assert len(everything) > 20 and notes_page(sonar_sim, 2, 5)["entities"] == everything[5:10]
    accounts = [n for n in everything if n["noteable_type"] == "Account"]
    assert 0 < len(accounts) < len(everything)
    assert all_notes(sonar_sim, ACCOUNT_NOTES) == accounts
    assert all_notes(sonar_sim, "noteable_type: Account,") == accounts  # the exact-column argument too
    busiest = Counter(n["noteable_id"] for n in accounts).most_common(1)[0][0]
    own = [n for n in accounts if n["noteable_id"] == busiest]
    assert len(own) >= 2 and all_notes(sonar_sim, about("Account", busiest)) == own
    second = notes_page(sonar_sim, 2, 1, about("Account", busiest))
    assert second["entities"] == own[1:2]
    assert second["page_info"] == {"page": 2, "records_per_page": 1, "total_count": len(own),
                                   "total_pages": math.ceil(len(own) / 1)}  # fmt: skip
    assert len({n["sonar_unique_id"] for n in everything}) == len(everything)


def test_priorities_and_noteable_types_are_sdl_enum_members(sonar_sim: SonarSimulator) -> None:
    notes = all_notes(sonar_sim)
    for name, column in (("NotePriority", "priority"), ("NoteableType", "noteable_type")):
        enum = load_schema().type_map[name]
        assert isinstance(enum, GraphQLEnumType)
        assert {n[column] for n in notes} <= set(enum.values), name
    assert {"NORMAL", "STICKY"} <= {n["priority"] for n in notes}  # the rare third: the 400-customer test


def test_every_account_note_is_about_a_live_account_and_written_in_its_life(sonar_sim: SonarSimulator) -> None:
    query = "{ accounts(include_archived: true, paginator: {page: 1, records_per_page: 1000}) {"
    query += " entities { id created_at archived_at } } }"
    accounts = {a["id"]: a for a in data(sonar_sim, query)["accounts"]["entities"]}
    users = served_ids(sonar_sim, "users")
    for note in all_notes(sonar_sim, ACCOUNT_NOTES):
        account = accounts[note["noteable_id"]]
        assert account["archived_at"] is None, note
        created, updated = moment(note["created_at"]), moment(note["updated_at"])
        assert moment(account["created_at"]) < created <= updated < NOW, note
        assert note["_version"] == ("1" if created == updated else "2"), note
        assert note["user_id"] is None or note["user_id"] in users, note
    assert any(n["noteable_id"] in accounts and n["noteable_type"] != "Account" for n in all_notes(sonar_sim))


def test_notes_about_devices_and_sites_exist_and_name_records_of_their_type(sonar_sim: SonarSimulator) -> None:
    others = [n for n in all_notes(sonar_sim) if n["noteable_type"] != "Account"]
    assert {n["noteable_type"] for n in others} == {"InventoryItem", "NetworkSite"}
    items = served_ids(sonar_sim, "inventory_items", "inventoryitemable_type: InventoryLocation,")
    sites = served_ids(sonar_sim, "network_sites")
    for note in others:
        assert note["noteable_id"] in (items if note["noteable_type"] == "InventoryItem" else sites), note
    site_note = next(n for n in others if n["noteable_type"] == "NetworkSite")
    assert all_notes(sonar_sim, about("NetworkSite", site_note["noteable_id"])) == [site_note]


def test_a_small_store_has_multi_line_notes_and_one_long_one(sonar_sim: SonarSimulator) -> None:
    messages = [n["message"] for n in all_notes(sonar_sim, ACCOUNT_NOTES)]
    long = [m for m in messages if len(m) > 1000]
    assert len(long) == 1 and 2500 <= len(long[0]) <= 3500
    assert sum("\n" in m for m in messages if m not in long) >= 2
    assert all(m.strip() for m in messages)


def test_four_hundred_customers_give_realistic_shares_of_notes() -> None:
    store = generate(400, seed=42)
    notes = store.all("notes")
    on_accounts = [n for n in notes if n["noteable_type"] == "Account"]
    per_account = Counter(n["noteable_id"] for n in on_accounts)
    live = store.accounts(include_archived=False)
    assert 0.12 <= len(per_account) / len(live) <= 0.18 and set(per_account.values()) == {1, 2, 3}
    priorities = Counter(n["priority"] for n in notes)
    assert 0.06 <= priorities["STICKY"] / len(notes) <= 0.14
    assert priorities["STICKY_WITH_CONFIRMATION"] >= 1 and priorities["STICKY_WITH_CONFIRMATION"] / len(notes) <= 0.06
    system = [n for n in on_accounts if n["user_id"] is None]
    assert 0.05 <= len(system) / len(notes) <= 0.15 and all(n["priority"] == "NORMAL" for n in system)
    edited = [n for n in notes if n["updated_at"] != n["created_at"]]
    assert 0.05 <= len(edited) / len(notes) <= 0.15
    assert 1 <= len(notes) - len(on_accounts) <= 10


def test_the_same_seed_gives_the_same_notes_and_leaves_the_data_before_them_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second, other = (generate(60, seed).tables for seed in (5, 5, 6))
    assert first["notes"] == second["notes"] and first["notes"] != other["notes"]
    monkeypatch.setattr(sonar_data, "_notes", lambda tables, seed: None)
    without = generate(60, 5).tables
    assert without["notes"] == {} and first["notes"]
    assert {t: rows for t, rows in first.items() if t != "notes"} == {
        t: rows for t, rows in without.items() if t != "notes"
    }


def test_add_note_is_served_with_its_author_and_moves_nothing_else(sonar_sim: SonarSimulator) -> None:
    store = sonar_sim.store
    account_id = int(store.accounts(include_archived=False)[-1]["id"])
    account_before = store.get("accounts", account_id)
    counts = {t: len(rows) for t, rows in store.tables.items()}
    when = datetime(2025, 6, 3, 14, 30, tzinfo=UTC)

    note_id = add_note(store, account_id, "Gate code 9920 — dog in yard.", "STICKY", user_id=3, when=when)
    system_id = add_note(store, account_id, "Welcome email sent.")

    assert {t for t, rows in store.tables.items() if len(rows) != counts[t]} == {"notes"}
    assert len(store.tables["notes"]) == counts["notes"] + 2 and note_id < system_id
    assert store.get("accounts", account_id) == account_before  # a note does not touch its account
    query = f"{{ notes({about('Account', account_id)}) {{ entities {{ {FIELDS} user {{ id name }} }} }} }}"
    served = {int(n["id"]): n for n in data(sonar_sim, query)["notes"]["entities"]}
    written, system = served[note_id], served[system_id]
    assert (written["message"], written["priority"], written["user"]["id"]) == ("Gate code 9920 — dog in yard.",
                                                                                "STICKY", "3")  # fmt: skip
    assert written["user"]["name"] == store.get("users", 3)["name"]
    assert written["created_at"] == "2025-06-03T14:30:00+00:00" < written["updated_at"]  # back-dated, seen now
    assert (system["user_id"], system["user"], system["priority"]) == (None, None, "NORMAL")
    assert system["created_at"] == system["updated_at"] and written["_version"] == system["_version"] == "1"


def test_edit_note_changes_the_message_and_bumps_updated_at_and_version(sonar_sim: SonarSimulator) -> None:
    store = sonar_sim.store
    note = all_notes(sonar_sim, ACCOUNT_NOTES)[0]
    cutoff = max(n["updated_at"] for n in all_notes(sonar_sim))

    edit_note(store, int(note["id"]), "Gate code changed to 9920.")

    since = f'search: {{datetime_fields: {{attribute: "updated_at", search_value: "{cutoff}", operator: GT}}}}'
    changed = all_notes(sonar_sim, f"{since},")
    assert [n["id"] for n in changed] == [note["id"]]
    edited = changed[0]
    assert edited["message"] == "Gate code changed to 9920." and edited["created_at"] == note["created_at"]
    assert moment(edited["updated_at"]) > moment(note["updated_at"])
    assert int(edited["_version"]) == int(note["_version"]) + 1
    assert {k: v for k, v in edited.items() if k not in ("message", "updated_at", "_version")} == {
        k: v for k, v in note.items() if k not in ("message", "updated_at", "_version")
    }


def test_add_note_and_edit_note_refuse_what_sonar_would_refuse(sonar_sim: SonarSimulator) -> None:
    store = sonar_sim.store
    account = store.accounts()[0]
    born = moment(account["created_at"])
    notes = len(store.tables["notes"])
    with pytest.raises(KeyError, match="no account"):
        add_note(store, 999_999, "Hello.")
    with pytest.raises(KeyError, match="no user"):
        add_note(store, account["id"], "Hello.", user_id=999)
    for message, priority in (("   ", "NORMAL"), ("Hello.", "URGENT")):
        with pytest.raises(ValueError, match="cannot write"):
            add_note(store, account["id"], message, priority)
    for when in (born - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)):
        with pytest.raises(ValueError, match="outside account"):
            add_note(store, account["id"], "Hello.", when=when)
    assert len(store.tables["notes"]) == notes
    with pytest.raises(KeyError):
        edit_note(store, 999_999, "Hello.")
    with pytest.raises(ValueError, match="cannot empty"):
        edit_note(store, 1, "")
