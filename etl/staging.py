"""Parquet staging: every extracted page lands here, with lineage, before anything else uses it.

Layout: `<home>/staging/run=<id>/entity=<name>/part-<n>.parquet`. Each entity has a declared, stable
schema: the scalar columns a person would filter on are typed (ids as strings, as Sonar sends them;
datetimes as UTC timestamps; money as integer cents), nested things are JSON text, `_raw` holds the
whole record as canonical JSON, and `_run_id`, `_extracted_at`, `_source_hash` say where a row came
from. Why declared and not inferred: a page where every `parent_account_id` is null would otherwise
make a column of type null, and DuckDB could not union it with the next page.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from etl.errors import ConfigError

LINEAGE = pa.schema(
    [
        ("_run_id", pa.int64()),
        ("_extracted_at", pa.timestamp("us", tz="UTC")),
        ("_source_hash", pa.string()),
        ("_raw", pa.string()),
    ]
)

_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "ts": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "json": pa.string(),
}

COMMON = "id created_at:ts updated_at:ts _version"

_COLUMNS: dict[str, str] = {
    "company": "name enabled:bool default:bool country isp_type phone_number website_address",
    "role": "name applied_permissions:json",
    "user": "name public_name username email_address enabled:bool super_admin:bool role_id mobile_number "
    "language role:json",
    "account_group": "name",
    "account_status": "name activates_account:bool color",
    "account_type": "name type color icon",
    "custom_field": "name type entity_type required:bool unique:bool enum_options:json",
    "service": "name type application amount:int enabled:bool company_id display_if_zero:bool "
    "data_service_detail:json",
    "package": "name enabled:bool company_id rollup_services:bool package_services:json",
    "supernet": "name subnet largest_cidr_available:int",
    "subnet": "name subnet supernet_id type largest_cidr_available:int polling_priority:int",
    "ip_pool": "name ip_range ips_available:int subnet_id",
    "network_site": "name geopoint height_in_meters:float addresses:json ip_assignments:json",
    "inventory_location": "name default_shipping_location:bool geopoint addresses:json",
    "vehicle": "name manufacturer model year:int",
    "user_stock": "name inventory_items:json",
    "network_site_stock": "name inventory_items:json",
    "manufacturer": "name",
    "vendor": "name archived:bool currency payment_terms addresses:json contacts:json",
    "inventory_model_category": "name icon",
    "inventory_model": "name model_name manufacturer_id inventory_model_category_id default_vendor_id "
    "device_type enabled:bool generic:bool inventory_model_fields:json",
    "inventory_item": "inventory_model_id inventoryitemable_id inventoryitemable_type status account_service_id "
    "parent_inventory_item_id purchase_price:int quantity:int overall_status inventory_model_field_data:json",
    "account": "name account_status_id account_type_id company_id parent_account_id activation_date:date "
    "archived_at:ts geopoint is_delinquent:bool next_bill_date:date next_recurring_charge_amount:int "
    "account_status:json account_type:json company:json account_billing_parameter:json contacts:json "
    "addresses:json account_groups:json custom_field_data:json ip_assignments:json account_services:json",
    "inventory_assignment": "inventoryitemable_id inventoryitemable_type account_service_id inventoryitemable:json "
    "account_service:json",
    "account_package": "account_id package_id unique_package_relationship_id package:json account:json members:json",
    "account_service": "account_id service_id package_id quantity:int name_override price_override:int "
    "next_bill_date:date service:json account:json ip_assignments:json",
    "radius_account": "account_id username account:json ip_assignments:json",
    "ip_assignment": "subnet subnet_id ip_pool_id description ipassignmentable_id ipassignmentable_type "
    "holder:json account:json",
    "account_balance": "account_id balance:int as_of:ts transactions:int opening:int opening_as_of:ts",
    "account_invoice": "account_id date:date due_date:date end_date:date status remaining_due:int total_debits:int "
    "total_taxes:int void:bool message debits:json",
    "account_transaction": "account_id type amount:int tax_total:int datetime:ts description running_balance:int "
    "invoice_id invoiced:bool",
    "account_payment": "account_id amount:int payment_datetime:ts payment_type reference description "
    "successful:bool status",
    "account_note": "message noteable_id noteable_type priority user_id",
    "ticket": "subject description status priority ticketable_id ticketable_type user_id closed_at:ts "
    "ticket_group:json",
    "ticket_reply": "ticket_id body incoming:bool author author_email user_id ticket:json",
    "ticket_comment": "ticket_id body user_id ticket:json",
}

_PART = re.compile(r"part-(\d+)\.parquet$")


def _fields(spec: str) -> list[pa.Field]:
    fields = []
    for token in spec.split():
        name, _, kind = token.partition(":")
        fields.append(pa.field(name, _TYPES[kind or "str"]))
    return fields


def schema_for(entity: str) -> pa.Schema:
    """The declared Parquet schema of an entity: typed columns, then the lineage columns."""
    if entity not in _COLUMNS:
        raise ConfigError(f"no staging schema for entity {entity!r}", fix=f"use one of {', '.join(_COLUMNS)}")
    return pa.schema([*_fields(COMMON), *_fields(_COLUMNS[entity]), *LINEAGE])


def staged_entities() -> tuple[str, ...]:
    """Every entity that has a staging schema."""
    return tuple(_COLUMNS)


def canonical_json(record: Any) -> str:
    """Key-sorted, compact JSON: the same record always gives the same text."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def source_hash(record: Mapping[str, Any]) -> str:
    """A stable sha256 of a record's canonical JSON: equal records, equal hashes, across runs."""
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def _to_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _coerce(value: Any, kind: pa.DataType) -> Any:
    """Bring one JSON value to its column's type (Sonar sends ids and big numbers as strings)."""
    if value is None:
        return None
    if kind == pa.string():
        return value if isinstance(value, str) and not isinstance(value, bool) else canonical_json(value)
    if kind == pa.int64():
        return int(value)
    if kind == pa.float64():
        return float(value)
    if kind == pa.bool_():
        return bool(value)
    if kind == pa.date32():
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return _to_datetime(value)


def to_table(
    entity: str,
    records: Sequence[Mapping[str, Any]],
    hashes: Sequence[str],
    *,
    run_id: int,
    extracted_at: datetime | None = None,
) -> pa.Table:
    """Arrow table of one page, in the entity's declared schema."""
    schema = schema_for(entity)
    stamp = extracted_at or datetime.now(UTC)
    columns: dict[str, list[Any]] = {}
    for field in schema:
        if field.name in LINEAGE.names:
            continue
        columns[field.name] = [_coerce(r.get(field.name), field.type) for r in records]
    columns["_run_id"] = [run_id] * len(records)
    columns["_extracted_at"] = [stamp] * len(records)
    columns["_source_hash"] = list(hashes)
    columns["_raw"] = [canonical_json(r) for r in records]
    return pa.table(columns, schema=schema)


def run_dir(staging_dir: Path, run_id: int) -> Path:
    """`<staging>/run=<id>`."""
    return staging_dir / f"run={run_id}"


def entity_dir(staging_dir: Path, run_id: int, entity: str) -> Path:
    """`<staging>/run=<id>/entity=<name>`."""
    return run_dir(staging_dir, run_id) / f"entity={entity}"


class StagingWriter:
    """Writes pages of one run as numbered Parquet parts (zstd), one file per page.

    A part is written to a temporary name and renamed, so a crash never leaves half a part that
    a later reader would choke on. Part numbers continue after existing parts, so a resumed or
    re-extracting run adds parts instead of overwriting what is already staged.
    """

    def __init__(self, staging_dir: Path, run_id: int) -> None:
        self.staging_dir = Path(staging_dir)
        self.run_id = run_id
        self._next: dict[str, int] = {}

    def _next_part(self, entity: str, folder: Path) -> int:
        if entity not in self._next:
            numbers = [int(m.group(1)) for p in folder.glob("part-*.parquet") if (m := _PART.search(p.name))]
            self._next[entity] = max(numbers, default=-1) + 1
        number = self._next[entity]
        self._next[entity] = number + 1
        return number

    def write(
        self,
        entity: str,
        records: Sequence[Mapping[str, Any]],
        hashes: Sequence[str] | None = None,
        *,
        extracted_at: datetime | None = None,
    ) -> Path | None:
        """Stage one page; returns the part's path (None for an empty page, which writes nothing)."""
        if not records:
            return None
        hashes = list(hashes) if hashes is not None else [source_hash(r) for r in records]
        table = to_table(entity, records, hashes, run_id=self.run_id, extracted_at=extracted_at)
        folder = entity_dir(self.staging_dir, self.run_id, entity)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"part-{self._next_part(entity, folder):06d}.parquet"
            temporary = path.with_suffix(".parquet.tmp")
            pq.write_table(table, temporary, compression="zstd")
            os.replace(temporary, path)
        except OSError as exc:
            raise ConfigError(
                f"cannot write staging file under {folder}: {exc.strerror}",
                fix="check free space and permissions of the workspace (--home)",
            ) from exc
        return path


def part_files(staging_dir: Path, run_id: int, entity: str) -> list[Path]:
    """An entity's parts of one run, in write order."""
    folder = entity_dir(staging_dir, run_id, entity)
    return sorted(folder.glob("part-*.parquet"))


def read_records(
    staging_dir: Path, run_id: int, entity: str, ids: Iterable[str] | None = None
) -> Iterator[tuple[dict[str, Any], str]]:
    """Staged records of a run as (record, source_hash), newest version of each id once.

    Why newest first: a re-extracted record (resume) is staged again in a later part; readers must
    see that version, not the stale one. Reads one part at a time, so memory follows the part size.
    """
    wanted = {str(i) for i in ids} if ids is not None else None
    seen: set[str] = set()
    for path in reversed(part_files(staging_dir, run_id, entity)):
        table = pq.read_table(path, columns=["id", "_raw", "_source_hash"])
        for record_id, raw, digest in zip(
            table.column("id").to_pylist(),
            table.column("_raw").to_pylist(),
            table.column("_source_hash").to_pylist(),
            strict=True,
        ):
            if record_id in seen or (wanted is not None and record_id not in wanted):
                continue
            seen.add(record_id)
            yield json.loads(raw), digest


__all__ = [
    "StagingWriter",
    "canonical_json",
    "entity_dir",
    "part_files",
    "read_records",
    "run_dir",
    "schema_for",
    "source_hash",
    "staged_entities",
    "to_table",
]
