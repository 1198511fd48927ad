"""An IP no Splynx service takes is marked used on its network's IP record, for its holder's customer.

The transformer's rule (which holder's IPs a service takes, which are IP records) on factory records; then,
through a sandbox and the Splynx API alone: every IPv4 Sonar assigns is on a service or on a used IP record
carrying its marker, a second run writes none of them again, and a rollback frees them.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from loaders.splynx import LoadItem, SplynxLoader
from loaders.splynx_client import SplynxClient
from state.ledger import Ledger
from state.states import ItemState
from tests.fixtures.loader import start_load_run
from tests.fixtures.pipeline import Sandbox, SandboxFactory, actions, marker_of
from tests.fixtures.sonar_records import AccountServiceFactory, IdMap, IpAssignmentFactory
from tests.fixtures.splynx import SignedClient
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.registry import transform_record
from transformers.validation import SkipRecord, ValidationError

DATA = {"id": "1", "type": "DATA"}


def _held_by(kind: str, holder_id: str, account: dict[str, Any] | None, **holder: Any) -> dict[str, Any]:
    view = {"type": kind, "id": holder_id, "account_id": "1" if account else None, "account_service_id": None}
    return IpAssignmentFactory(
        id="5", ipassignmentable_type=kind, ipassignmentable_id=holder_id, holder={**view, **holder}, account=account
    )


def _account(services: list[str], macs: tuple[str, ...] = (), archived: bool = False) -> dict[str, Any]:
    return {
        "id": "1",
        "archived_at": "2024-01-01T00:00:00+00:00" if archived else None,
        "account_services": [{"id": s, "service": DATA} for s in services],
        "uninventoried_mac_addresses": [{"id": m} for m in macs],
    }


def test_a_network_sites_ip_is_its_networks_used_ip_record_with_the_marker(transform_ctx: TransformContext) -> None:
    payload = transform_record("ip_assignment", IpAssignmentFactory(id="49"), transform_ctx)

    assert payload.target == "ipv4_ip" and payload.parent == {"network_id": "108", "ip": "198.19.192.10"}
    assert payload.body == {
        "is_used": 1,
        "customer_id": "0",
        "title": "Sonar NetworkSite 1: Tower router",
        "comment": "Sonar IP assignment 49 (198.19.192.10/32) [sonar_id=ip_assignment:49]",
    }
    assert payload.extras == ()


def test_a_block_marks_each_of_its_addresses(transform_ctx: TransformContext) -> None:
    payload = transform_record("ip_assignment", IpAssignmentFactory(subnet="198.19.192.24/29"), transform_ctx)

    ips = [p.parent["ip"] for p in (payload, *payload.extras)]
    assert ips == [f"198.19.192.{n}" for n in range(24, 32)]
    assert {p.target for p in payload.extras} == {"ipv4_ip"} and all(p.body == payload.body for p in payload.extras)


def test_an_ip_in_a_pool_of_its_own_is_the_pools_network_record(transform_ctx: TransformContext) -> None:
    pooled = transform_record("ip_assignment", IpAssignmentFactory(ip_pool_id="3"), transform_ctx)
    folded = transform_record("ip_assignment", IpAssignmentFactory(ip_pool_id="4"), transform_ctx)  # no network

    assert pooled.parent["network_id"] == "103" and folded.parent["network_id"] == "108"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (_held_by("Account", "1", _account(["2"])), "on its account's internet service"),
        (_held_by("RadiusAccount", "4", _account(["2"])), "on its account's internet service"),
        (_held_by("UninventoriedMacAddress", "6", _account(["2"], macs=("6", "7"))), "the internet service it pairs"),
        (_held_by("InventoryItem", "9", _account(["2"]), account_service_id="2"), "the internet service it serves"),
        (_held_by("Account", "1", _account([], archived=True)), "archived"),
        (IpAssignmentFactory(subnet="2001:db8:1::/64"), "IPv6"),
        (IpAssignmentFactory(subnet="198.19.0.0/23"), "a block of 512 addresses"),
    ],
)
def test_an_ip_a_service_takes_or_that_has_no_record_is_skipped_with_the_reason(
    transform_ctx: TransformContext, record: dict[str, Any], reason: str
) -> None:
    with pytest.raises(SkipRecord, match=reason):
        transform_record("ip_assignment", record, transform_ctx)


@pytest.mark.parametrize(
    "record",
    [
        _held_by("Account", "1", _account([])),  # the account has no DATA service
        _held_by("RadiusAccount", "4", _account([])),
        _held_by("UninventoriedMacAddress", "7", _account(["2"], macs=("6", "7"))),  # the second MAC, one service
        _held_by("InventoryItem", "9", _account(["2"]), account_service_id=None),  # a CPE serving nothing
    ],
)
def test_an_ip_no_service_takes_is_its_holders_customers(
    transform_ctx: TransformContext, record: dict[str, Any]
) -> None:
    payload = transform_record("ip_assignment", record, transform_ctx)

    assert payload.body["customer_id"] == "31" and payload.body["is_used"] == 1
    assert payload.body["title"].startswith(f"Sonar {record['ipassignmentable_type']} ")


def test_each_ipv4_beyond_a_services_static_ip_is_used_on_its_ip_record_for_the_customer(
    transform_ctx: TransformContext,
) -> None:
    record = AccountServiceFactory(
        id="5",
        ip_assignments=[
            {"id": "2", "subnet": "198.19.192.11/32", "subnet_id": "8"},
            {"id": "3", "subnet": "198.19.192.12/32", "subnet_id": "8"},
            {"id": "4", "subnet": "198.18.0.40/32", "subnet_id": "8", "ip_pool_id": "3"},
            {"id": "6", "subnet": "2001:db8:1:5::/64", "subnet_id": "8"},
        ],
    )
    payload = transform_record("account_service", record, transform_ctx)

    assert payload.body["ipv4"] == "198.19.192.11"
    assert payload.body["additional_attributes"]["sonar_ip_extra"] == "198.19.192.12, 198.18.0.40"
    records = [e for e in payload.extras if e.target == "ipv4_ip"]
    assert [e.parent for e in records] == [
        {"network_id": "108", "ip": "198.19.192.12"},
        {"network_id": "103", "ip": "198.18.0.40"},  # its pool is a network of its own
    ]
    assert all(e.body["is_used"] == 1 and e.body["customer_id"] == "31" for e in records)
    assert all(e.body["comment"].endswith("[sonar_id=account_service:5]") for e in records)
    single = AccountServiceFactory(ip_assignments=[{"id": "2", "subnet": "198.19.192.11/32", "subnet_id": "8"}])
    assert not [e for e in transform_record("account_service", single, transform_ctx).extras if e.target == "ipv4_ip"]


def test_an_extra_ipv4_in_a_network_not_migrated_is_a_missing_parent_naming_it(
    transform_ctx: TransformContext,
) -> None:
    record = AccountServiceFactory(
        ip_assignments=[
            {"id": "2", "subnet": "198.19.192.11/32", "subnet_id": "8"},
            {"id": "3", "subnet": "10.9.0.7/32", "subnet_id": "99"},
        ]
    )
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account_service", record, transform_ctx)

    assert (excinfo.value.problem.code, excinfo.value.problem.field) == ("missing_parent", "ipv4_ip.network_id")


def test_an_ip_of_an_account_not_in_splynx_waits_for_its_customer(sonar_id_map: IdMap) -> None:
    record = _held_by("Account", "1", _account([]))
    ctx = TransformContext(dest_id=IdMap({k: v for k, v in sonar_id_map.items() if k[0] != "account"}).dest_id)

    with pytest.raises(SkipRecord, match="not in Splynx"):
        transform_record("ip_assignment", record, ctx)


def test_an_address_its_network_has_no_record_for_fails_with_the_fix_and_writes_nothing(
    splynx_loader: SplynxLoader, loader_client: SplynxClient, ledger: Ledger
) -> None:
    network = loader_client.create("admin/networking/ipv4", {"network": "10.1.0.0", "mask": 24, "title": "Static",
                                                             "location_id": 1, "type_of_usage": "static"})  # fmt: skip
    payload = SplynxPayload("ipv4_ip", {"is_used": 1, "customer_id": "0", "title": "t", "comment": "c"},
                            "ip_assignment:9", parent={"network_id": network, "ip": "10.2.0.9"})  # fmt: skip
    run_id = start_load_run(ledger, "ip_assignment", ["9"])

    result = splynx_loader.load(LoadItem(run_id, "ip_assignment", "9", payload, source_hash="h9"))

    assert result.state == ItemState.FAILED and result.problem is not None
    assert result.problem.code == "lookup_missing" and result.problem.field == "ip"
    assert "10.2.0.9" in result.problem.message and "check that network in Splynx" in (result.problem.fix or "")
    used = loader_client.list("admin/networking/ipv4-ip", main={"ipv4_networks_id": network, "is_used": 1})
    assert used == []


# -- through the Splynx API --------------------------------------------------------------------------


def _used_records(client: SignedClient) -> dict[str, list[dict[str, Any]]]:
    """Used IP records of every network that carry a migration marker, by marker (read through the API)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for network in client.rows("admin/networking/ipv4"):
        for row in client.rows(f"admin/networking/ipv4-ip/{network['id']}"):
            if (m := marker_of({"description": row.get("comment")})) and str(row["is_used"]) == "1":
                found.setdefault(m, []).append(row)
    return found


def _marked(box: Sandbox) -> list[dict[str, Any]]:
    """IP records Splynx holds with a migration marker in their comment or a customer (read from its store)."""
    rows = box.splynx.rows("admin/networking/ipv4-ip")
    return [r for r in rows if "[sonar_id=" in str(r.get("comment")) or r.get("customer_id") not in (0, "0", None)]


def test_every_ipv4_sonar_assigns_is_on_a_service_or_a_used_ip_record_and_rollback_frees_them(
    make_sandbox: SandboxFactory,
) -> None:
    box = make_sandbox(customers=120)  # 4 network sites; 2 accounts without a DATA service hold an IP
    tables = box.sonar.store.tables
    box.migrate_everything()
    box.etl("run", "--all")  # nothing changed in Sonar: no IP record is written again
    with box.ledger() as ledger:
        assert actions(ledger, 2, "ip_assignment", ["create", "update"]) == {}
        reasons = ledger.skip_reasons(1)["ip_assignment"]
    assert any("internet service" in r for r in reasons), reasons

    client = SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)
    records = _used_records(client)
    customers = {marker_of(c): str(c["id"]) for c in client.rows("admin/customers/customer")}
    services = [*client.rows("admin/customers/customer/0/internet-services")]
    on_services = {s["ipv4"] for s in services if s.get("ipv4")}
    extra = 0
    for s in services:  # addresses beyond a service's one static IPv4: listed on it, used on their IP records
        beyond = [a for a in (s.get("additional_attributes") or {}).get("sonar_ip_extra", "").split(", ") if a]
        on_services.update(beyond)
        used = records.get(marker_of(s) or "", [])
        assert sorted(r["ip"] for r in used) == sorted(beyond), s["id"]
        assert {str(r["customer_id"]) for r in used} <= {str(s["customer_id"])}, s["id"]
        extra += len(beyond)
    assert extra >= 1, "the sandbox has services holding more than one IPv4"
    loose = 0
    for aid, assignment in tables["ip_assignments"].items():
        subnet = assignment["subnet"]
        if ":" in subnet:
            continue
        rows = records.get(f"ip_assignment:{aid}", [])
        if any(marker.startswith("account_service:") and subnet.split("/")[0] in {r["ip"] for r in rs}
               for marker, rs in records.items()):  # fmt: skip
            continue  # a service's extra IPv4, checked above
        kind = assignment.get("ipassignmentable_type") or "Account"
        if not rows:
            assert subnet.split("/")[0] in on_services or (kind == "Account" and _archived(tables, assignment)), aid
            continue
        loose += 1
        assert sorted(r["ip"] for r in rows) == sorted(_addresses(subnet)), aid
        owner = _account_of(tables, assignment)
        assert {str(r["customer_id"]) for r in rows} == {customers[f"account:{owner}"] if owner else "0"}, aid
    assert loose >= 8, "the sandbox's sites and service-less accounts hold IPs no service takes"

    assert len(_marked(box)) >= loose
    box.etl("rollback", "1", "--yes")
    assert _used_records(SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)) == {}
    assert _marked(box) == []  # no customer, no marker left on any address


def _addresses(subnet: str) -> list[str]:
    return [str(a) for a in ipaddress.ip_network(subnet)]


def _archived(tables: dict[str, dict[int, Any]], assignment: dict[str, Any]) -> bool:
    return tables["accounts"][assignment["ipassignmentable_id"]].get("archived_at") is not None


def _account_of(tables: dict[str, dict[int, Any]], assignment: dict[str, Any]) -> int | None:
    kind = assignment.get("ipassignmentable_type") or "Account"
    holder = assignment["ipassignmentable_id"]
    if kind == "Account":
        return int(holder)
    if kind in ("RadiusAccount", "UninventoriedMacAddress"):
        table = "radius_accounts" if kind == "RadiusAccount" else "uninventoried_mac_addresses"
        return int(tables[table][holder]["account_id"])
    return None


def _item_account(tables: dict[str, dict[int, Any]], item_id: int) -> int | None:
    """The account a Sonar inventory item belongs to: its address's account, else its service's."""
    item = tables["inventory_items"][item_id]
    if (item.get("inventoryitemable_type") or "Address") == "Address":
        address = tables["addresses"][item["inventoryitemable_id"]]
        if (address.get("addressable_type") or "Account") == "Account":
            return int(address["addressable_id"])
    service = tables["account_services"].get(item.get("account_service_id") or 0)
    return int(service["account_id"]) if service else None


def test_a_customer_selection_reads_the_ips_its_accounts_macs_and_cpes_hold(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=120)
    tables = box.sonar.store.tables
    by_kind: dict[str, tuple[int, int]] = {}  # holder type -> (assignment id, its account)
    for aid, assignment in sorted(tables["ip_assignments"].items()):
        kind = assignment.get("ipassignmentable_type") or "Account"
        holder = assignment["ipassignmentable_id"]
        if kind == "UninventoriedMacAddress":
            owner: int | None = int(tables["uninventoried_mac_addresses"][holder]["account_id"])
        elif kind == "InventoryItem":
            owner = _item_account(tables, holder)
        else:
            continue
        if owner is not None and not tables["accounts"][owner].get("archived_at"):
            by_kind.setdefault(kind, (aid, owner))
    assert set(by_kind) == {"UninventoriedMacAddress", "InventoryItem"}, "the sandbox has MAC- and CPE-held IPs"

    box.etl("run", *(a for _, owner in by_kind.values() for a in ("--customer", str(owner))))

    with box.ledger() as ledger:
        run = ledger.latest_run("migrate")
        assert run is not None and run.id is not None
        read = {i.source_id: i.state for i in ledger.items(run.id, entity="ip_assignment")}
    for kind, (aid, _owner) in by_kind.items():
        assert read.get(str(aid)) in ("skipped", "verified", "loaded"), (kind, aid, read)
