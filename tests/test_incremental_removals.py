"""Incremental runs see removals: a deleted contact or phone number, or a group left, brings its account back.

A deleted child leaves no record whose `updated_at` an incremental run could find, and leaving an account
group changes no `updated_at` at all. Sonar's audit log (`logs`, type DELETED / DETACHED / ATTACHED) does
record both, so the extractor reads the logs created since the watermark and re-reads the accounts they
concern. The simulator writes those logs when a test deletes a child (`SonarStore.delete_child`) or moves
an account out of or into a group (`SonarStore.leave_group`, `join_group`), and touches no account.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from loguru import logger

from etl.sandbox.sonar import SonarSimulator
from etl.sandbox.sonar_store import SonarStore
from etl.selection import Selection
from extractors import sonar_queries as q
from extractors.sonar import SonarClient, SonarExtractor
from state.states import RunStatus
from tests.fixtures.pipeline import Sandbox, actions
from tests.test_incremental import by_marker, migrated_once
from tests.test_incremental_children import SKIP

REMOVABLE = ("contacts", "addresses", "phone_numbers", "account_services", "ip_assignments", "custom_field_data")


def _good_accounts(store: SonarStore) -> list[int]:
    return [int(a["id"]) for a in store.accounts(include_archived=False) if a["id"] not in SKIP]


def _with_second_contact_email(store: SonarStore) -> tuple[int, int, str]:
    """An account with a primary contact and another contact that has an e-mail: (account, primary, e-mail)."""
    for account_id in _good_accounts(store):
        contacts = store.children(account_id, "contacts")
        primary = [c for c in contacts if c["primary"]]
        others = [c for c in contacts if not c["primary"] and c["email_address"]]
        if primary and others:
            return account_id, int(primary[0]["id"]), str(others[0]["email_address"])
    raise AssertionError("the seeded Sonar has no account with two contacts with e-mails")


def _with_two_phone_numbers(store: SonarStore) -> tuple[int, int, str]:
    """An account whose primary contact has two numbers: (account, its first number's id, the second number)."""
    for account_id in _good_accounts(store):
        contact = next((c for c in store.children(account_id, "contacts") if c["primary"]), None)
        if contact is None:
            continue
        numbers = sorted(
            (p for p in store.all("phone_numbers") if p["contact_id"] == contact["id"]), key=lambda p: p["id"]
        )
        if len(numbers) >= 2:
            return account_id, int(numbers[0]["id"]), str(numbers[1]["number"])
    raise AssertionError("the seeded Sonar has no primary contact with two phone numbers")


def _in_a_group(store: SonarStore) -> tuple[int, int]:
    """A good account that is a member of exactly one group: (account, group)."""
    for account_id in _good_accounts(store):
        groups = store.children(account_id, "account_groups")
        if len(groups) == 1:
            return account_id, int(groups[0]["id"])
    raise AssertionError("the seeded Sonar has no account in exactly one group")


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """The messages loguru logs at warning level or above while the test runs."""
    found: list[str] = []
    sink = logger.add(lambda message: found.append(str(message.record["message"])), level="WARNING")
    try:
        yield found
    finally:
        logger.remove(sink)


def _found_since(sim: SonarSimulator, since: datetime) -> set[str]:
    with SonarExtractor(SonarClient(sim.url, sim.token), page_size=10) as extractor:
        return {i for page in extractor.account_pages(Selection(since=since)) for i in page.ids}


def test_deleted_children_and_group_changes_find_their_accounts_and_leave_the_account_unchanged(
    sonar_sim: SonarSimulator,
) -> None:
    store = sonar_sim.store
    since = datetime.now(UTC) - timedelta(seconds=1)
    touched: dict[int, str] = {}
    for relation in REMOVABLE:
        for account_id in _good_accounts(store):
            if account_id in touched:
                continue
            before = store.get("accounts", account_id)["updated_at"]
            try:
                store.delete_child(account_id, relation)
            except (KeyError, IndexError):
                continue  # this generated account has no such child: the next one
            assert store.get("accounts", account_id)["updated_at"] == before  # the child went, the account stayed
            touched[account_id] = relation
            break
    leaving, group_id = next(
        (a, g) for a in _good_accounts(store) if a not in touched
        for g in (int(x["id"]) for x in store.children(a, "account_groups"))
    )  # fmt: skip
    store.leave_group(leaving, group_id)
    joining = next(a for a in _good_accounts(store) if a not in touched and a != leaving)
    store.join_group(joining, group_id)

    assert sorted(touched.values()) == sorted(REMOVABLE)
    assert {int(g["id"]) for g in store.children(leaving, "account_groups")} == set()
    assert group_id in {int(g["id"]) for g in store.children(joining, "account_groups")}
    assert _found_since(sonar_sim, since) == {str(a) for a in (*touched, leaving, joining)}


def test_the_simulator_logs_a_deletion_on_the_account_and_a_phone_number_on_its_contact(
    sonar_sim: SonarSimulator,
) -> None:
    store = sonar_sim.store
    account_id, phone_id, _ = _with_two_phone_numbers(store)
    contact_id = store.get("phone_numbers", phone_id)["contact_id"]
    address_id = store.delete_child(account_id, "addresses")
    store.delete_child(account_id, "phone_numbers", phone_id)

    logs = store.all("logs")[-2:]
    assert [(g["type"], g["loggable_type"], g["loggable_id"], g["logged_entity_type"], g["logged_entity_id"])
            for g in logs] == [
        ("DELETED", "Account", account_id, "Address", address_id),
        ("DELETED", "Contact", contact_id, "PhoneNumber", phone_id),
    ]  # fmt: skip
    with pytest.raises(KeyError):
        store.get("addresses", address_id)
    with pytest.raises(KeyError):
        store.get("phone_numbers", phone_id)


def test_a_log_of_an_unrecognised_type_is_warned_about_once_and_ignored(
    sonar_sim: SonarSimulator, warnings: list[str]
) -> None:
    store = sonar_sim.store
    since = datetime.now(UTC) - timedelta(seconds=1)
    [first, second, third] = _good_accounts(store)[:3]
    common = {"type": "DELETED", "logged_entity_type": "Contact", "logged_entity_id": 999_999}
    store.add_log(loggable_type="App\\Models\\Account", loggable_id=first, **common)
    store.add_log(loggable_type="account", loggable_id=second, **common)
    store.add_log(loggable_type="account", loggable_id=third, **common)

    assert _found_since(sonar_sim, since) == {str(first)}
    unrecognised = [w for w in warnings if "'account'" in w]
    assert len(unrecognised) == 1
    assert "etl run --full" in unrecognised[0]


@pytest.mark.parametrize(
    ("log", "subject"),
    [
        ({"loggable_type": "Account", "loggable_id": "7", "logged_entity_type": "Contact"}, ("account", "7")),
        ({"loggable_type": "App\\Models\\Account", "loggable_id": "7", "logged_entity_type": "Address"},
         ("account", "7")),
        ({"loggable_type": "App/Models/Contact", "loggable_id": "12", "logged_entity_type": "PhoneNumber"},
         ("contact", "12")),
        ({"loggable_type": "AccountGroup", "loggable_id": "3", "logged_entity_type": "App\\Models\\Account",
          "logged_entity_id": "7"}, ("account", "7")),
        ({"loggable_type": "account", "loggable_id": "7", "logged_entity_type": "Contact"}, None),
        ({"loggable_type": "Ticket", "loggable_id": "7", "logged_entity_type": "Ticket"}, None),
    ],
)  # fmt: skip
def test_a_log_names_the_account_or_contact_it_concerns_by_the_class_name_of_its_types(
    log: dict[str, str], subject: tuple[str, str] | None
) -> None:
    assert q.logged_subject(log) == subject


def test_second_run_after_the_primary_contact_was_deleted_updates_only_that_customer(sandbox: Sandbox) -> None:
    before = migrated_once(sandbox)
    store = sandbox.sonar.store
    account_id, primary_id, other_email = _with_second_contact_email(store)
    store.delete_child(account_id, "contacts", primary_id)

    sandbox.etl("run", "--all")

    with sandbox.ledger() as ledger:
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        assert {i.source_id for i in ledger.items(2, entity="account")} == {str(account_id)}
        assert actions(ledger, 2, "account") == {"update": 1}
    after = by_marker(sandbox)
    assert after[f"account:{account_id}"]["email"] == other_email.lower()
    assert {m for m in after if after[m] != before[m]} == {f"account:{account_id}"}


def test_second_run_after_a_phone_number_was_deleted_updates_only_that_customer(sandbox: Sandbox) -> None:
    before = migrated_once(sandbox)
    store = sandbox.sonar.store
    account_id, phone_id, second_number = _with_two_phone_numbers(store)
    store.delete_child(account_id, "phone_numbers", phone_id)

    sandbox.etl("run", "--all")

    with sandbox.ledger() as ledger:
        assert {i.source_id for i in ledger.items(2, entity="account")} == {str(account_id)}
        assert actions(ledger, 2, "account") == {"update": 1}
    after = by_marker(sandbox)
    assert str(after[f"account:{account_id}"]["phone"]).endswith(second_number)
    assert {m for m in after if after[m] != before[m]} == {f"account:{account_id}"}


def test_second_run_after_an_account_left_its_group_removes_the_label_from_only_that_customer(
    sandbox: Sandbox,
) -> None:
    before = migrated_once(sandbox)
    store = sandbox.sonar.store
    account_id, group_id = _in_a_group(store)
    marker = f"account:{account_id}"
    assert before[marker]["customer_labels"]  # the group's label, from the first run
    store.leave_group(account_id, group_id)

    sandbox.etl("run", "--all")

    with sandbox.ledger() as ledger:
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        assert {i.source_id for i in ledger.items(2, entity="account")} == {str(account_id)}
        assert actions(ledger, 2, "account") == {"update": 1}
    after = by_marker(sandbox)
    assert not after[marker]["customer_labels"]
    group = store.tables["account_groups"][group_id]["name"]
    assert group in before[marker]["additional_attributes"]["sonar_groups"]
    assert group not in after[marker]["additional_attributes"].get("sonar_groups", "")  # the fact is cleared too
    assert {m for m in after if after[m] != before[m]} == {marker}


def test_second_run_with_nothing_changed_in_sonar_reads_no_account_again(sandbox: Sandbox) -> None:
    before = migrated_once(sandbox)
    store = sandbox.sonar.store
    store.add_log(type="UPDATED", loggable_type="Account", loggable_id=_good_accounts(store)[0],
                  logged_entity_type="Contact", logged_entity_id=1)  # fmt: skip  # an UPDATED log is no removal

    sandbox.etl("run", "--all")

    with sandbox.ledger() as ledger:
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        assert list(ledger.items(2, entity="account")) == []
    assert by_marker(sandbox) == before
