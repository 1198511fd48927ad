"""Issue #12, bodies the real API expects: roles read from Splynx, statuses and grace days by behaviour."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from etl.config import load_settings
from etl.errors import ConfigError
from etl.sandbox.splynx_schema import ADMIN_ROLES
from tests.fixtures.pipeline import Sandbox, marker_of
from tests.fixtures.sonar_records import AccountFactory, AccountServiceFactory
from tests.fixtures.splynx import SignedClient
from transformers.context import TransformContext
from transformers.registry import transform_record
from transformers.validation import ValidationError

SPLYNX_ROLES = frozenset(ADMIN_ROLES)


def user(role: str, **fields: object) -> dict[str, object]:
    """A Sonar user record with the given role name."""
    return {
        "id": "7", "username": "jdoe", "name": "Jane Doe", "email_address": "jane@example.com",
        "enabled": True, "super_admin": False, "role": {"id": "2", "name": role}, **fields,
    }  # fmt: skip


def test_role_map_maps_a_sonar_role_to_a_splynx_role(transform_ctx: TransformContext) -> None:
    ctx = replace(transform_ctx, role_map={"technician": "engineer"}, known_roles=SPLYNX_ROLES)
    assert transform_record("user", user("Technician"), ctx).body["role_name"] == "engineer"


def test_a_sonar_role_splynx_has_by_the_same_name_keeps_it(transform_ctx: TransformContext) -> None:
    ctx = replace(transform_ctx, known_roles=SPLYNX_ROLES | {"technician"})
    assert transform_record("user", user("Technician"), ctx).body["role_name"] == "technician"
    assert transform_record("user", user("Financial Manager"), ctx).body["role_name"] == "financial-manager"
    assert transform_record("user", user("Billing"), ctx).body["role_name"] == "administrator"


def test_a_mapped_role_splynx_lacks_fails_the_record_naming_sonar_role_and_splynx_roles(
    transform_ctx: TransformContext,
) -> None:
    ctx = replace(transform_ctx, role_map={"technician": "field-tech"}, known_roles=SPLYNX_ROLES)
    with pytest.raises(ValidationError) as excinfo:
        transform_record("user", user("Technician"), ctx)
    assert (excinfo.value.problem.code, excinfo.value.problem.field) == ("unknown_role", "role_name")
    assert "'technician'" in excinfo.value.problem.message and "engineer, financial-manager" in excinfo.value.message


def test_roles_are_not_checked_when_splynx_did_not_list_them(transform_ctx: TransformContext) -> None:
    ctx = replace(transform_ctx, role_map={"technician": "field-tech"}, known_roles=None)
    assert transform_record("user", user("Technician"), ctx).body["role_name"] == "field-tech"


def test_a_non_activating_sonar_status_is_an_inactive_customer_with_stopped_services(
    transform_ctx: TransformContext,
) -> None:
    status = {"id": "3", "name": "Suspended", "activates_account": False}
    assert transform_record("account", AccountFactory(account_status=status), transform_ctx).body["status"] == (
        "disabled"
    )
    service = AccountServiceFactory(account={"id": "1", "account_status": status, "ip_assignments": {"entities": []}})
    assert transform_record("account_service", service, transform_ctx).body["status"] == "stopped"


def test_the_simulator_lists_its_seeded_roles_as_rows_of_the_roles_table(splynx_client: SignedClient) -> None:
    response = splynx_client.get("admin/administration/roles")
    assert response.status_code == 200
    rows = response.json()
    assert {r["name"] for r in rows} == SPLYNX_ROLES and set(rows[0]) == {"name", "title", "is_base"}


def test_etl_run_reads_splynx_roles_and_applies_the_role_map(sandbox: Sandbox) -> None:
    config = sandbox.home.parent / "etl.toml"
    config.write_text('[role_map]\nTechnician = "engineer"\nbilling = "financial-manager"\n')
    sandbox.etl("run", "--all", "--phases", "foundation", env=sandbox.env(ETL_CONFIG=str(config)))
    roles = {marker_of(a): a["role_name"] for a in sandbox.splynx.rows("administrators") if marker_of(a)}
    sonar_users = sandbox.sonar.store.tables["users"]
    sonar_roles = {str(r_id): r["name"] for r_id, r in sandbox.sonar.store.tables["roles"].items()}
    expected = {
        "super-administrator" if u.get("super_admin") else
        {"Technician": "engineer", "Billing": "financial-manager"}.get(sonar_roles[str(u["role_id"])], "administrator")
        for u in sonar_users.values() if u.get("enabled", True)
    }  # fmt: skip
    assert set(roles.values()) == expected and "engineer" in expected


def test_etl_run_refuses_a_role_map_naming_a_role_splynx_lacks_in_one_line(sandbox: Sandbox) -> None:
    config = sandbox.home.parent / "etl.toml"
    config.write_text('[role_map]\ntechnician = "field-tech"\n')
    result = sandbox.etl("run", "--all", "--phases", "foundation", code=2, env=sandbox.env(ETL_CONFIG=str(config)))
    line = result.output.strip()
    assert "'technician'" in line and "'field-tech'" in line and "engineer, financial-manager" in line
    assert not [a for a in sandbox.splynx.rows("administrators") if marker_of(a)]  # refused before writing


def test_etl_run_writes_a_non_activating_account_as_inactive_stopped_and_blocked_after_due_plus_grace(
    sandbox: Sandbox,
) -> None:
    store = sandbox.sonar.store
    statuses = store.tables["account_statuses"]
    account_id = next(
        i for i, a in store.tables["accounts"].items()
        if not statuses[int(store.value("accounts", a, "account_status_id"))]["activates_account"]
        and a.get("archived_at") is None
        and any(int(s["account_id"]) == i for s in store.tables["account_services"].values())
    )  # fmt: skip
    sandbox.etl("run", "--customer", str(account_id))
    (customer,) = [c for c in sandbox.customers() if marker_of(c) == f"account:{account_id}"]
    assert customer["status"] == "disabled"  # Inactive: no access and not billed, as in Sonar
    services = sandbox.splynx.rows(f"admin/customers/customer/{customer['id']}/internet-services")
    assert services and {s["status"] for s in services} == {"stopped"}
    params = next(p for p in store.tables["account_billing_parameters"].values() if int(p["account_id"]) == account_id)
    due = int(store.value("account_billing_parameters", params, "due_days"))
    grace = int(store.value("account_billing_parameters", params, "grace_days"))
    (billing,) = [b for b in sandbox.splynx.rows("customer_billing") if int(b["customer_id"]) == int(customer["id"])]
    assert int(billing["billing_due"]) == due + grace


def test_role_map_is_a_declared_config_section_read_lower_cased(tmp_path: Path) -> None:
    config = tmp_path / "etl.toml"
    config.write_text('[role_map]\n"Field Tech" = "engineer"\n')
    settings = load_settings(config_file=config)
    assert settings.role_map == {"field tech": "engineer"} and not settings.warnings
    config.write_text("[role_map]\ntechnician = 3\n")
    with pytest.raises(ConfigError, match=r"\[role_map\] technician must be a string"):
        load_settings(config_file=config)
