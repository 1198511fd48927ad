"""The Splynx loader under the write-ahead rule, against the simulator and both ledger backends."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from etl.config import load_settings
from etl.errors import ConfigError, ConnectionFailure, RecordProblem
from etl.sandbox.splynx import SplynxSimulator
from loaders.splynx import LoadItem, SplynxLoader
from loaders.splynx_client import NotFound, SplynxClient, ValidationRefused
from state.ledger import EVENT, Ledger
from state.states import ItemState
from tests.fixtures.loader import (
    MARKER_MODULES,
    account_item,
    make_client,
    markers,
    service_payload,
    start_load_run,
)
from tests.fixtures.services import free_port
from tests.fixtures.splynx import API_SECRET

CUSTOMERS = "admin/customers/customer"


class Crash(BaseException):
    """Stands in for `kill -9` at a named step: nothing after it runs, nothing is cleaned up."""


def crash_at(step: str):  # type: ignore[no-untyped-def]
    def hook(name: str, _item: LoadItem) -> None:
        if name == step:
            raise Crash(step)

    return hook


def state_of(ledger: Ledger, run_id: int, source_id: str, entity: str = "account") -> ItemState:
    item = ledger.item(run_id, entity, source_id)
    assert item is not None
    return ItemState(item.state)


def test_create_writes_the_record_its_follow_ups_and_verifies(
    splynx_loader: SplynxLoader, ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    run_id = start_load_run(ledger, "account", ["1"])
    result = splynx_loader.load(account_item(run_id, 1))
    assert (result.state, result.action) == (ItemState.VERIFIED, "create")
    assert ledger.dest_id("account", "1") == result.dest_id
    assert markers(splynx_sim) == ["account:1"]
    info = [r for r in splynx_sim.rows("admin/customers/customer-info") if str(r["id"]) == result.dest_id]
    assert info[0]["passport"] == "P-1"
    item = ledger.item(run_id, "account", "1")
    assert item is not None and json.loads(item.request or "{}")["name"] == "Customer 1"
    assert [e for e in ledger.counts(run_id)["account"]] == ["verified"]


def test_second_run_with_a_changed_payload_updates_in_place(
    splynx_loader: SplynxLoader, ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    first_run = start_load_run(ledger, "account", ["7"])
    created = splynx_loader.load(account_item(first_run, 7))
    second_run = start_load_run(ledger, "account", ["7"])
    updated = splynx_loader.load(account_item(second_run, 7, city="Shelbyville", name="Customer Seven"))
    assert (updated.state, updated.action, updated.dest_id) == (ItemState.VERIFIED, "update", created.dest_id)
    rows = splynx_sim.rows(CUSTOMERS)
    assert len(rows) == 1 and rows[0]["city"] == "Shelbyville" and rows[0]["name"] == "Customer Seven"


def test_a_record_changed_behind_our_back_fails_verification_clearly(
    loader_client: SplynxClient, ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    meddler = make_client(splynx_sim)

    def edit_after_load(step: str, item: LoadItem) -> None:
        if step == "after_loaded":
            meddler.update(f"{CUSTOMERS}/{ledger.dest_id('account', item.source_id)}", {"city": "Ogdenville"})

    loader = SplynxLoader(loader_client, ledger, on_step=edit_after_load)
    loader.ensure_marker_fields(MARKER_MODULES)
    run_id = start_load_run(ledger, "account", ["3"])
    result = loader.load(account_item(run_id, 3))
    assert result.state == ItemState.FAILED and result.problem is not None
    assert result.problem.code == "verify_mismatch" and result.problem.field == "city"
    assert "Springfield" in result.problem.message and "Ogdenville" in result.problem.message
    # resuming puts the record back with a PUT, never a second create; the run still created it
    before = splynx_sim.store.count("customers")
    again = SplynxLoader(loader_client, ledger).load(account_item(run_id, 3))
    assert (again.state, again.action) == (ItemState.VERIFIED, "create")
    assert markers(splynx_sim) == ["account:3"] and splynx_sim.store.count("customers") == before
    assert splynx_sim.rows(CUSTOMERS)[0]["city"] == "Springfield"


@pytest.mark.parametrize("step", ["after_write", "after_map", "after_loaded"])
def test_resume_after_a_crash_adopts_or_finishes_without_a_duplicate(
    loader_client: SplynxClient, ledger: Ledger, splynx_sim: SplynxSimulator, step: str
) -> None:
    crashing = SplynxLoader(loader_client, ledger, on_step=crash_at(step))
    crashing.ensure_marker_fields(MARKER_MODULES)
    run_id = start_load_run(ledger, "account", ["5"])
    with pytest.raises(Crash):
        crashing.load(account_item(run_id, 5))
    assert markers(splynx_sim) == ["account:5"]
    result = SplynxLoader(loader_client, ledger).load(account_item(run_id, 5))
    assert result.state == ItemState.VERIFIED
    assert markers(splynx_sim) == ["account:5"]
    # the record is this run's creation however the kill fell: rollback must find it as such
    assert result.action == "create"


def test_resume_of_an_item_left_loading_before_its_post_creates_it_once(
    loader_client: SplynxClient, ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    crashing = SplynxLoader(loader_client, ledger, on_step=crash_at("before_write"))
    crashing.ensure_marker_fields(MARKER_MODULES)
    run_id = start_load_run(ledger, "account", ["6"])
    with pytest.raises(Crash):
        crashing.load(account_item(run_id, 6))
    assert state_of(ledger, run_id, "6") == ItemState.LOADING and markers(splynx_sim) == []
    result = SplynxLoader(loader_client, ledger).load(account_item(run_id, 6))
    assert (result.state, result.action) == (ItemState.VERIFIED, "create")
    assert markers(splynx_sim) == ["account:6"]


def test_a_create_still_in_flight_when_its_sender_died_is_adopted_once_it_lands(
    ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    """The POST of a killed loader lands 0.6 s after the kill (a web server finishes what it was sent).

    A resumed loader that looked the marker up at once would not see it and would POST again, leaving
    two records or, where Splynx checks the marker's uniqueness, a refused late write racing ours.
    Waiting the client's `settle_s` since the write-ahead `loading` checkpoint finds the late record
    and adopts it as this run's creation: one record, the one the killed loader sent.
    """
    client = make_client(splynx_sim, settle_s=1.5)
    crashing = SplynxLoader(client, ledger, on_step=crash_at("before_write"))
    crashing.ensure_marker_fields(MARKER_MODULES)
    run_id = start_load_run(ledger, "account", ["9"])
    with pytest.raises(Crash):
        crashing.load(account_item(run_id, 9))
    late: list[str] = []
    sender = threading.Timer(0.6, lambda: late.append(make_client(splynx_sim).create(CUSTOMERS, _with_marker(9))))
    sender.start()
    result = SplynxLoader(client, ledger).load(account_item(run_id, 9))
    sender.join()

    assert markers(splynx_sim) == ["account:9"] and result.state == ItemState.VERIFIED
    assert late == [result.dest_id]  # the killed loader's record, adopted
    assert result.action == "create"  # its own write: rollback deletes it
    with ledger.reader.connect() as conn:
        details = conn.execute(select(EVENT.c.detail).where(EVENT.c.run_id == run_id)).scalars().all()
    assert any("for an unanswered create to land" in (d or "") for d in details)


def _with_marker(n: int) -> dict[str, Any]:
    """The body a loader sends for account `n`: the payload's body with its marker."""
    payload = account_item(0, n).payload
    return {**payload.body, "additional_attributes": {"sonar_id": payload.marker}}


def test_a_post_committed_but_unanswered_is_found_by_marker_not_repeated(
    loader_client: SplynxClient, ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    def drop_the_post(step: str, _item: LoadItem) -> None:
        if step == "before_write":
            splynx_sim.faults.drop_next = 1

    loader = SplynxLoader(loader_client, ledger, on_step=drop_the_post)
    loader.ensure_marker_fields(MARKER_MODULES)
    run_id = start_load_run(ledger, "account", ["8"])
    result = loader.load(account_item(run_id, 8))
    assert (result.state, result.action) == (ItemState.VERIFIED, "create")  # its own POST: a creation
    assert markers(splynx_sim) == ["account:8"]
    assert ledger.dest_id("account", "8") == result.dest_id


def test_a_lost_ledger_cannot_create_a_second_copy(
    splynx_loader: SplynxLoader, ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    run_id = start_load_run(ledger, "account", ["9"])
    first = splynx_loader.load(account_item(run_id, 9))
    ledger.unmap("account", "9")  # as if the ledger had been lost: the marker's uniqueness still holds
    other_run = start_load_run(ledger, "account", ["9"])
    second = splynx_loader.load(account_item(other_run, 9))
    assert (second.state, second.action, second.dest_id) == (ItemState.VERIFIED, "adopt", first.dest_id)
    assert markers(splynx_sim) == ["account:9"]


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"name": " "}, "missing_field", "name"),
        ({"email": "nobody-at-example"}, "bad_format", "email"),
        ({"status": "sleeping"}, "bad_choice", "status"),
        ({"partner_id": 4242}, "unknown_reference", "partner_id"),
    ],
    ids=["missing", "format", "choice", "reference"],
)
def test_a_record_wrong_before_any_write_fails_with_field_value_and_fix(
    splynx_loader: SplynxLoader,
    ledger: Ledger,
    splynx_sim: SplynxSimulator,
    changes: dict[str, object],
    code: str,
    field: str,
) -> None:
    run_id = start_load_run(ledger, "account", ["11"])
    result = splynx_loader.load(account_item(run_id, 11, **changes))
    assert result.state == ItemState.FAILED and result.problem is not None
    assert (result.problem.code, result.problem.field) == (code, field)
    assert result.problem.fix and result.problem.value is not None
    item = ledger.item(run_id, "account", "11")
    assert item is not None and (item.error_code, item.error_field, item.attempts) == (code, field, 0)
    assert splynx_sim.rows(CUSTOMERS) == []


def test_a_record_splynx_rejects_fails_and_leaves_nothing_behind(
    splynx_loader: SplynxLoader, ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    run_id = start_load_run(ledger, "account", ["12", "13"])
    assert splynx_loader.load(account_item(run_id, 12, login="taken")).state == ItemState.VERIFIED
    result = splynx_loader.load(account_item(run_id, 13, login="taken"))
    assert result.state == ItemState.FAILED and result.problem is not None
    assert (result.problem.code, result.problem.field, result.problem.value) == ("splynx_validation", "login", "taken")
    assert ledger.dest_id("account", "13") is None
    assert markers(splynx_sim) == ["account:12"]


@pytest.mark.parametrize("fault", ["bad-credentials", "unreachable"])
def test_connection_problems_stop_the_load_and_leave_the_ledger_consistent(
    ledger: Ledger, splynx_sim: SplynxSimulator, fault: str
) -> None:
    SplynxLoader(make_client(splynx_sim), ledger).ensure_marker_fields(MARKER_MODULES)
    if fault == "bad-credentials":
        client = make_client(splynx_sim, secret="wrong-secret")
    else:
        client = SplynxClient(f"http://127.0.0.1:{free_port()}", "k", "s", attempts=2, max_wait_s=0.01)
    run_id = start_load_run(ledger, "account", ["21"])
    with pytest.raises(ConnectionFailure) as caught:
        SplynxLoader(client, ledger).load(account_item(run_id, 21))
    assert API_SECRET not in caught.value.one_line() and "wrong-secret" not in caught.value.one_line()
    item = ledger.item(run_id, "account", "21")
    assert item is not None and item.state == ItemState.FAILED and item.error_code == "splynx_unavailable"
    assert ledger.dest_id("account", "21") is None and splynx_sim.rows(CUSTOMERS) == []
    resumed = SplynxLoader(make_client(splynx_sim), ledger).load(account_item(run_id, 21))
    assert resumed.state == ItemState.VERIFIED and markers(splynx_sim) == ["account:21"]


def test_load_many_loads_groups_in_order_on_threads(
    splynx_loader: SplynxLoader, ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    tariff = splynx_loader.client.create(
        "admin/tariffs/internet",
        {
            "title": "Fiber 100",
            "partners_ids": [1],
            "speed_download": 102400,
            "speed_upload": 51200,
            "available_for_locations": [1],
        },
    )
    ids = [str(n) for n in range(100, 130)]
    run_id = start_load_run(ledger, "account", ids)
    ledger.add_items(run_id, "account_service", [(i, None) for i in ids], state=ItemState.TRANSFORMED)
    groups = [
        [
            account_item(run_id, n),
            LoadItem(
                run_id, "account_service", n, service_payload(n, tariff), parent_refs={"customer_id": ("account", n)}
            ),
        ]
        for n in ids
    ]
    results = splynx_loader.load_many(groups, workers=6)
    assert len(results) == 60 and {r.state for r in results} == {ItemState.VERIFIED}
    assert sorted(markers(splynx_sim)) == sorted(f"account:{n}" for n in ids)
    services = splynx_sim.rows("admin/customers/customer/0/internet-services")
    by_customer = {str(s["customer_id"]) for s in services}
    assert by_customer == {ledger.dest_id("account", n) for n in ids}
    assert ledger.counts(run_id) == {"account": {"verified": 30}, "account_service": {"verified": 30}}


def test_load_many_stops_starting_groups_after_a_failure(splynx_loader: SplynxLoader, ledger: Ledger) -> None:
    ids = [str(n) for n in range(200, 240)]
    run_id = start_load_run(ledger, "account", ids)
    work = [account_item(run_id, n, email="broken" if n == "200" else f"c{n}@example.com") for n in ids]
    results = splynx_loader.load_many(work, workers=2, stop_on_error=True)
    assert any(r.state == ItemState.FAILED and r.source_id == "200" for r in results)
    assert len(results) < len(ids)
    assert ledger.counts(run_id)["account"].get("transformed", 0) > 0


def test_delete_for_rollback_counts_already_gone_as_done(splynx_loader: SplynxLoader, ledger: Ledger) -> None:
    run_id = start_load_run(ledger, "account", ["31"])
    dest = splynx_loader.load(account_item(run_id, 31)).dest_id
    assert dest is not None
    assert splynx_loader.delete("customer", dest) is True
    assert splynx_loader.delete("customer", dest) is False


def test_marker_fields_are_created_once(loader_client: SplynxClient, ledger: Ledger) -> None:
    loader = SplynxLoader(loader_client, ledger)
    assert loader.ensure_marker_fields(MARKER_MODULES) == MARKER_MODULES
    assert loader.ensure_marker_fields(MARKER_MODULES) == []


def test_an_unmarked_definition_created_before_a_crash_is_adopted_by_its_name(
    loader_client: SplynxClient, ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    """Additional-field definitions carry no marker: a crash after their POST is resolved by their unique name."""
    from transformers.additional_fields import definition
    from transformers.payload import SplynxPayload

    payload = SplynxPayload(
        "additional_field", definition("sonar_legacy_id", "Legacy id"), "custom_field:1", {"module": "customers"}
    )
    run_id = start_load_run(ledger, "custom_field", ["1"])
    crashing = SplynxLoader(loader_client, ledger, on_step=crash_at("after_write"))
    with pytest.raises(Crash):
        crashing.load(LoadItem(run_id, "custom_field", "1", payload))
    assert state_of(ledger, run_id, "1", "custom_field") == ItemState.LOADING

    result = SplynxLoader(loader_client, ledger).load(LoadItem(run_id, "custom_field", "1", payload))
    assert (result.state, result.action, result.dest_id) == (ItemState.VERIFIED, "create", "sonar_legacy_id")
    names = [r["name"] for r in splynx_sim.rows("admin/config/additional-fields/customers")]
    assert names.count("sonar_legacy_id") == 1


def reworded(create: Any, message: str = "Value is not unique.") -> Any:
    """`create` as a server whose 422 messages are worded otherwise (Splynx's text is a guess): fields kept."""

    def create_reworded(path: str, body: Any) -> str:
        try:
            return create(path, body)  # type: ignore[no-any-return]
        except ValidationRefused as exc:
            raise ValidationRefused(exc.problem, [(f, message) for f, _ in exc.errors]) from None

    return create_reworded


def refusing(field: str) -> Any:
    """`create` as a server that refuses every POST with a 422 on `field`, whatever exists."""

    def create_refused(path: str, body: Any) -> str:
        problem = RecordProblem("splynx_validation", f"{field}: has already been taken", field=field)
        raise ValidationRefused(problem, [(field, "has already been taken")])

    return create_refused


def test_a_marker_clash_is_recognised_by_its_field_and_a_lookup_not_by_the_message(
    splynx_loader: SplynxLoader, ledger: Ledger, splynx_sim: SplynxSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = start_load_run(ledger, "account", ["31"])
    first = splynx_loader.load(account_item(run_id, 31))
    ledger.unmap("account", "31")
    monkeypatch.setattr(splynx_loader.client, "create", reworded(splynx_loader.client.create))
    second = splynx_loader.load(account_item(start_load_run(ledger, "account", ["31"]), 31))
    assert (second.state, second.action, second.dest_id) == (ItemState.VERIFIED, "adopt", first.dest_id)
    assert markers(splynx_sim) == ["account:31"]


def test_a_refusal_on_the_marker_field_without_a_marked_record_is_reported_as_it_came(
    splynx_loader: SplynxLoader, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(splynx_loader.client, "create", refusing("additional_attributes.sonar_id"))
    result = splynx_loader.load(account_item(start_load_run(ledger, "account", ["32"]), 32))
    assert result.state == ItemState.FAILED and result.problem is not None
    assert (result.problem.code, result.problem.field) == ("splynx_validation", "additional_attributes.sonar_id")


def test_marker_fields_already_there_are_recognised_whatever_the_message(
    loader_client: SplynxClient, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    SplynxLoader(loader_client, ledger).ensure_marker_fields(MARKER_MODULES)
    loader = SplynxLoader(loader_client, ledger)
    real_get, missed = loader_client.get, set()

    def get_missing_once(path: str) -> Any:  # a definition another worker created a moment ago
        if path not in missed:
            missed.add(path)
            raise NotFound(RecordProblem("splynx_not_found", f"nothing at {path}"))
        return real_get(path)

    monkeypatch.setattr(loader_client, "get", get_missing_once)
    monkeypatch.setattr(loader_client, "create", reworded(loader_client.create))
    assert loader.ensure_marker_fields(MARKER_MODULES) == []


def test_a_refused_marker_field_that_does_not_exist_is_not_taken_for_created(
    loader_client: SplynxClient, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader_client, "create", refusing("name"))
    with pytest.raises(ValidationRefused):
        SplynxLoader(loader_client, ledger).ensure_marker_fields(MARKER_MODULES[:1])


def test_a_parent_resolved_at_load_time_also_fills_the_body_field_that_names_it(
    splynx_loader: SplynxLoader, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The internet-service body repeats `customer_id` (APIB requires it there): it must be the resolved id."""
    tariff = splynx_loader.client.create(
        "admin/tariffs/internet",
        {"title": "Fiber 9", "partners_ids": [1], "speed_download": 1024, "speed_upload": 512,
         "available_for_locations": [1]},
    )  # fmt: skip
    run_id = start_load_run(ledger, "account", ["41"])
    ledger.add_items(run_id, "account_service", [("41", None)], state=ItemState.TRANSFORMED)
    customer = splynx_loader.load(account_item(run_id, 41))
    sent: list[dict[str, Any]] = []
    real_create = splynx_loader.client.create

    def create(path: str, body: Any) -> str:
        sent.append(dict(body))
        return real_create(path, body)

    monkeypatch.setattr(splynx_loader.client, "create", create)
    payload = service_payload(41, tariff, customer_id="0")
    item = LoadItem(run_id, "account_service", "41", payload, parent_refs={"customer_id": ("account", "41")})
    result = splynx_loader.load(item)
    assert result.state == ItemState.VERIFIED, result.problem
    assert [b["customer_id"] for b in sent] == [customer.dest_id]


def test_the_settle_time_comes_from_the_environment_then_etl_toml_then_30_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "etl.toml"
    toml.write_text("[splynx]\n", encoding="utf-8")
    monkeypatch.delenv("ETL_SPLYNX_SETTLE_SECONDS", raising=False)
    assert load_settings(toml).splynx_settle_s == 30
    toml.write_text("[splynx]\nsettle_seconds = 5\n", encoding="utf-8")
    assert load_settings(toml).splynx_settle_s == 5
    monkeypatch.setenv("ETL_SPLYNX_SETTLE_SECONDS", "0.5")
    assert load_settings(toml).splynx_settle_s == 0.5
    monkeypatch.setenv("ETL_SPLYNX_SETTLE_SECONDS", "soon")
    with pytest.raises(ConfigError, match="ETL_SPLYNX_SETTLE_SECONDS='soon' is not a number from 0 to 600"):
        load_settings(toml)
    monkeypatch.delenv("ETL_SPLYNX_SETTLE_SECONDS")
    toml.write_text("[splynx]\nsettle_seconds = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="settle_seconds"):
        load_settings(toml)
