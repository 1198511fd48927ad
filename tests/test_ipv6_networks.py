"""IPv6 supernets, subnets and pools go to Splynx IPv6 networks, verified by read-back and rolled back.

The Sonar sandbox seeds an IPv6 supernet (2001:db8::/32) with a customer /48 that holds one pool and a
core /48; Sonar keeps them in the same records as IPv4 ones, so only the address family picks the target.
"""

from __future__ import annotations

from typing import Any

from state.states import ItemState
from tests.fixtures.pipeline import Sandbox, marker_of

IPV6 = "admin/networking/ipv6"


def ipv6_networks(box: Sandbox) -> dict[str, dict[str, Any]]:
    """Splynx IPv6 networks by migration marker."""
    return {str(marker_of(row)): row for row in box.splynx.rows(IPV6) if marker_of(row)}


def sonar_ipv6(box: Sandbox, table: str, column: str) -> dict[str, dict[str, Any]]:
    """Sonar records of a network table whose address is IPv6, by id."""
    return {str(i): r for i, r in box.sonar.store.tables[table].items() if ":" in str(r.get(column))}


def assign_ipv6(box: Sandbox, subnet: str) -> int:
    """An IPv6 assignment on the first active account's first DATA service, as Sonar would record it."""
    store = box.sonar.store
    data = {i for i, s in store.tables["services"].items() if s["type"] == "DATA"}
    account_service = next(
        s for _, s in sorted(store.tables["account_services"].items())
        if s["service_id"] in data and int(s["account_id"]) not in (4, 6)
        and store.tables["accounts"][int(s["account_id"])].get("archived_at") is None
    )  # fmt: skip
    subnet_id = next(i for i, n in store.tables["subnets"].items() if n["subnet"] == "2001:db8:1::/48")
    new = store.insert("ip_assignments", subnet=subnet, subnet_id=subnet_id, soft=False,
                       ipassignmentable_id=account_service["account_id"], ipassignmentable_type="Account",
                       description="Static IPv6")  # fmt: skip
    store.tables["ip_assignments"][new]["account_service_id"] = account_service["id"]  # as the seed links them
    return int(account_service["id"])


def test_ipv6_networks_are_migrated_in_the_network_phase_and_rolled_back(sandbox: Sandbox) -> None:
    supernets = sonar_ipv6(sandbox, "supernets", "subnet")
    subnets = sonar_ipv6(sandbox, "subnets", "subnet")
    pools = sonar_ipv6(sandbox, "ip_pools", "ip_range")
    assert supernets and subnets and pools
    service = assign_ipv6(sandbox, "2001:db8:1:5::/64")
    sandbox.fix_planted_problems()

    sandbox.etl("run", "--all")

    found = ipv6_networks(sandbox)
    expected = {f"supernet:{i}" for i in supernets} | {f"subnet:{i}" for i in subnets} | {f"ip_pool:{i}" for i in pools}
    assert set(found) == expected
    supernet = found[f"supernet:{next(iter(supernets))}"]
    assert (supernet["network"], supernet["prefix"], supernet["network_type"]) == ("2001:db8::", 32, "rootnet")
    by_title = {row["title"]: row for row in found.values()}
    assert (by_title["IPv6 customers"]["prefix"], by_title["IPv6 customers"]["network_type"]) == (48, "rootnet")
    assert by_title["IPv6 core"]["type_of_usage"] == "management"
    pool = by_title["IPv6 pool"]
    assert (pool["network"], pool["prefix"], pool["network_type"], pool["type_of_usage"]) == (
        "2001:db8:1::100", 120, "endnet", "static")  # fmt: skip
    assert pool["additional_attributes"]["sonar_ip_range"] == "2001:db8:1::100-2001:db8:1::1ff"
    assert not any(":" in str(row["network"]) for row in sandbox.splynx.rows("admin/networking/ipv4"))
    services = sandbox.splynx.rows("admin/customers/customer/0/internet-services")
    marker = f"account_service:{service}"
    migrated = next(row for row in services if (row.get("additional_attributes") or {}).get("sonar_id") == marker)
    assert (migrated["taking_ipv6"], migrated["ipv6"]) == (1, "2001:db8:1:5::/64")
    with sandbox.ledger() as ledger:
        for entity, ids in (("supernet", supernets), ("subnet", subnets), ("ip_pool", pools)):
            for source_id in ids:
                item = ledger.item(1, entity, source_id)
                assert item is not None and item.state == ItemState.VERIFIED, (entity, source_id)
                assert item.dest_id == str(found[f"{entity}:{source_id}"]["id"])
    sandbox.check()

    sandbox.etl("run", "--all")  # unchanged: nothing written again
    assert ipv6_networks(sandbox) == found

    sandbox.etl("rollback", "1", "--yes")

    assert ipv6_networks(sandbox) == {}
    assert not [r for r in sandbox.splynx.rows("admin/networking/ipv4") if marker_of(r)]
