"""Transformers: Sonar records (as the queries return them) -> Splynx payloads, failures, overrides."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from etl.errors import RecordError
from etl.sandbox import splynx_schema
from loaders.splynx_targets import TARGETS as TARGETS_BY_KEY
from tests.fixtures.sonar_records import (
    AccountBalanceFactory,
    AccountFactory,
    AccountInvoiceFactory,
    AccountNoteFactory,
    AccountPackageFactory,
    AccountPaymentFactory,
    AccountServiceFactory,
    AccountTransactionFactory,
    AddressFactory,
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    IdMap,
    InventoryAssignmentFactory,
    InventoryItemFactory,
    InventoryLocationFactory,
    InventoryModelFactory,
    IpAssignmentFactory,
    IpPoolFactory,
    ManufacturerFactory,
    NetworkSiteFactory,
    NetworkSiteStockFactory,
    PackageFactory,
    PhoneFactory,
    RadiusAccountFactory,
    ServiceFactory,
    SubnetFactory,
    SupernetFactory,
    TicketCommentFactory,
    TicketFactory,
    TicketReplyFactory,
    UserFactory,
    UserStockFactory,
    VehicleFactory,
    VendorFactory,
    connection,
)
from transformers.context import TransformContext
from transformers.records import marker_in_text
from transformers.registry import (
    ALL_TARGETS,
    NOT_MIGRATED,
    TARGETS,
    TRANSFORMERS,
    additional_field_definitions,
    transform_record,
)
from transformers.splynx_fields import FIELDS, MODULES
from transformers.validation import SkipRecord, ValidationError

FACTORIES: dict[str, Any] = {
    "company": CompanyFactory, "user": UserFactory, "custom_field": CustomFieldFactory, "service": ServiceFactory,
    "supernet": SupernetFactory, "subnet": SubnetFactory, "ip_pool": IpPoolFactory, "network_site": NetworkSiteFactory,
    "inventory_location": InventoryLocationFactory, "manufacturer": ManufacturerFactory,
    "inventory_model": InventoryModelFactory, "inventory_item": InventoryItemFactory, "account": AccountFactory,
    "account_service": AccountServiceFactory, "inventory_assignment": InventoryAssignmentFactory,
    "radius_account": RadiusAccountFactory, "vendor": VendorFactory, "package": PackageFactory,
    "account_package": AccountPackageFactory, "ip_assignment": IpAssignmentFactory, "vehicle": VehicleFactory,
    "user_stock": UserStockFactory, "network_site_stock": NetworkSiteStockFactory,
    "account_balance": AccountBalanceFactory, "account_transaction": AccountTransactionFactory,
    "account_payment": AccountPaymentFactory, "account_note": AccountNoteFactory,
    "account_invoice": AccountInvoiceFactory, "ticket": TicketFactory, "ticket_reply": TicketReplyFactory,
    "ticket_comment": TicketCommentFactory,
}  # fmt: skip


def problem_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str | None]:
    return excinfo.value.problem.code, excinfo.value.problem.field


# -- every entity -----------------------------------------------------------------------------------


def test_every_migrated_entity_has_a_factory_and_a_transformer() -> None:
    assert set(FACTORIES) == set(TRANSFORMERS)


@pytest.mark.parametrize("entity", sorted(FACTORIES))
def test_payload_carries_the_migration_marker_in_body_and_payload(entity: str, transform_ctx: TransformContext) -> None:
    record = FACTORIES[entity](id="7")
    payload = transform_record(entity, record, transform_ctx)
    assert payload.marker == f"{entity}:7"
    assert payload.target == TARGETS[entity]
    if payload.target in MODULES:  # definitions and PUT-only extras carry no additional attributes
        assert payload.body["additional_attributes"]["sonar_id"] == payload.marker


@pytest.mark.parametrize("entity", sorted(FACTORIES))
def test_same_record_gives_the_same_payload(entity: str, transform_ctx: TransformContext) -> None:
    record = FACTORIES[entity]()
    assert transform_record(entity, record, transform_ctx) == transform_record(
        entity, copy.deepcopy(record), transform_ctx
    )


@pytest.mark.parametrize("entity", sorted(FACTORIES))
def test_transform_and_overrides_never_mutate_the_record(entity: str, transform_ctx: TransformContext) -> None:
    record = FACTORIES[entity]()
    before = copy.deepcopy(record)
    payload = transform_record(entity, record, transform_ctx, {"additional_attributes.sonar_note": "x"})
    assert record == before
    again = transform_record(entity, record, transform_ctx)
    assert "sonar_note" not in again.body.get("additional_attributes", {})
    assert payload.body is not again.body


@pytest.mark.parametrize("entity", sorted(FACTORIES))
def test_every_additional_attribute_written_has_a_definition(entity: str, transform_ctx: TransformContext) -> None:
    definitions = additional_field_definitions()
    payload = transform_record(entity, FACTORIES[entity](), transform_ctx)
    if payload.target not in MODULES:
        return
    defined = {d["name"] for d in definitions[MODULES[payload.target]]}
    custom = {"sonar_legacy_id", "sonar_paperless_billing"}  # created by the custom_field migration
    assert set(payload.body["additional_attributes"]) - custom <= defined


def test_definitions_put_the_unique_marker_first_on_every_module_we_write() -> None:
    definitions = additional_field_definitions()
    written = {MODULES[t] for targets in ALL_TARGETS.values() for t in targets if t in MODULES}
    assert set(definitions) == written  # locations: a reference only, since inventory locations became stocks
    for defs in definitions.values():
        assert defs[0]["name"] == "sonar_id" and defs[0]["is_unique"] is True
        assert len({d["name"] for d in defs}) == len(defs)


@pytest.mark.parametrize("entity", sorted(NOT_MIGRATED))
def test_lookup_entities_are_skipped_with_a_reason(entity: str, transform_ctx: TransformContext) -> None:
    with pytest.raises(SkipRecord) as excinfo:
        transform_record(entity, {"id": "1", "name": "x"}, transform_ctx)
    assert excinfo.value.reason


def test_local_field_rules_match_the_splynx_simulator() -> None:
    entity_of = {
        "partner": splynx_schema.PARTNERS, "location": splynx_schema.LOCATIONS,
        "administrator": splynx_schema.ADMINISTRATORS, "internet_tariff": splynx_schema.TARIFFS_INTERNET,
        "ipv4_network": splynx_schema.IPV4_NETWORKS, "ipv6_network": splynx_schema.IPV6_NETWORKS,
        "network_site": splynx_schema.NETWORK_SITES,
        "inventory_vendor": splynx_schema.VENDORS, "inventory_stock": splynx_schema.STOCKS,
        "inventory_supplier": splynx_schema.SUPPLIERS,
        "inventory_product": splynx_schema.PRODUCTS, "inventory_item": splynx_schema.ITEMS,
        "customer": splynx_schema.CUSTOMERS, "customer_info": splynx_schema.CUSTOMER_INFO,
        "customer_billing": splynx_schema.CUSTOMER_BILLING, "internet_service": splynx_schema.INTERNET_SERVICES,
        "additional_field": splynx_schema.ADDITIONAL_FIELDS, "inventory_item_state": splynx_schema.ITEMS,
        "inventory_item_customer": splynx_schema.ITEMS, "recurring_tariff": splynx_schema.TARIFFS_RECURRING,
        "one_time_tariff": splynx_schema.TARIFFS_ONE_TIME, "voice_tariff": splynx_schema.TARIFFS_VOICE,
        "recurring_service": splynx_schema.RECURRING_SERVICES, "voice_service": splynx_schema.VOICE_SERVICES,
        "bundle_tariff": splynx_schema.TARIFFS_BUNDLE, "bundle_service": splynx_schema.BUNDLE_SERVICES,
        "ipv4_ip": splynx_schema.IPV4_IPS, "billing_transaction": splynx_schema.BILLING_TRANSACTIONS,
        "payment": splynx_schema.PAYMENTS, "customer_note": splynx_schema.CUSTOMER_NOTES,
        "invoice": splynx_schema.INVOICES, "ticket": splynx_schema.TICKETS,
        "ticket_message": splynx_schema.TICKET_MESSAGES,
        "invoice_item": splynx_schema.Entity("invoice_items", "", None, splynx_schema.INVOICE_ITEM, "Item"),
    }  # fmt: skip
    assert set(entity_of) == set(FIELDS)
    for target, rules in FIELDS.items():
        for rule in rules:
            theirs = entity_of[target].field(rule.name)
            assert theirs is not None, (target, rule.name)
            assert rule.max_len == theirs.max_len, (target, rule.name)
            if theirs.required:
                assert rule.required, (target, rule.name)
            if theirs.choices and rule.choices:
                assert {str(c) for c in theirs.choices} == set(rule.choices), (target, rule.name)
        if target in ("inventory_item_state", "inventory_item_customer", "ipv4_ip"):  # PUTs on an existing record
            continue
        required = {f.name for f in entity_of[target].fields if f.required and f.writable}
        assert required <= {r.name for r in rules if r.required}, target


# -- FOUNDATION -------------------------------------------------------------------------------------


def test_company_becomes_a_partner(transform_ctx: TransformContext) -> None:
    payload = transform_record("company", CompanyFactory(id="2", name="  Prairie   Business Networks "), transform_ctx)
    assert payload.body == {"name": "Prairie Business Networks", "additional_attributes": {"sonar_id": "company:2"}}


def test_user_becomes_an_administrator_with_mapped_role_and_injected_password(
    transform_ctx: TransformContext,
) -> None:
    record = UserFactory(
        username="jane.doe",
        name="Jane Doe",
        email_address="Jane.Doe@Example-ISP.NET",
        mobile_number="(316) 555-0100",
        role={"id": "3", "name": "Billing"},
    )
    ctx = TransformContext(
        dest_id=transform_ctx.dest_id,
        role_map={"billing": "financial-manager"},
        password_factory=lambda: "Pw-123456789",
    )
    body = transform_record("user", record, ctx).body
    assert body["login"] == "jane.doe"
    assert body["email"] == "Jane.Doe@example-isp.net"
    assert body["role_name"] == "financial-manager"
    assert body["phone"] == "3165550100"
    assert body["password"] == "Pw-123456789"


def test_super_admin_becomes_super_administrator_and_unknown_roles_administrator(
    transform_ctx: TransformContext,
) -> None:
    assert (
        transform_record("user", UserFactory(super_admin=True), transform_ctx).body["role_name"]
        == "super-administrator"
    )
    assert (
        transform_record("user", UserFactory(role={"id": "9", "name": "Intern"}), transform_ctx).body["role_name"]
        == "administrator"
    )


def test_default_password_is_random_and_strong(sonar_id_map: Any) -> None:
    ctx = TransformContext(dest_id=sonar_id_map.dest_id)
    first = transform_record("user", UserFactory(id="1"), ctx).body["password"]
    second = transform_record("user", UserFactory(id="1"), ctx).body["password"]
    assert first != second and len(first) >= 20


def test_disabled_user_is_skipped(transform_ctx: TransformContext) -> None:
    with pytest.raises(SkipRecord, match="disabled"):
        transform_record("user", UserFactory(enabled=False), transform_ctx)


def test_user_without_email_fails_naming_the_field(transform_ctx: TransformContext) -> None:
    with pytest.raises(ValidationError) as excinfo:
        transform_record("user", UserFactory(id="5", email_address=""), transform_ctx)
    assert problem_of(excinfo) == ("required", "email")
    assert "etl fix user 5 --set email=someone@example.com" in str(excinfo.value.fix)


def test_account_custom_field_becomes_a_customers_additional_field(transform_ctx: TransformContext) -> None:
    payload = transform_record(
        "custom_field", CustomFieldFactory(name="Paperless billing!", type="BOOLEAN", unique=False), transform_ctx
    )
    assert payload.parent == {"module": "customers"}
    assert payload.body["name"] == "sonar_paperless_billing"
    assert payload.body["type"] == "boolean"
    assert payload.body["is_unique"] is False


def test_custom_field_with_options_becomes_a_select(transform_ctx: TransformContext) -> None:
    body = transform_record("custom_field", CustomFieldFactory(enum_options=["Gold", " Silver "]), transform_ctx).body
    assert (body["type"], body["select_values"]) == ("select", "Gold,Silver")


def test_custom_field_of_another_entity_is_skipped(transform_ctx: TransformContext) -> None:
    with pytest.raises(SkipRecord, match="Contact"):
        transform_record("custom_field", CustomFieldFactory(entity_type="Contact"), transform_ctx)


def test_data_service_becomes_a_tariff(transform_ctx: TransformContext) -> None:
    record = ServiceFactory(
        name="Fiber 300",
        amount=6999,
        company_id="2",
        data_service_detail={
            "download_speed_kilobits_per_second": 300_000,
            "upload_speed_kilobits_per_second": 50_000,
            "technology_code": "FIBER",
        },
    )
    body = transform_record("service", record, transform_ctx).body
    assert body["title"] == "Fiber 300"
    assert body["price"] == "69.99"
    assert (body["speed_download"], body["speed_upload"]) == (300_000, 50_000)
    assert body["partners_ids"] == ["12"]
    assert body["available_for_locations"] == ["1"]
    assert body["billing_types"] == ["recurring"] and body["customer_categories"] == ["person", "company"]
    assert body["with_vat"] is False and body["show_on_customer_portal"] is True


def test_tariff_is_offered_to_shared_partners_and_disabled_plans_are_hidden(sonar_id_map: Any) -> None:
    ctx = TransformContext(dest_id=sonar_id_map.dest_id, tariff_partner_ids=("12", "11"))
    body = transform_record("service", ServiceFactory(company_id=None, enabled=False), ctx).body
    assert body["partners_ids"] == ["1", "11", "12"]
    assert body["show_on_customer_portal"] is False


@pytest.mark.parametrize(
    ("kind", "detail", "target"),
    [
        ("RECURRING", "recurring_service_detail", "recurring_tariff"),
        ("EXPIRING", "expiring_service_detail", "recurring_tariff"),
        ("VOICE", "voice_service_detail", "voice_tariff"),
        ("ONETIME", None, "one_time_tariff"),
    ],
)
def test_every_catalogue_service_becomes_the_tariff_of_its_kind(
    transform_ctx: TransformContext, kind: str, detail: str | None, target: str
) -> None:
    details = {detail: {"id": "1", "billing_frequency": 1}} if detail else {}
    record = ServiceFactory(type=kind, data_service_detail=None, amount=1000, **details)
    result = transform_record("service", record, transform_ctx)
    assert result.target == target
    assert result.body["price"] == "10.00"
    assert "speed_download" not in result.body
    assert (result.body.get("type") == "voip") is (kind == "VOICE")


@pytest.mark.parametrize("kind", ["OVERAGE", "ADJUSTMENT"])
def test_overage_and_adjustment_services_are_skipped_with_a_reason_naming_no_id(
    transform_ctx: TransformContext, kind: str
) -> None:
    with pytest.raises(SkipRecord, match=kind) as excinfo:
        transform_record("service", ServiceFactory(id="77", type=kind, data_service_detail=None), transform_ctx)
    assert "77" not in excinfo.value.reason  # grouped by reason in plan and report; the ledger row has the id


@pytest.mark.parametrize(
    ("cents", "months", "monthly"), [(69999, 12, "58.3325"), (2997, 3, "9.99"), (1000, 3, "3.3333")]
)
def test_a_multi_month_plan_costs_its_monthly_share_and_keeps_its_period(
    transform_ctx: TransformContext, cents: int, months: int, monthly: str
) -> None:
    detail = {"id": "1", "download_speed_kilobits_per_second": 1000, "upload_speed_kilobits_per_second": 1000,
              "billing_frequency": months, "technology_code": "FIBER"}  # fmt: skip
    result = transform_record("service", ServiceFactory(amount=cents, data_service_detail=detail), transform_ctx)
    assert result.body["price"] == monthly
    assert result.body["additional_attributes"]["sonar_billing_months"] == str(months)
    assert result.body["additional_attributes"]["sonar_period_price"] == f"{cents / 100:.2f}"
    period_total = (Decimal(monthly) * months).quantize(Decimal("0.01"))
    assert period_total == Decimal(cents) / 100  # never billed more or less than Sonar over the period


def test_service_without_speeds_fails_and_an_override_fixes_it(transform_ctx: TransformContext) -> None:
    record = ServiceFactory(id="4", data_service_detail=None)
    with pytest.raises(ValidationError) as excinfo:
        transform_record("service", record, transform_ctx)
    assert problem_of(excinfo) == ("required", "speed_download")
    fixed = transform_record("service", record, transform_ctx, {"speed_download": 10000, "speed_upload": 1000})
    assert fixed.body["speed_download"] == 10000


def test_service_of_an_unmigrated_company_is_a_missing_parent(transform_ctx: TransformContext) -> None:
    with pytest.raises(ValidationError) as excinfo:
        transform_record("service", ServiceFactory(company_id="99"), transform_ctx)
    assert problem_of(excinfo) == ("missing_parent", "partner_id")
    assert excinfo.value.problem.value == "99"
    assert "FOUNDATION" in str(excinfo.value.fix)


SPLYNX_TAXES = {"0": "1", "6.25": "2", "7.25": "3"}
"""Splynx tax id by rate, as preflight reads them (`etl.preflight.read_taxes`)."""


def _taxed(*taxes: tuple[str, float], **extra: Any) -> dict[str, Any]:
    """A service whose Sonar service taxes name these (name, rate) taxes."""
    rows = [{"id": str(n), "tax_id": str(n),
             "tax": {"id": str(n), "name": name, "rate": rate, "application": "PERCENTAGE"}}
            for n, (name, rate) in enumerate(taxes, 1)]  # fmt: skip
    return ServiceFactory(service_taxes={"page_info": {"total_count": len(rows)}, "entities": rows}, **extra)


@pytest.mark.parametrize(
    ("kind", "detail"),
    [("DATA", None), ("RECURRING", "recurring_service_detail"), ("VOICE", "voice_service_detail"), ("ONETIME", None)],
)
def test_a_taxed_service_gets_the_splynx_tax_of_its_rate_on_every_tariff_kind(
    transform_ctx: TransformContext, kind: str, detail: str | None
) -> None:
    ctx = replace(transform_ctx, taxes=SPLYNX_TAXES)
    details = {detail: {"id": "1", "billing_frequency": 1}} if detail else {}
    other = {} if kind == "DATA" else {"data_service_detail": None}
    body = transform_record("service", _taxed(("State sales tax", 6.25), type=kind, **other, **details), ctx).body
    assert body["tax_id"] == "2"
    assert body["with_vat"] is False  # Sonar prices are net: Splynx adds the tax on top


def test_several_sonar_taxes_on_a_service_take_the_splynx_tax_of_their_summed_rate(
    transform_ctx: TransformContext,
) -> None:
    ctx = replace(transform_ctx, taxes=SPLYNX_TAXES)
    body = transform_record("service", _taxed(("State sales tax", 6.25), ("County tax", 1.0)), ctx).body
    assert body["tax_id"] == "3"


def test_a_tax_splynx_has_no_rate_for_fails_naming_it_and_an_override_fixes_it(
    transform_ctx: TransformContext,
) -> None:
    ctx = replace(transform_ctx, taxes=SPLYNX_TAXES)
    record = _taxed(("City tax", 2.5), id="8")
    with pytest.raises(ValidationError) as excinfo:
        transform_record("service", record, ctx)
    assert problem_of(excinfo) == ("no_matching_tax", "tax_id")
    assert "City tax" in str(excinfo.value.problem.message) and "2.5" in str(excinfo.value.problem.message)
    fix = str(excinfo.value.fix)
    assert "Config > Finance > Taxes" in fix and "`etl resume`" in fix and "`etl fix service 8 --set tax_id=" in fix
    assert transform_record("service", record, ctx, {"tax_id": 2}).body["tax_id"] == 2


def test_an_untaxed_service_sends_no_tax_id(transform_ctx: TransformContext) -> None:
    ctx = replace(transform_ctx, taxes=SPLYNX_TAXES)
    assert "tax_id" not in transform_record("service", ServiceFactory(), ctx).body
    assert "tax_id" not in transform_record("service", _taxed(), ctx).body


def test_a_taxed_service_sends_no_tax_id_when_splynx_taxes_were_not_read(transform_ctx: TransformContext) -> None:
    assert "tax_id" not in transform_record("service", _taxed(("State sales tax", 6.25)), transform_ctx).body


# -- NETWORK ----------------------------------------------------------------------------------------


def test_supernet_becomes_a_rootnet(transform_ctx: TransformContext) -> None:
    body = transform_record("supernet", SupernetFactory(), transform_ctx).body
    assert (body["network"], body["mask"], body["network_type"]) == ("198.18.0.0", 15, "rootnet")
    assert (body["location_id"], body["network_category"]) == ("1", 1)


@pytest.mark.parametrize(("kind", "usage"), [("ACCOUNT", "static"), ("MIXED", "static"), ("NETWORK", "management")])
def test_subnet_without_pools_is_an_endnet_typed_by_its_use(
    kind: str, usage: str, transform_ctx: TransformContext
) -> None:
    body = transform_record("subnet", SubnetFactory(type=kind), transform_ctx).body
    assert (body["network_type"], body["type_of_usage"]) == ("endnet", usage)


def test_subnet_holding_smaller_pools_is_a_rootnet_and_the_pool_an_endnet(transform_ctx: TransformContext) -> None:
    record = SubnetFactory(ip_pools=connection({"id": "1", "ip_range": "198.18.0.10-198.18.0.200"}))
    assert transform_record("subnet", record, transform_ctx).body["network_type"] == "rootnet"
    pool = transform_record("ip_pool", IpPoolFactory(ip_range="198.18.0.10-198.18.0.200"), transform_ctx).body
    assert (pool["network"], pool["mask"], pool["type_of_usage"]) == ("198.18.0.0", 24, "pool")
    assert pool["additional_attributes"]["sonar_ip_range"] == "198.18.0.10-198.18.0.200"


def test_pool_filling_its_subnet_is_folded_into_the_subnet(transform_ctx: TransformContext) -> None:
    whole = "198.18.0.10-198.18.63.254"
    subnet = SubnetFactory(ip_pools=connection({"id": "1", "ip_range": whole}))
    assert transform_record("subnet", subnet, transform_ctx).body["network_type"] == "endnet"
    with pytest.raises(SkipRecord, match="whole subnet"):
        transform_record("ip_pool", IpPoolFactory(ip_range=whole), transform_ctx)


def test_pool_with_a_broken_range_names_the_field(transform_ctx: TransformContext) -> None:
    with pytest.raises(ValidationError) as excinfo:
        transform_record("ip_pool", IpPoolFactory(ip_range="not-a-range"), transform_ctx)
    assert problem_of(excinfo) == ("invalid_ip_range", "network")


def test_ipv6_supernet_subnet_and_pool_become_ipv6_networks(transform_ctx: TransformContext) -> None:
    supernet = transform_record("supernet", SupernetFactory(subnet="2001:db8::/32"), transform_ctx)
    assert supernet.target == "ipv6_network"
    assert (supernet.body["network"], supernet.body["prefix"], supernet.body["network_type"]) == (
        "2001:db8::", 32, "rootnet")  # fmt: skip
    assert "mask" not in supernet.body
    ranged = "2001:db8:1::100-2001:db8:1::1ff"
    subnet = SubnetFactory(subnet="2001:db8:1::/48", ip_pools=connection({"id": "1", "ip_range": ranged}))
    subnet_payload = transform_record("subnet", subnet, transform_ctx)
    assert (subnet_payload.target, subnet_payload.body["network_type"]) == ("ipv6_network", "rootnet")
    pool = transform_record(
        "ip_pool", IpPoolFactory(ip_range=ranged, subnet={"id": "1", "subnet": "2001:db8:1::/48"}), transform_ctx
    )
    assert pool.target == "ipv6_network"
    assert (pool.body["network"], pool.body["prefix"], pool.body["type_of_usage"]) == ("2001:db8:1::100", 120, "static")
    assert pool.body["additional_attributes"]["sonar_ip_range"] == ranged


def test_an_unexpected_transformer_exception_is_that_records_failure(transform_ctx: TransformContext) -> None:
    with pytest.raises(RecordError) as excinfo:
        transform_record("supernet", SupernetFactory(id="3", subnet="not-a-network/99"), transform_ctx)
    assert excinfo.value.problem.code == "transform_error"
    assert "supernet 3" in excinfo.value.problem.message and "ValueError" in excinfo.value.problem.message


# -- INVENTORY --------------------------------------------------------------------------------------


def test_inventory_location_becomes_a_stock_of_its_name_without_marker(transform_ctx: TransformContext) -> None:
    payload = transform_record("inventory_location", InventoryLocationFactory(id="3"), transform_ctx)
    assert (payload.target, payload.body, payload.marker) == (
        "inventory_stock",
        {"name": "Main Warehouse"},
        "inventory_location:3",
    )


def test_manufacturer_becomes_a_splynx_vendor(transform_ctx: TransformContext) -> None:
    assert transform_record("manufacturer", ManufacturerFactory(), transform_ctx).target == "inventory_vendor"


def test_vendor_becomes_a_supplier_with_address_and_primary_contact(transform_ctx: TransformContext) -> None:
    payload = transform_record("vendor", VendorFactory(id="2"), transform_ctx)
    assert payload.target == "inventory_supplier"
    body = {k: v for k, v in payload.body.items() if k != "additional_attributes"}
    assert body == {
        "name": "Streakwave Wireless", "address": "1 Depot Road, Fresno, US_CA 93706, US",
        "contact_name": "Dana Buyer", "email": "dana@example.com", "phone": "5595550100",
    }  # fmt: skip
    assert payload.body["additional_attributes"]["sonar_id"] == "vendor:2"


def test_vendor_without_address_or_contacts_is_a_supplier_of_its_name(transform_ctx: TransformContext) -> None:
    record = VendorFactory(addresses={"entities": []}, contacts={"entities": []})
    body = transform_record("vendor", record, transform_ctx).body
    assert set(body) == {"name", "additional_attributes"}


def test_vendor_with_a_bad_contact_email_is_refused_on_the_email(transform_ctx: TransformContext) -> None:
    record = VendorFactory(contacts={"entities": [{"id": "1", "name": "X", "primary": True, "email_address": "no"}]})
    with pytest.raises(ValidationError) as excinfo:
        transform_record("vendor", record, transform_ctx)
    assert problem_of(excinfo) == ("invalid_email", "email")


def test_inventory_model_category_is_not_migrated_for_want_of_an_endpoint(transform_ctx: TransformContext) -> None:
    with pytest.raises(SkipRecord, match="no endpoint in the API"):
        transform_record("inventory_model_category", {"id": "1", "name": "Radios"}, transform_ctx)


def test_item_in_a_location_goes_to_its_stock_with_its_purchase_price(transform_ctx: TransformContext) -> None:
    record = InventoryItemFactory(inventoryitemable_type="InventoryLocation", inventoryitemable_id="1",
                                  purchase_price=12_999)  # fmt: skip
    (state,) = transform_record("inventory_item", record, transform_ctx).extras
    assert state.target == "inventory_item_state"
    assert (state.body["stock_id"], state.body["cost_price"]) == ("71", "129.99")


def test_item_at_an_address_keeps_splynx_stock_and_no_price_sends_no_cost(transform_ctx: TransformContext) -> None:
    (state,) = transform_record("inventory_item", InventoryItemFactory(purchase_price=None), transform_ctx).extras
    assert "stock_id" not in state.body and "cost_price" not in state.body
    (state,) = transform_record("inventory_item", InventoryItemFactory(purchase_price=0), transform_ctx).extras
    assert state.body["cost_price"] == "0.00"


def test_item_in_an_unmigrated_location_is_a_missing_parent(transform_ctx: TransformContext) -> None:
    record = InventoryItemFactory(inventoryitemable_type="InventoryLocation", inventoryitemable_id="9")
    with pytest.raises(ValidationError) as excinfo:
        transform_record("inventory_item", record, transform_ctx)
    assert problem_of(excinfo) == ("missing_parent", "inventory_item_state.stock_id")


def test_inventory_model_takes_its_manufacturer_as_vendor(transform_ctx: TransformContext) -> None:
    body = transform_record("inventory_model", InventoryModelFactory(), transform_ctx).body
    assert body["vendor_id"] == "41"
    assert body["additional_attributes"]["sonar_model_name"] == "LTU-LR"


def test_inventory_model_of_an_unmigrated_manufacturer_is_a_missing_parent(transform_ctx: TransformContext) -> None:
    with pytest.raises(ValidationError) as excinfo:
        transform_record("inventory_model", InventoryModelFactory(manufacturer_id="5"), transform_ctx)
    assert problem_of(excinfo) == ("missing_parent", "vendor_id")


def test_inventory_item_takes_mac_as_barcode_and_serial_from_field_data(transform_ctx: TransformContext) -> None:
    body = transform_record("inventory_item", InventoryItemFactory(id="10"), transform_ctx).body
    assert body["product_id"] == "51"
    assert body["barcode"] == "02:01:00:00:00:0A"
    assert body["serial_number"] == "SN100000010"
    assert body["additional_attributes"]["sonar_location"] == "Address:6"


@pytest.mark.parametrize(
    ("status", "holder", "expected"),
    [
        ("FUNCTIONAL", "InventoryLocation", ("stock", "new")),
        ("FAILED", "Address", ("returned", "broken")),
        ("LOST", "InventoryLocation", ("internal_usage", "broken")),
        ("FUNCTIONAL", "Vehicle", ("stock", "new")),
        ("FUNCTIONAL", "User", ("stock", "new")),
        ("FUNCTIONAL", "NetworkSite", ("internal_usage", "used")),
        ("FAILED", "NetworkSite", ("returned", "broken")),
    ],
)
def test_inventory_item_status_maps_to_status_and_mark(
    status: str, holder: str, expected: tuple[str, str], transform_ctx: TransformContext
) -> None:
    payload = transform_record(
        "inventory_item", InventoryItemFactory(status=status, inventoryitemable_type=holder), transform_ctx
    )
    written = {**{"status": "stock", "mark": "new"}, **{k: v for e in payload.extras for k, v in e.body.items()}}
    assert (written["status"], written["mark"]) == expected


@pytest.mark.parametrize(("status", "holder"), [("FUNCTIONAL", "Address"), ("FAILED", "InventoryLocation")])
def test_inventory_item_is_created_with_the_create_body_and_its_state_put_after(
    status: str, holder: str, transform_ctx: TransformContext
) -> None:
    payload = transform_record(
        "inventory_item", InventoryItemFactory(status=status, inventoryitemable_type=holder), transform_ctx
    )
    assert not {"status", "mark", "customer_id"} & set(payload.body)  # the APIB's Item Create has none of them
    (state,) = payload.extras
    in_stock = {"stock_id"} if holder == "InventoryLocation" else set()  # the location's stock
    assert state.target == "inventory_item_state" and set(state.body) == {"status", "mark", *in_stock}
    assert TARGETS_BY_KEY[state.target].item_path(None, {"item_id": "7"}) == "admin/inventory/items/7"


def test_inventory_item_in_stock_and_new_still_gets_its_state_written(transform_ctx: TransformContext) -> None:
    """The body must not depend on whether the item exists yet: an item back in stock is `stock` again."""
    record = InventoryItemFactory(status="FUNCTIONAL", inventoryitemable_type="InventoryLocation")
    (state,) = transform_record("inventory_item", record, transform_ctx).extras
    assert state.body == {"status": "stock", "mark": "new", "stock_id": "76"}


def test_inventory_item_of_an_unmigrated_model_is_a_missing_parent(transform_ctx: TransformContext) -> None:
    with pytest.raises(ValidationError) as excinfo:
        transform_record("inventory_item", InventoryItemFactory(inventory_model_id="8"), transform_ctx)
    assert problem_of(excinfo) == ("missing_parent", "product_id")


# -- CUSTOMERS --------------------------------------------------------------------------------------


def realistic_account() -> dict[str, Any]:
    return AccountFactory(
        id="1",
        name="Rogers,  Gonzalez and Rasmussen",
        company_id="2",
        account_type={"id": "2", "name": "Commercial", "type": "COMMERCIAL"},
        contacts=connection(
            ContactFactory(
                name="Ann Other",
                primary=False,
                username=None,
                role="Billing",
                email_address=None,
                phone_numbers=connection(PhoneFactory(number="4055550101")),
            ),
            ContactFactory(
                name="Shannon Cunningham",
                username="shannon.c1",
                email_address=" Shannon@Yahoo.COM ",
                phone_numbers=connection(PhoneFactory(number="(405) 395-1701", extension="12")),
            ),
        ),
        addresses=connection(
            AddressFactory(type="MAILING", line1="PO Box 12", city="Tulsa", zip="74101", latitude=None),
            AddressFactory(
                type="PHYSICAL",
                line1="26015 Matthew  Wall",
                line2="Apt 4",
                city="Ryantown",
                zip="68050",
                subdivision="US_NE",
                latitude=42.268616,
                longitude=-99.414102,
            ),
        ),
        account_groups=connection({"id": "2", "name": "VIP"}, {"id": "1", "name": "North Tower"}),
        custom_field_data=connection(
            {
                "id": "1",
                "custom_field_id": "1",
                "value": "LEG-000001",
                "custom_field": {"id": "1", "name": "Legacy ID", "type": "TEXT"},
            },
            {
                "id": "2",
                "custom_field_id": "2",
                "value": "true",
                "custom_field": {"id": "2", "name": "Paperless billing", "type": "BOOLEAN"},
            },
        ),
    )


def test_account_becomes_a_customer(transform_ctx: TransformContext) -> None:
    payload = transform_record("account", realistic_account(), transform_ctx)
    body = payload.body
    assert body["name"] == "Rogers, Gonzalez and Rasmussen"
    assert body["login"] == "shannon.c1"
    assert body["email"] == body["billing_email"] == "Shannon@yahoo.com"
    assert body["phone"] == "+1 4053951701 ext 12"
    assert body["category"] == "company"
    assert body["status"] == "active"
    assert (body["partner_id"], body["location_id"]) == ("12", "1")
    assert (body["street_1"], body["zip_code"], body["city"]) == ("26015 Matthew Wall, Apt 4", "68050", "Ryantown")
    assert body["gps"] == "42.268616,-99.414102"
    assert body["date_add"] == "2021-03-04"


@pytest.mark.parametrize(
    ("number", "country", "expected"),
    [
        ("(405) 395-1701", "US", "+1 4053951701"),
        ("14053951701", "CA", "+1 4053951701"),
        ("020 7946 0018", "GB", "+44 2079460018"),
        ("+44 20 7946 0018", "US", "+442079460018"),
        ("4053951701", "ZZ", "4053951701"),
    ],
)
def test_account_phone_keeps_its_country_calling_code(
    transform_ctx: TransformContext, number: str, country: str, expected: str
) -> None:
    record = AccountFactory(
        contacts=connection(ContactFactory(phone_numbers=connection(PhoneFactory(number=number, country=country))))
    )
    body = transform_record("account", record, transform_ctx).body
    assert body["phone"] == expected
    phone_field = splynx_schema.CUSTOMERS.field("phone")
    assert phone_field is not None and phone_field.max_len is not None
    assert len(body["phone"]) <= phone_field.max_len


def test_account_state_becomes_the_splynx_subdivision_id(transform_ctx: TransformContext) -> None:
    ctx = TransformContext(dest_id=transform_ctx.dest_id, subdivisions={"NE": "28", "TX": "44"})
    record = realistic_account()
    assert transform_record("account", record, ctx).body["subdivision_id"] == "28"
    unknown = TransformContext(dest_id=transform_ctx.dest_id, subdivisions={"TX": "44"})
    body = transform_record("account", record, unknown).body
    assert "subdivision_id" not in body and body["additional_attributes"]["sonar_state"] == "NE"
    assert "subdivision_id" not in transform_record("account", record, transform_ctx).body  # not read


def test_account_groups_become_the_customer_labels_of_their_titles(transform_ctx: TransformContext) -> None:
    ctx = TransformContext(dest_id=transform_ctx.dest_id, customer_labels={"VIP": "3", "NORTH TOWER": "1"})
    body = transform_record("account", realistic_account(), ctx).body
    assert body["customer_labels"] == ["1", "3"]  # North Tower, VIP: by sorted title
    assert body["additional_attributes"]["sonar_groups"] == "North Tower, VIP"
    partial = TransformContext(dest_id=transform_ctx.dest_id, customer_labels={"VIP": "3"})
    assert transform_record("account", realistic_account(), partial).body["customer_labels"] == ["3"]
    assert "customer_labels" not in transform_record("account", realistic_account(), transform_ctx).body


def test_child_account_gets_its_parent_customer_as_parent_id(transform_ctx: TransformContext) -> None:
    child = transform_record("account", AccountFactory(id="7", parent_account_id="1"), transform_ctx).body
    assert child["parent_id"] == "31"
    assert child["additional_attributes"]["sonar_parent_account"] == "1"
    assert "parent_id" not in transform_record("account", AccountFactory(id="8"), transform_ctx).body


def test_child_account_of_an_unmigrated_parent_is_a_missing_parent(transform_ctx: TransformContext) -> None:
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account", AccountFactory(id="7", parent_account_id="99"), transform_ctx)
    assert problem_of(excinfo) == ("missing_parent", "parent_id")
    assert excinfo.value.problem.value == "99"


def test_account_facts_without_a_splynx_field_become_additional_attributes(transform_ctx: TransformContext) -> None:
    attributes = transform_record("account", realistic_account(), transform_ctx).body["additional_attributes"]
    assert attributes["sonar_id"] == "account:1"
    assert attributes["sonar_groups"] == "North Tower, VIP"
    assert attributes["sonar_state"] == "NE"
    assert attributes["sonar_next_bill_date"] == "2025-07-01"
    assert attributes["sonar_next_recurring_charge"] == "79.99"
    assert attributes["sonar_legacy_id"] == "LEG-000001"
    assert attributes["sonar_paperless_billing"] == "1"
    others = json.loads(attributes["sonar_contacts"])
    assert others == [{"name": "Ann Other", "role": "Billing", "email": None, "phones": ["+1 4055550101"]}]


def test_account_brings_customer_info_and_billing_as_follow_up_writes(transform_ctx: TransformContext) -> None:
    info, billing = transform_record("account", realistic_account(), transform_ctx).extras
    assert (info.target, info.body, info.marker) == (
        "customer_info",
        {"contact_person": "Shannon Cunningham"},
        "account:1",
    )
    assert billing.target == "customer_billing"
    # Sonar: due 14 days after the bill day, delinquent 7 days later; Splynx blocks billing_due days after it
    assert (billing.body["billing_date"], billing.body["billing_due"]) == (5, 21)
    assert "grace_period" not in billing.body  # Splynx's grace is blocked -> Inactive, not Sonar's grace
    assert (billing.body["billing_street_1"], billing.body["billing_city"]) == ("PO Box 12", "Tulsa")


def test_account_without_username_email_or_address_still_migrates(transform_ctx: TransformContext) -> None:
    record = AccountFactory(
        id="42",
        contacts=connection(ContactFactory(username=None, email_address=None)),
        addresses=connection(),
        geopoint="(35.4676, -97.5164)",
        activation_date=None,
    )
    body = transform_record("account", record, transform_ctx).body
    assert body["login"] == "sonar42"
    assert "email" not in body and "street_1" not in body
    assert body["gps"] == "35.4676,-97.5164"
    assert body["date_add"] == "2021-03-04"


@pytest.mark.parametrize(
    ("name", "activates", "expected"),
    [
        ("Suspended", False, "disabled"),
        ("Terminated", False, "disabled"),
        ("Trial", True, "active"),
        ("Collections", False, "disabled"),
    ],
)
def test_account_status_goes_through_the_status_map(
    name: str, activates: bool, expected: str, transform_ctx: TransformContext
) -> None:
    record = AccountFactory(account_status={"id": "3", "name": name, "activates_account": activates})
    assert transform_record("account", record, transform_ctx).body["status"] == expected


def test_invalid_email_fails_and_an_override_fixes_it(transform_ctx: TransformContext) -> None:
    record = AccountFactory(id="123", contacts=connection(ContactFactory(email_address="not an email")))
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account", record, transform_ctx)
    assert problem_of(excinfo) == ("invalid_email", "email")
    assert excinfo.value.problem.value == "not an email"
    assert "`etl fix account 123 --set email=someone@example.com`" in str(excinfo.value.fix)
    fixed = transform_record("account", record, transform_ctx, {"email": "someone@example.com", "billing_email": None})
    assert fixed.body["email"] == "someone@example.com" and "billing_email" not in fixed.body


def test_over_long_name_fails_and_an_override_fixes_it(transform_ctx: TransformContext) -> None:
    record = AccountFactory(
        id="4",
        name="Northwest Regional Agricultural Cooperative " * 7,
        contacts=connection(ContactFactory(name="Derrick Bruce")),
    )
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account", record, transform_ctx)
    assert problem_of(excinfo) == ("too_long", "name")
    assert "256" in excinfo.value.message and len(excinfo.value.one_line()) < 400
    fixed = transform_record("account", record, transform_ctx, {"name": "NW Regional Ag Coop"})
    assert fixed.body["name"] == "NW Regional Ag Coop"


def test_overrides_reach_additional_attributes_and_follow_up_writes(transform_ctx: TransformContext) -> None:
    payload = transform_record(
        "account",
        realistic_account(),
        transform_ctx,
        {"additional_attributes.sonar_groups": "Gold", "customer_billing.billing_date": 9},
    )
    assert payload.body["additional_attributes"]["sonar_groups"] == "Gold"
    assert payload.extras[1].body["billing_date"] == 9


def test_invalid_override_in_a_follow_up_write_names_the_dotted_field(transform_ctx: TransformContext) -> None:
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account", realistic_account(), transform_ctx, {"customer_billing.billing_date": "fifth"})
    assert problem_of(excinfo) == ("invalid_integer", "customer_billing.billing_date")


def test_account_of_an_unmigrated_company_or_custom_field_is_a_missing_parent(
    transform_ctx: TransformContext,
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account", AccountFactory(company_id="7"), transform_ctx)
    assert problem_of(excinfo) == ("missing_parent", "partner_id")
    record = AccountFactory(custom_field_data=connection({"id": "9", "custom_field_id": "3", "value": "x"}))
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account", record, transform_ctx)
    assert problem_of(excinfo) == ("missing_parent", "additional_attributes")


def test_an_ipv6_assignment_becomes_the_services_permanent_ipv6_network(transform_ctx: TransformContext) -> None:
    record = AccountServiceFactory(
        ip_assignments=[{"subnet": "2001:db8:1:5::/64"}, {"subnet": "198.18.0.11/32"}],
    )
    body = transform_record("account_service", record, transform_ctx).body
    assert (body["taking_ipv4"], body["ipv4"]) == (1, "198.18.0.11")
    assert (body["taking_ipv6"], body["ipv6"]) == (1, "2001:db8:1:5::/64")
    assert "taking_ipv6" not in transform_record("account_service", AccountServiceFactory(), transform_ctx).body


def test_account_service_becomes_an_internet_service_of_its_customer(transform_ctx: TransformContext) -> None:
    record = AccountServiceFactory(
        id="5",
        price_override=3999,
        price_override_reason="Loyalty",
        ip_assignments=[{"id": "2", "subnet": "198.18.0.11/32", "subnet_id": "1"}],
    )
    payload = transform_record("account_service", record, transform_ctx)
    assert payload.parent == {"customer_id": "31"}
    body = payload.body
    assert (body["tariff_id"], body["description"], body["status"]) == ("21", "Fiber 100", "active")
    assert (body["start_date"], body["end_date"], body["quantity"]) == ("2021-03-04", "0000-00-00", 1)
    assert body["unit_price"] == "39.99"
    assert body["login"] == "sonar-svc-5"
    assert (body["taking_ipv4"], body["ipv4"]) == (1, "198.18.0.11")
    assert body["additional_attributes"]["sonar_price_override_reason"] == "Loyalty"


def test_account_service_names_its_customer_in_the_body_as_splynx_requires(transform_ctx: TransformContext) -> None:
    """APIB (Customers > Internet services) marks `customer_id` required in the body, not only in the path."""
    payload = transform_record("account_service", AccountServiceFactory(id="5"), transform_ctx)
    assert payload.body["customer_id"] == payload.parent["customer_id"] == "31"


def test_account_service_without_a_price_override_is_sent_the_tariff_price(transform_ctx: TransformContext) -> None:
    """An omitted unit_price may bill 0 (docs/fidelity.md: a guess), so the plan's price is always sent."""
    body = transform_record("account_service", AccountServiceFactory(price_override=None), transform_ctx).body
    assert body["unit_price"] == "49.99"


def test_account_service_without_ip_takes_none_and_is_stopped_for_a_non_activating_account(
    transform_ctx: TransformContext,
) -> None:
    record = AccountServiceFactory(
        name_override="Fiber 100 (promo)",
        account={
            "id": "1",
            "account_status": {"id": "3", "name": "Suspended", "activates_account": False},
            "ip_assignments": {"entities": []},
        },
    )
    body = transform_record("account_service", record, transform_ctx).body
    assert (body["taking_ipv4"], "ipv4" in body) == (0, False)
    assert body["status"] == "stopped"
    assert body["description"] == "Fiber 100 (promo)"


def test_account_service_of_a_blocked_customer_stays_active_so_it_is_still_billed(
    transform_ctx: TransformContext,
) -> None:
    ctx = replace(transform_ctx, status_map={"delinquent": "blocked"})
    record = AccountServiceFactory(
        account={"id": "1", "account_status": {"id": "5", "name": "Delinquent", "activates_account": True}},
    )
    assert transform_record("account_service", record, ctx).body["status"] == "active"


def test_account_service_of_an_unmigrated_tariff_names_tariff_id(transform_ctx: TransformContext) -> None:
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account_service", AccountServiceFactory(id="8", service_id="6"), transform_ctx)
    code, field = problem_of(excinfo)
    assert (code, field, excinfo.value.problem.value) == ("missing_parent", "tariff_id", "6")
    assert "account_service 8" in excinfo.value.message


def test_a_recurring_account_service_becomes_a_recurring_service_at_its_monthly_price(
    transform_ctx: TransformContext,
) -> None:
    record = AccountServiceFactory(
        service={
            "id": "12",
            "name": "Managed Wi-Fi",
            "type": "RECURRING",
            "amount": 2997,
            "recurring_service_detail": {"id": "1", "billing_frequency": 3},
        }
    )
    result = transform_record("account_service", record, transform_ctx)
    assert result.target == "recurring_service"
    assert result.body["unit_price"] == "9.99"
    assert result.body["tariff_id"] and result.parent == {"customer_id": result.body["customer_id"]}
    assert not {"login", "password", "mac", "ipv4", "taking_ipv4"} & set(result.body)


def test_a_voice_line_takes_the_did_assigned_for_its_service(transform_ctx: TransformContext) -> None:
    lines = [{"id": n, "service": {"id": "1", "type": "VOICE"}} for n in ("40", "41")]
    dids = [
        {"id": "2", "service_id": "1", "did": {"id": "9", "number": "3065550199"}},
        {"id": "1", "service_id": "1", "did": {"id": "8", "number": "3065550123"}},
    ]
    account = {"id": "1", "account_services": lines, "did_assignments": dids}
    voice = {"id": "1", "name": "Home Phone", "type": "VOICE", "amount": 2499}
    first = AccountServiceFactory(id="40", service_id="1", service=voice, account=account)
    second = AccountServiceFactory(id="41", service_id="1", service=voice, account=account)
    assert transform_record("account_service", first, transform_ctx).body["phone"] == "3065550123"
    assert transform_record("account_service", second, transform_ctx).body["phone"] == "3065550199"
    lonely = AccountServiceFactory(id="42", service_id="1", service=voice, account={**account, "did_assignments": []})
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account_service", lonely, transform_ctx)
    assert problem_of(excinfo) == ("required", "phone")
    assert "--set phone=" in str(excinfo.value.problem.fix)


@pytest.mark.parametrize("kind", ["ONETIME", "OVERAGE", "ADJUSTMENT"])
def test_account_services_no_splynx_service_takes_are_skipped_with_their_reason(
    transform_ctx: TransformContext, kind: str
) -> None:
    record = AccountServiceFactory(
        id="91", service={"id": "10", "name": "Installation Fee", "type": kind, "amount": 9900}
    )
    with pytest.raises(SkipRecord, match=kind) as excinfo:
        transform_record("account_service", record, transform_ctx)
    assert "91" not in excinfo.value.reason


# -- against the Splynx simulator -------------------------------------------------------------------


PATHS = {
    "partner": "admin/administration/partners", "administrator": "admin/administration/administrators",
    "additional_field": "admin/config/additional-fields/{module}", "internet_tariff": "admin/tariffs/internet",
    "ipv4_network": "admin/networking/ipv4", "location": "admin/administration/locations",
    "inventory_vendor": "admin/inventory/vendors", "inventory_product": "admin/inventory/products",
    "inventory_item": "admin/inventory/items", "customer": "admin/customers/customer",
    "inventory_stock": "admin/config/inventory-stocks", "inventory_supplier": "admin/inventory/suppliers",
    "internet_service": "admin/customers/customer/{customer_id}/internet-services",
}  # fmt: skip


def load_into_simulator(
    client: Any, modules: list[str], records: list[tuple[str, dict[str, Any]]]
) -> dict[tuple[str, str], str]:
    """Create the definitions of `modules`, then each record in order, feeding the real ids back."""
    definitions = additional_field_definitions()
    for module in modules:
        for definition in definitions[module]:
            response = client.post(f"admin/config/additional-fields/{module}", json=definition)
            assert response.status_code == 201, (module, response.text)
    ids: dict[tuple[str, str], str] = {}
    ctx = TransformContext(dest_id=lambda e, s: ids.get((e, str(s))), password_factory=lambda: "Pw-0123456789")
    for entity, record in records:
        payload = transform_record(entity, record, ctx)
        response = client.post(PATHS[payload.target].format(**payload.parent), json=payload.body)
        assert response.status_code == 201, (entity, response.text)
        answer = response.json()
        ids[(entity, str(record["id"]))] = str(answer.get("id", answer.get("name")))
        for extra in payload.extras:
            dest = ids[(entity, str(record["id"]))]
            path = TARGETS_BY_KEY[extra.target].item_path(None, {"customer_id": dest, "item_id": dest})
            assert client.put(path, json=extra.body).status_code == 202, (extra.target, path)
    return ids


def test_payloads_are_accepted_by_the_splynx_simulator(splynx_client: Any) -> None:
    modules = list(additional_field_definitions())
    records = [
        ("company", CompanyFactory(id="1")),
        ("user", UserFactory(id="1")),
        ("custom_field", CustomFieldFactory(id="1")),
        ("service", ServiceFactory(id="1")),
        ("custom_field", CustomFieldFactory(id="2", name="Paperless billing", type="BOOLEAN", unique=False)),
        ("inventory_location", InventoryLocationFactory(id="1")),
        ("vendor", VendorFactory(id="1")),
        ("manufacturer", ManufacturerFactory(id="1")),
        ("inventory_model", InventoryModelFactory(id="1")),
        ("inventory_item", InventoryItemFactory(id="1")),
        (
            "inventory_item",
            InventoryItemFactory(
                id="2", inventoryitemable_type="InventoryLocation", inventoryitemable_id="1", purchase_price=4_550
            ),
        ),
        ("account", realistic_account() | {"company_id": "1"}),
        ("account_service", AccountServiceFactory(id="1")),
    ]
    ids = load_into_simulator(splynx_client, modules, records)
    customer = splynx_client.get(f"admin/customers/customer/{ids[('account', '1')]}").json()
    assert customer["additional_attributes"]["sonar_legacy_id"] == "LEG-000001"
    assert customer["additional_attributes"]["sonar_paperless_billing"] == "1"
    assert customer["additional_attributes"]["sonar_id"] == "account:1"
    billing = splynx_client.get(f"admin/customers/customer-billing/{ids[('account', '1')]}").json()
    assert str(billing["billing_date"]) == "5"
    item = splynx_client.get(f"admin/inventory/items/{ids[('inventory_item', '1')]}").json()
    assert (item["status"], item["mark"]) == ("assigned", "used")  # by the follow-up PUT
    stocked = splynx_client.get(f"admin/inventory/items/{ids[('inventory_item', '2')]}").json()
    assert (stocked["stock_id"], stocked["cost_price"]) == (ids[("inventory_location", "1")], "45.5000")
    supplier = splynx_client.get(f"admin/inventory/suppliers/{ids[('vendor', '1')]}").json()
    assert supplier["contact_name"] == "Dana Buyer"


def test_network_payloads_and_a_static_ip_service_are_accepted_by_the_splynx_simulator(splynx_client: Any) -> None:
    records = [
        ("company", CompanyFactory(id="1")),
        ("service", ServiceFactory(id="1")),
        ("supernet", SupernetFactory(id="1")),
        ("subnet", SubnetFactory(id="1")),
        ("ip_pool", IpPoolFactory(id="1")),
        ("account", AccountFactory(id="1")),
        ("account_service", AccountServiceFactory(id="1", ip_assignments=[{"subnet": "198.18.0.11/32"}])),
    ]
    ids = load_into_simulator(splynx_client, list(additional_field_definitions()), records)
    service = splynx_client.get(
        f"admin/customers/customer/{ids[('account', '1')]}/internet-services--{ids[('account_service', '1')]}"
    ).json()
    assert service["ipv4"] == "198.18.0.11"


def test_a_delinquent_account_that_is_served_becomes_a_blocked_customer(transform_ctx: TransformContext) -> None:
    """Sonar turns an account delinquent on the day Splynx would block it (due + grace days): blocked."""
    active = {"id": "1", "name": "Active", "activates_account": True}
    record = AccountFactory(account_status=active, is_delinquent=True)
    assert transform_record("account", record, transform_ctx).body["status"] == "blocked"
    served = replace(transform_ctx, delinquent_status="active")
    assert transform_record("account", record, served).body["status"] == "active"
    inactive = AccountFactory(account_status={**active, "activates_account": False}, is_delinquent=True)
    assert transform_record("account", inactive, transform_ctx).body["status"] == "disabled"
    mapped = replace(transform_ctx, status_map={"active": "new"})
    assert transform_record("account", record, mapped).body["status"] == "new"  # the map still wins


def test_status_switch_days_become_the_deactivation_period_when_the_switch_stops_service(
    transform_ctx: TransformContext,
) -> None:
    """Splynx's grace_period (blocked -> Inactive) is Sonar's delinquency -> non-activating status switch."""
    params = {
        "bill_day": 1,
        "due_days": 14,
        "grace_days": 7,
        "switch_status_after_delinquency": True,
        "days_of_delinquency_for_status_switch": 30,
        "delinquency_account_status": {"id": "2", "name": "Suspended", "activates_account": False},
    }
    record = AccountFactory(account_billing_parameter=params)
    (_info, billing) = transform_record("account", record, transform_ctx).extras
    assert (billing.body["billing_due"], billing.body["grace_period"]) == (21, 30)
    for change in (
        {"switch_status_after_delinquency": False},
        {"delinquency_account_status": {"id": "1", "name": "Active", "activates_account": True}},
    ):
        record = AccountFactory(account_billing_parameter={**params, **change})
        (_info, billing) = transform_record("account", record, transform_ctx).extras
        assert "grace_period" not in billing.body


def test_an_inventory_item_splynx_already_has_gets_its_state_even_back_in_stock(
    transform_ctx: TransformContext,
) -> None:
    record = InventoryItemFactory(status="FUNCTIONAL", inventoryitemable_type="InventoryLocation")
    ids = {("inventory_item", str(record["id"])): "55", ("inventory_model", str(record["inventory_model_id"])): "3",
           ("inventory_location", str(record["inventoryitemable_id"])): "4"}  # fmt: skip
    known = TransformContext.from_id_map(ids)
    (state,) = transform_record("inventory_item", record, known).extras
    assert state.body == {"status": "stock", "mark": "new", "stock_id": "4"}  # taken back: stock again, in its stock


def test_fixing_the_email_fixes_the_billing_email_it_was_copied_to(transform_ctx: TransformContext) -> None:
    record = AccountFactory(id="123", contacts=connection(ContactFactory(email_address="not an email")))
    fixed = transform_record("account", record, transform_ctx, {"email": "someone@example.com"})
    assert fixed.body["email"] == fixed.body["billing_email"] == "someone@example.com"
    apart = transform_record(
        "account", record, transform_ctx, {"email": "someone@example.com", "billing_email": "bills@example.com"}
    )
    assert apart.body["billing_email"] == "bills@example.com"


# -- network sites ----------------------------------------------------------------------------------


def test_network_site_becomes_a_splynx_network_site_with_title_gps_address_and_partners(
    transform_ctx: TransformContext,
) -> None:
    ctx = replace(transform_ctx, tariff_partner_ids=("1", "2"))
    payload = transform_record("network_site", NetworkSiteFactory(id="7"), ctx)
    assert payload.target == "network_site"
    body = payload.body
    assert body["title"] == "North Tower"
    assert body["gps"] == "35.4676,-97.5164"
    assert body["address"] == "1200 Tower Rd, Oklahoma City, OK 73102"
    assert body["location_id"] == ctx.default_location_id
    assert body["partners_ids"] == ["1", "2"]
    assert "additional_attributes" not in body  # Splynx network sites have no additional-fields module


def test_network_site_description_lists_its_ips_height_and_marker(transform_ctx: TransformContext) -> None:
    description = transform_record("network_site", NetworkSiteFactory(id="7"), transform_ctx).body["description"]
    lines = description.splitlines()
    assert lines[0] == "Sonar IPs: 198.19.192.10/32, 198.19.192.16/29"
    assert "Height: 45.5 m" in lines
    assert lines[-1] == "[sonar_id=network_site:7]"
    assert marker_in_text(description) == "network_site:7"


def test_network_site_without_geopoint_takes_its_address_coordinates(transform_ctx: TransformContext) -> None:
    record = NetworkSiteFactory(geopoint=None)
    record["addresses"]["entities"][0].update(latitude=36.1, longitude=-95.9)
    assert transform_record("network_site", record, transform_ctx).body["gps"] == "36.1,-95.9"


def test_network_site_without_address_ips_or_coordinates_sends_blanks(transform_ctx: TransformContext) -> None:
    record = NetworkSiteFactory(id="3", geopoint=None, addresses=connection(), ip_assignments=connection())
    body = transform_record("network_site", record, transform_ctx).body
    assert body["address"] == "" and body["gps"] == ""
    assert body["description"].splitlines()[0] == "Sonar IPs: none"
    assert marker_in_text(body["description"]) == "network_site:3"


def test_network_site_blank_name_is_a_blank_title_but_a_blank_location_is_refused(
    transform_ctx: TransformContext,
) -> None:
    assert transform_record("network_site", NetworkSiteFactory(name="  "), transform_ctx).body["title"] == ""
    with pytest.raises(ValidationError) as excinfo:  # the blueprint requires location_id, not title
        transform_record("network_site", NetworkSiteFactory(), transform_ctx, {"location_id": ""})
    assert problem_of(excinfo) == ("required", "location_id")


@pytest.mark.parametrize("text", ["[sonar_id=network_site:71]", "x [sonar_id=network_site:7] y", None, ""])
def test_marker_in_text_reads_only_the_whole_marker(text: str | None) -> None:
    found = marker_in_text(text)
    assert found in (None, "network_site:71", "network_site:7")
    assert (found is None) == (not text)


# -- packages and bundles ---------------------------------------------------------------------------


def test_a_package_becomes_a_bundle_of_its_tariffs_at_the_monthly_sum_of_its_services(
    transform_ctx: TransformContext,
) -> None:
    payload = transform_record("package", PackageFactory(id="1"), transform_ctx)
    body = payload.body
    assert payload.target == "bundle_tariff"
    assert body["internet_tariffs"] == ["21"] and body["custom_tariffs"] == ["22"] and body["voice_tariffs"] == []
    assert Decimal(body["price"]) == Decimal("49.99") + 2 * Decimal("5.00")  # 599.88 a year, 2 router rentals
    assert Decimal(body["activation_fee"]) == Decimal("99.00")  # the ONETIME install fee
    assert body["billing_types"] == ["recurring"] and body["title"].startswith("Home bundle")


def test_a_package_whose_service_is_not_migrated_fails_naming_the_service(transform_ctx: TransformContext) -> None:
    record = PackageFactory(id="1")
    record["package_services"]["entities"][1]["service_id"] = "99"
    with pytest.raises(ValidationError) as excinfo:
        transform_record("package", record, transform_ctx)
    assert problem_of(excinfo) == ("missing_parent", "custom_tariffs")


def test_a_package_on_an_account_is_a_bundle_service_billed_what_sonar_bills_for_its_services(
    transform_ctx: TransformContext,
) -> None:
    payload = transform_record("account_package", AccountPackageFactory(id="7"), transform_ctx)
    body = payload.body
    assert payload.target == "bundle_service" and payload.parent == {"customer_id": "31"}
    assert body["bundle_id"] == "81" and body["status"] == "active" and body["description"] == "Home bundle"
    assert Decimal(body["unit_price"]) == Decimal("49.99") + 2 * Decimal("4.50")  # the override of the rental
    assert Decimal(body["activation_fee"]) == 0 and body["end_date"] == "0000-00-00"


def test_a_packaged_service_joins_its_bundle_service_at_no_price_of_its_own(transform_ctx: TransformContext) -> None:
    alone = transform_record("account_service", AccountServiceFactory(id="7"), transform_ctx).body
    packaged = transform_record("account_service", AccountServiceFactory(id="7", bundle_of="7"), transform_ctx).body
    assert "bundle_service_id" not in alone and Decimal(alone["unit_price"]) == Decimal("49.99")
    assert packaged["bundle_service_id"] == "91" and Decimal(packaged["unit_price"]) == 0


def test_a_packaged_service_whose_bundle_service_is_not_loaded_waits_for_it(transform_ctx: TransformContext) -> None:
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account_service", AccountServiceFactory(id="8", bundle_of="8"), transform_ctx)
    assert problem_of(excinfo) == ("missing_parent", "bundle_service_id")


# -- stocks of the holders other than inventory locations --------------------------------------------


@pytest.mark.parametrize(
    ("entity", "factory_class", "expected"),
    [
        ("vehicle", VehicleFactory, "Service Van 1 (vehicle 7)"),
        ("user_stock", UserStockFactory, "Dana Whitfield (user 7)"),
        ("network_site_stock", NetworkSiteStockFactory, "North Tower 1 (site 7)"),
    ],
)
def test_a_holder_becomes_a_stock_named_after_it_with_its_kind_and_sonar_id(
    entity: str, factory_class: Any, expected: str, transform_ctx: TransformContext
) -> None:
    payload = transform_record(entity, factory_class(id="7"), transform_ctx)
    assert (payload.target, payload.body) == ("inventory_stock", {"name": expected})


def test_a_user_or_site_holding_nothing_is_skipped_but_an_empty_vehicle_is_a_stock(
    transform_ctx: TransformContext,
) -> None:
    empty = {"entities": []}
    for entity, factory_class, kind in (("user_stock", UserStockFactory, "user"),
                                        ("network_site_stock", NetworkSiteStockFactory, "site")):  # fmt: skip
        with pytest.raises(SkipRecord, match=f"this {kind} holds no inventory item"):
            transform_record(entity, factory_class(inventory_items=empty), transform_ctx)
    vehicle = transform_record("vehicle", VehicleFactory(id="2"), transform_ctx)
    assert vehicle.body == {"name": "Service Van 1 (vehicle 2)"}


@pytest.mark.parametrize(
    ("holder", "parent_entity"),
    [
        ("Vehicle", "vehicle"),
        ("User", "user_stock"),
        ("NetworkSite", "network_site_stock"),
        ("InventoryLocation", "inventory_location"),
    ],
)
def test_an_item_held_by_a_stock_keeping_holder_goes_to_that_holders_stock(
    holder: str, parent_entity: str, transform_ctx: TransformContext
) -> None:
    record = InventoryItemFactory(inventoryitemable_type=holder, inventoryitemable_id="3")
    migrated = replace(
        transform_ctx, dest_id=IdMap({(parent_entity, "3"): "77", ("inventory_model", "1"): "5"}).dest_id
    )
    (state,) = transform_record("inventory_item", record, migrated).extras
    assert state.body["stock_id"] == "77"
    with pytest.raises(ValidationError) as excinfo:  # the holder is not migrated yet: a missing parent
        transform_record(
            "inventory_item", record, replace(migrated, dest_id=IdMap({("inventory_model", "1"): "5"}).dest_id)
        )
    assert problem_of(excinfo) == ("missing_parent", "inventory_item_state.stock_id")
