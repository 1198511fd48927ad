"""The Splynx simulator and the transformers' rules, each checked against what a live Splynx answered.

Why: the simulator and the transformers were written from the same assumptions, so they agreed with each
other and both disagreed with the real system. Here each side is compared, on its own, with the captures
of a live Splynx 2.0 (`shared/api/splynx-live/`: the database's columns and the OPTIONS answers). A
divergence fails the test unless docs/fidelity.md lists it, with a reason, in its divergence table; a
row there that no longer diverges fails too, so the document cannot go stale.
"""

from __future__ import annotations

import csv
import os
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from etl.sandbox import splynx_schema
from loaders.splynx_targets import TARGETS
from tests.fixtures.splynx import SignedClient
from transformers.splynx_fields import FIELDS

REPO = Path(__file__).resolve().parents[1]
FIDELITY = REPO / "docs" / "fidelity.md"

# Table of the live database -> (transformer target, simulator entity) that writes it; a target of None: the
# simulator serves it and no transformer writes it yet (finance transactions), so only the simulator is checked.
TABLES: dict[str, tuple[str | None, str]] = {
    "admins": ("administrator", "administrators"),
    "customers": ("customer", "customers"),
    "customer_info": ("customer_info", "customer_info"),
    "tariffs_voice": ("voice_tariff", "tariffs_voice"),
    "services_voice": ("voice_service", "voice_services"),
    "billing_transactions": (None, "billing_transactions"),
    "billing_transactions_categories": (None, "transaction_categories"),
    "payments": ("payment", "payments"),
    "customer_notes": ("customer_note", "customer_notes"),
}
# Columns that also govern an attribute of another write: customer_billing.type is customers.billing_type.
ALSO: dict[str, list[tuple[str | None, str, str]]] = {
    "customers.billing_type": [("customer_billing", "customer_billing", "type")],
}
# Endpoint we write -> (transformer target, simulator entity); None as in TABLES.
ENDPOINTS: dict[str, tuple[str | None, str]] = {
    "admin/administration/partners": ("partner", "partners"),
    "admin/administration/locations": ("location", "locations"),
    "admin/administration/administrators": ("administrator", "administrators"),
    "admin/tariffs/internet": ("internet_tariff", "tariffs_internet"),
    "admin/networking/ipv4": ("ipv4_network", "ipv4_networks"),
    "admin/inventory/vendors": ("inventory_vendor", "vendors"),
    "admin/inventory/items": ("inventory_item", "items"),
    "admin/customers/customer": ("customer", "customers"),
    "admin/networking/ipv6": ("ipv6_network", "ipv6_networks"),
    "admin/tariffs/one-time": ("one_time_tariff", "tariffs_one_time"),
    "admin/tariffs/voice": ("voice_tariff", "tariffs_voice"),
    "admin/finance/transactions": (None, "billing_transactions"),
    "admin/finance/transaction-categories": (None, "transaction_categories"),
    "admin/finance/payment-methods": (None, "payment_methods"),
    "admin/finance/payments": ("payment", "payments"),
}
TEXT_KINDS = {"str", "email"}


@dataclass(frozen=True)
class Rule:
    """What one side enforces on one attribute, whichever side it comes from."""

    kind: str
    required: bool
    max_len: int | None
    choices: tuple[str, ...]
    default: Any = None


Lookup = Callable[[str, str], "Rule | None"]


def simulator_rule(entity: str, name: str) -> Rule | None:
    """The simulator's field, from etl/sandbox/splynx_schema.py."""
    fld = splynx_schema.BY_KEY[entity].field(name)
    if fld is None or not fld.writable:
        return None
    return Rule(fld.kind, fld.required, fld.max_len, tuple(str(c) for c in fld.choices), fld.default)


def transformer_rule(target: str, name: str) -> Rule | None:
    """The transformers' rule, from transformers/splynx_fields.py."""
    rule = next((r for r in FIELDS[target] if r.name == name), None)
    if rule is None:
        return None
    return Rule(rule.kind, rule.required, rule.max_len, rule.choices)


def sides(target: str | None, entity: str) -> list[tuple[str, str, Lookup]]:
    """(side name, key, lookup) for both sides of one write (the simulator alone when no transformer writes it)."""
    simulator: tuple[str, str, Lookup] = ("simulator", entity, simulator_rule)
    return [simulator] if target is None else [simulator, ("transformers", target, transformer_rule)]


def captures_dir() -> Path:
    """The captures: $ETL_SPLYNX_CAPTURES, else `<repo>/../shared/api/splynx-live`."""
    configured = os.environ.get("ETL_SPLYNX_CAPTURES")
    return Path(configured) if configured else REPO.parent / "shared" / "api" / "splynx-live"


def read_tsv(name: str) -> list[dict[str, str]]:
    """Rows of a capture file (its first line is a comment)."""
    folder = captures_dir()
    if not folder.is_dir():
        if os.environ.get("ETL_REQUIRE_SERVICES"):
            pytest.fail(f"the live Splynx captures are missing ({folder}) and ETL_REQUIRE_SERVICES is set")
        pytest.skip(f"the live Splynx captures are not here: {folder} (set ETL_SPLYNX_CAPTURES)")
    path = folder / name  # a folder without the file is a broken checkout: reading it fails loudly
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def enum_values(column_type: str) -> tuple[str, ...] | None:
    """The values of `enum('a','b')`, or None for another type."""
    found = re.fullmatch(r"enum\((.*)\)", column_type)
    return tuple(re.findall(r"'([^']*)'", found.group(1))) if found else None


def varchar_length(column_type: str) -> int | None:
    """N of `varchar(N)`, or None for another type."""
    found = re.fullmatch(r"varchar\((\d+)\)", column_type)
    return int(found.group(1)) if found else None


def column_divergences(row: dict[str, str], rule: Rule, side: str, where: str) -> Iterator[tuple[str, ...]]:
    """Length and enum differences between one database column and one side's rule."""
    column_type, length, values = row["type"], varchar_length(row["type"]), enum_values(row["type"])
    if length is not None and rule.kind in TEXT_KINDS and rule.max_len != length:
        yield side, where, "length", str(rule.max_len), str(length)
    ours_enum = rule.kind in ("enum", "enums")
    if values is not None and set(values) == {"0", "1"} and rule.kind == "bool":
        return
    if values is not None and ours_enum and set(rule.choices) != set(values):
        yield side, where, "enum", ",".join(sorted(rule.choices)), ",".join(sorted(values))
    elif values is not None and not ours_enum and rule.kind not in TEXT_KINDS:
        yield side, where, "enum", rule.kind, ",".join(sorted(values))
    elif values is None and ours_enum:
        yield side, where, "enum", ",".join(sorted(rule.choices)), column_type


def default_divergence(row: dict[str, str], rule: Rule, where: str) -> Iterator[tuple[str, ...]]:
    """The simulator's default against the column's (only where both have one)."""
    theirs = row["default"]
    if theirs in ("None", "CURRENT_TIMESTAMP") or rule.default is None or isinstance(rule.default, list):
        return
    ours = str(rule.default)
    same = float(ours) == float(theirs) if rule.kind == "decimal" else ours == theirs
    if not same:
        yield "simulator", where, "default", ours or "(blank)", theirs or "(blank)"


def divergences() -> set[tuple[str, ...]]:
    """Every (side, where, check, ours, capture) where a side differs from the captures."""
    found: set[tuple[str, ...]] = set()
    for row in read_tsv("mysql-columns.tsv"):
        table, column = row["table"], row["column"]
        if table not in TABLES:
            continue
        where = f"{table}.{column}"
        writes = [(column, *TABLES[table])] + [(c, t, e) for t, e, c in ALSO.get(where, [])]
        for name, target, entity in writes:
            for side, key, lookup in sides(target, entity):
                rule = lookup(key, name)
                if rule is None:
                    continue
                found.update(column_divergences(row, rule, side, where))
                if side == "simulator" and name == column:
                    found.update(default_divergence(row, rule, where))
    options: dict[str, dict[str, bool]] = {}
    for row in read_tsv("options-attributes.tsv"):
        options.setdefault(row["endpoint"], {})[row["attribute"]] = row["required"] == "True"
    for endpoint, (target, entity) in ENDPOINTS.items():
        attributes = options[endpoint]
        for side, key, lookup in sides(target, entity):
            for name, required in attributes.items():
                rule = lookup(key, name)
                ours = "absent" if rule is None else ("yes" if rule.required else "no")
                theirs = "yes" if required else "no"
                if (rule is not None or required) and ours != theirs:
                    found.add((side, f"{endpoint}.{name}", "required", ours, theirs))
            names = (
                (f.name for f in splynx_schema.BY_KEY[entity].fields)
                if side == "simulator"
                else (r.name for r in FIELDS[target])
            )
            for name in names:
                rule = lookup(key, name)
                if rule is not None and rule.required and name not in attributes:
                    found.add((side, f"{endpoint}.{name}", "required", "yes", "absent"))
    return found


def documented() -> set[tuple[str, ...]]:
    """Rows of docs/fidelity.md's divergence table: (side, where, check, ours, capture)."""
    rows = set()
    for line in FIDELITY.read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] in ("simulator", "transformers", "both"):
            rows.add(tuple(cells[:5]))
    return rows


def expand(rows: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """A `both` row stands for the same divergence on each side."""
    out = set()
    for side, *rest in rows:
        for one in ("simulator", "transformers") if side == "both" else (side,):
            out.add((one, *rest))
    return out


def test_every_divergence_from_the_live_splynx_is_documented() -> None:
    listed = expand(documented())
    missing = sorted(divergences() - listed)
    assert not missing, (
        "undocumented divergences from the captures (fix the code or list them in "
        "docs/fidelity.md as | side | where | check | ours | capture | reason |):\n"
        + "\n".join(" | ".join(m) for m in missing)
    )


def test_no_documented_divergence_is_stale() -> None:
    stale = sorted(expand(documented()) - divergences())
    assert not stale, "docs/fidelity.md lists divergences the code no longer has:\n" + "\n".join(
        " | ".join(s) for s in stale
    )


def test_captured_limits_are_enforced_on_both_sides() -> None:
    """The facts the issue names, spelled out: a regression here names the exact column."""
    expected = {
        ("administrators", "administrator", "name"): 64, ("administrators", "administrator", "email"): 64,
        ("customers", "customer", "login"): 128, ("customers", "customer", "city"): 32,
        ("customer_info", "customer_info", "passport"): 32, ("customer_info", "customer_info", "company_id"): 32,
        ("customer_info", "customer_info", "vat_id"): 32,
    }  # fmt: skip
    read_tsv("mysql-columns.tsv")  # skips where the captures are absent, like the other tests
    for (entity, target, name), length in expected.items():
        assert (simulator_rule(entity, name) or Rule("", False, None, ())).max_len == length, (entity, name)
        assert (transformer_rule(target, name) or Rule("", False, None, ())).max_len == length, (target, name)
    billing = {"recurring", "prepaid", "prepaid_monthly"}
    assert set((simulator_rule("customer_billing", "type") or Rule("", False, None, ())).choices) == billing
    assert set((transformer_rule("customer_billing", "type") or Rule("", False, None, ())).choices) == billing


def test_an_empty_post_is_answered_as_the_live_splynx_answered(splynx_client: SignedClient) -> None:
    """post-empty-body.tsv: each endpoint the simulator serves answers a body-less POST with the captured status."""
    served = {e.path for e in splynx_schema.PLAIN_ENTITIES}
    captured = {r["endpoint"]: int(r["status"]) for r in read_tsv("post-empty-body.tsv") if r["endpoint"] in served}
    assert set(ENDPOINTS) <= set(captured)
    for endpoint, status in captured.items():
        for body in ({"data": b""}, {"json": {}}):
            answer = splynx_client.post(endpoint, **body)
            assert answer.status_code == status, (endpoint, body, answer.text)
            assert isinstance(answer.json(), list) and all({"field", "message"} <= set(e) for e in answer.json())


def _path_params(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name} - {"id"}


def test_the_loader_checks_the_same_rules_as_the_transformers() -> None:
    """One table of Splynx's rules on our side: the loader's required fields and choices are read from it."""
    for key, tgt in TARGETS.items():
        if key not in FIELDS:
            continue
        rules = {r.name: r for r in FIELDS[key]}
        in_path = _path_params(tgt.collection) if tgt.collection else tgt.params()  # what a create's path carries
        assert set(tgt.required) == {n for n, r in rules.items() if r.required} - in_path, key
        for name, allowed in tgt.choices.items():
            assert allowed == rules[name].choices, (key, name)
