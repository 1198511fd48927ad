"""Every Sonar service reaches Splynx as the service of its kind, billed the same per month.

Checked through the Splynx API alone (signed HTTP requests, as an operator's script would), against the
Sonar simulator's own tables: each subscription of a migrated customer is an internet, recurring or
voice service of the right customer and tariff, at Sonar's price per month (a yearly or quarterly plan
at its monthly share, never its period's price every month); a voice line has its DID; an IP Sonar gives
a RADIUS account, a MAC or a CPE is on the service that account, MAC or CPE serves; the catalogue
has a tariff of each kind; what no Splynx record takes is skipped with its reason, shown by `etl plan`,
`etl failures` and the report. A Sonar package is a bundle tariff grouping its services' tariffs at their
summed monthly price; a package on an account is that customer's bundle service billed what Sonar bills
for its services, which belong to it at a unit price of 0. A second run changes nothing.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tests.fixtures.pipeline import SandboxFactory, actions, marker_of
from tests.fixtures.splynx import SignedClient
from transformers.service_access import normal_mac

CUSTOMERS = 120
SERVICE_PATHS = {
    "DATA": "admin/customers/customer/0/internet-services",
    "RECURRING": "admin/customers/customer/0/recurring-services",
    "EXPIRING": "admin/customers/customer/0/recurring-services",
    "VOICE": "admin/customers/customer/0/voice-services",
}
BUNDLE_SERVICES = "admin/customers/customer/0/bundle-services"
BUNDLE_LISTS = {"DATA": "internet_tariffs", "RECURRING": "custom_tariffs", "VOICE": "voice_tariffs"}
TARIFF_PATHS = {
    "DATA": "admin/tariffs/internet",
    "RECURRING": "admin/tariffs/recurring",
    "EXPIRING": "admin/tariffs/recurring",
    "VOICE": "admin/tariffs/voice",
    "ONETIME": "admin/tariffs/one-time",
}
DETAILS = {
    "DATA": "data_service_details",
    "RECURRING": "recurring_service_details",
    "EXPIRING": "expiring_service_details",
    "VOICE": "voice_service_details",
}


def _by_marker(client: SignedClient, path: str) -> dict[str, dict[str, Any]]:
    return {m: row for row in client.rows(path) if (m := marker_of(row))}


def _months(tables: dict[str, dict[int, Any]], service: dict[str, Any]) -> int:
    """Months per billing period, read from the Sonar simulator's detail table of the service's type."""
    table = DETAILS.get(service["type"])
    details = [d for d in tables.get(table, {}).values() if d["service_id"] == service["id"]] if table else []
    return int(details[0].get("billing_frequency") or 1) if details else 1


def _monthly(cents: int, months: int) -> Decimal:
    return (Decimal(cents) / 100 / months).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def _held_ips_are_on_their_services(tables: dict[str, dict[int, Any]], internet: dict[str, dict[str, Any]]) -> int:
    """Every IPv4 Sonar gives a RADIUS account, a MAC or a CPE is on the internet service that holds it.

    The service is found by what Splynx shows: the RADIUS username as its login, the MAC as its mac, the
    CPE's Sonar service as its marker. Returns how many held addresses were checked.
    """
    radius = {r["id"]: r["username"] for r in tables["radius_accounts"].values()}
    macs = {m["id"]: normal_mac(m["mac_address"]) for m in tables["uninventoried_mac_addresses"].values()}
    items = {i["id"]: i.get("account_service_id") for i in tables["inventory_items"].values()}
    checked = 0
    for assignment in tables["ip_assignments"].values():
        kind, holder = assignment.get("ipassignmentable_type"), assignment["ipassignmentable_id"]
        if kind == "RadiusAccount":
            rows = [r for r in internet.values() if r["login"] == radius[holder]]
        elif kind == "UninventoriedMacAddress":
            rows = [r for r in internet.values() if r["mac"] == macs[holder]]
        elif kind == "InventoryItem":
            rows = [internet[m] for m in [f"account_service:{items[holder]}"] if m in internet]
        else:
            continue
        if not rows:  # its account is not migrated (archived), or the holder pairs with no service
            continue
        address = assignment["subnet"].split("/")[0]
        extra = (rows[0].get("additional_attributes") or {}).get("sonar_ip_extra", "")
        assert address == rows[0]["ipv4"] or address in extra.split(", "), (kind, holder, address)
        checked += 1
    return checked


def _subscription_price(tables: dict[str, dict[int, Any]], subscription: dict[str, Any]) -> Decimal:
    """What Sonar bills an account service every month: its override, else its plan's price, per month."""
    service = tables["services"][subscription["service_id"]]
    cents = subscription.get("price_override")
    cents = service["amount"] if cents is None else cents
    return _monthly(cents, _months(tables, service)) * int(subscription.get("quantity") or 1)


def _packages_are_bundles(tables: dict[str, dict[int, Any]], tariffs: dict[str, dict[str, dict[str, Any]]]) -> int:
    """Each Sonar package is a bundle tariff listing its services' tariffs, at their summed monthly price."""
    bundles = tariffs["admin/tariffs/bundle"]
    for package_id, package in tables["packages"].items():
        bundle = bundles[f"package:{package_id}"]
        rows = [m for m in tables["package_services"].values() if m["package_id"] == package_id]
        members = [(tables["services"][m["service_id"]], int(m["quantity"])) for m in rows]
        for kind, listed in BUNDLE_LISTS.items():
            plans = tariffs[TARIFF_PATHS[kind]]
            ids = {str(plans[f"service:{m['id']}"]["id"]) for m, _ in members if m["type"] == kind}
            assert {str(t) for t in bundle[listed]} == ids, (package["name"], listed)
        monthly = [_monthly(m["amount"], _months(tables, m)) * q for m, q in members if m["type"] in BUNDLE_LISTS]
        assert Decimal(bundle["price"]) == sum(monthly, Decimal(0)), package["name"]
        assert str(bundle["available_for_services"]) in (("1", "True") if package["enabled"] else ("0", "False"))
    return len(tables["packages"])


def _account_packages_are_bundle_services(
    tables: dict[str, dict[int, Any]],
    customers: dict[str, dict[str, Any]],
    services: dict[str, dict[str, dict[str, Any]]],
    bundles: dict[str, dict[str, Any]],
) -> int:
    """Each package on a migrated account is its customer's bundle service, at what Sonar bills for its members.

    Named by the lowest id of its account services; each member service belongs to it. Returns how many.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for asid, subscription in tables["account_services"].items():
        if subscription.get("unique_package_relationship_id"):
            groups.setdefault(subscription["unique_package_relationship_id"], []).append({**subscription, "id": asid})
    checked = 0
    for members in groups.values():
        customer = customers.get(f"account:{members[0]['account_id']}")
        if customer is None:  # archived account: not migrated
            continue
        bundle = bundles[f"account_package:{min(m['id'] for m in members)}"]
        assert str(bundle["customer_id"]) == str(customer["id"]), bundle
        assert Decimal(bundle["unit_price"]) == sum((_subscription_price(tables, m) for m in members), Decimal(0))
        rows = [rows[f"account_service:{m['id']}"] for rows in services.values() for m in members
                if f"account_service:{m['id']}" in rows]  # fmt: skip
        assert len(rows) == len(members) and {str(r["bundle_service_id"]) for r in rows} == {str(bundle["id"])}
        checked += 1
    assert len(bundles) == checked, "a bundle service with no package on a migrated account"
    return checked


def test_every_subscription_is_the_splynx_service_of_its_kind_at_the_same_monthly_price(
    make_sandbox: SandboxFactory,
) -> None:
    box = make_sandbox(customers=CUSTOMERS)
    tables = box.sonar.store.tables
    box.migrate_everything()
    with box.ledger() as ledger:
        reasons = ledger.skip_reasons(1)
    assert any("ONETIME" in reason for reason in reasons["account_service"]), reasons
    assert any("OVERAGE" in reason for reason in reasons["service"]), reasons
    assert "ONETIME" in box.etl("failures", "1").output
    assert "Skipped, by reason" in box.etl("report", "1").output
    planned = box.etl("plan", "--all").output
    assert "would skip, by reason" in planned and "ONETIME" in planned and "unchanged since last run" in planned
    box.etl("run", "--all")  # nothing changed in Sonar: nothing is written again
    with box.ledger() as ledger:
        for entity in ("service", "account_service"):
            assert actions(ledger, 2, entity, ["create", "update"]) == {}, entity

    # Splynx signs requests with increasing nonces per key: the checks come after the last etl command.
    client = SignedClient(box.splynx, box.pair.key, box.pair.secret)
    customers = _by_marker(client, "admin/customers/customer")
    services = {path: _by_marker(client, path) for path in set(SERVICE_PATHS.values())}
    tariffs = {path: _by_marker(client, path) for path in {*TARIFF_PATHS.values(), "admin/tariffs/bundle"}}
    catalogue = tables["services"]
    tax_rate = {str(t["id"]): Decimal(str(t["rate"])) for t in client.get("admin/config/taxes").json()}
    sonar_rates: dict[int, Decimal] = {}
    for row in tables["service_taxes"].values():
        rate = Decimal(str(tables["taxes"][row["tax_id"]]["rate"]))
        sonar_rates[row["service_id"]] = sonar_rates.get(row["service_id"], Decimal(0)) + rate

    for sid, service in catalogue.items():  # the catalogue: a tariff of each kind, at the monthly price
        if service["type"] not in TARIFF_PATHS:
            assert all(f"service:{sid}" not in rows for rows in tariffs.values()), service["name"]
            continue
        tariff = tariffs[TARIFF_PATHS[service["type"]]][f"service:{sid}"]
        assert Decimal(tariff["price"]) == _monthly(service["amount"], _months(tables, service)), service["name"]
        if sid in sonar_rates:  # taxed in Sonar: the Splynx tax of the (summed) rate, on a net price
            assert tax_rate[str(tariff["tax_id"])] == sonar_rates[sid], service["name"]
            assert tariff["with_vat"] in ("0", 0, False), service["name"]
        else:
            assert str(tariff["tax_id"]) == "0", service["name"]
    assert len(sonar_rates) == 2  # the sandbox taxes two services (one with two taxes)

    did_number = {d["id"]: d["number"] for d in tables["dids"].values()}
    checked: dict[str, int] = {}
    for asid, subscription in tables["account_services"].items():
        customer = customers.get(f"account:{subscription['account_id']}")
        if customer is None:  # archived account 8: not migrated
            continue
        service = catalogue[subscription["service_id"]]
        kind = service["type"]
        found = [rows[f"account_service:{asid}"] for rows in services.values() if f"account_service:{asid}" in rows]
        if kind not in SERVICE_PATHS:
            assert not found, (asid, kind)
            continue
        row = services[SERVICE_PATHS[kind]][f"account_service:{asid}"]
        assert len(found) == 1 and str(row["customer_id"]) == str(customer["id"]), asid
        tariff = tariffs[TARIFF_PATHS[kind]][f"service:{service['id']}"]
        assert str(row["tariff_id"]) == str(tariff["id"]), asid
        if subscription.get("unique_package_relationship_id"):  # billed by its bundle service (checked below)
            assert Decimal(row["unit_price"]) == 0 and int(row["bundle_service_id"]), asid
        else:
            assert Decimal(row["unit_price"]) == _subscription_price(tables, subscription), (asid, service["name"])
            assert str(row.get("bundle_service_id", "0")) == "0", asid
        if kind == "VOICE":
            dids = sorted(
                (d for d in tables["did_assignments"].values()
                 if d["account_id"] == subscription["account_id"] and d["service_id"] == service["id"]),
                key=lambda d: d["id"],
            )  # fmt: skip
            assert row["phone"] == did_number[dids[0]["did_id"]], asid
        checked[kind] = checked.get(kind, 0) + 1
    assert {"DATA", "RECURRING", "VOICE"} <= set(checked), checked
    assert _held_ips_are_on_their_services(tables, services[SERVICE_PATHS["DATA"]]) >= 3
    assert _packages_are_bundles(tables, tariffs) == len(tables["packages"]) >= 3
    assert _account_packages_are_bundle_services(tables, customers, services, _by_marker(client, BUNDLE_SERVICES)) >= 3
    yearly = [s for s in catalogue.values() if _months(tables, s) == 12]
    assert yearly and any(
        r["tariff_id"] == tariffs["admin/tariffs/internet"][f"service:{yearly[0]['id']}"]["id"]
        for r in services[SERVICE_PATHS["DATA"]].values()
    ), "the generator must subscribe someone to the yearly plan"

