"""`etl plan`: what a run would create, update, skip or find deleted, without writing anything.

Why it reads Sonar for real: a plan from the ledger alone would miss what changed at the source;
it compares each record's hash (plus the user's overrides) with the id map, and runs the
transformers so that records Splynx would refuse are counted as `invalid` before any write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from etl.config import Settings
from etl.errors import EtlError, RecordError
from etl.history import HistoryWindow
from etl.load_stage import UNCHANGED, effective_hash, transform_context
from etl.phases import Phase
from etl.preflight import (
    DEFAULT_PAYMENT_METHODS,
    DEFAULT_TICKET_STATUSES,
    read_customer_labels,
    read_subdivisions,
    read_taxes,
)
from etl.selection import Selection
from etl.staging import source_hash
from extractors.sonar import Page, SonarExtractor, extract
from loaders.splynx_client import SplynxClient
from loaders.splynx_targets import target
from state.ledger import Ledger
from transformers.context import TicketLookups
from transformers.registry import transform_record
from transformers.validation import SkipRecord

PLACEHOLDER_ID = "0"


SplynxLookups = tuple[dict[str, str], dict[str, str], dict[str, str] | None]


def splynx_lookups(settings: Settings, entities: Sequence[str]) -> SplynxLookups:
    """(states/provinces, customer labels, taxes) read from Splynx, so a plan transforms as a run would.

    Read only: a label a run would create is missing here, so its customers count as an update. Without
    Splynx settings, or when Splynx cannot be read, the first two are empty (customers with a state or a
    group then count as an update too) and taxes None (tariffs are planned without tax_id). Each is read
    only when the plan covers its entity (account, service).
    """
    if not (settings.splynx_url and settings.splynx_key and settings.splynx_secret):
        return {}, {}, None
    client = SplynxClient(settings.splynx_url, settings.splynx_key.reveal(), settings.splynx_secret.reveal())
    found: list[dict[str, str]] = []
    taxes: dict[str, str] | None = None
    try:
        for read in (read_subdivisions, read_customer_labels) if "account" in entities else ():
            try:
                found.append(read(client))
            except EtlError:
                found.append({})
        if "service" in entities:
            try:
                taxes = read_taxes(client)
            except EtlError:
                taxes = None
    finally:
        client.close()
    return (found[0], found[1], taxes) if found else ({}, {}, taxes)


@dataclass
class Plan:
    """What a run would do: per entity, counts by action; and per entity, the skips counted by reason."""

    counts: dict[str, Counter[str]]
    skip_reasons: dict[str, Counter[str]] = field(default_factory=dict)


def plan(settings: Settings, ledger: Ledger, selection: Selection, phases: Sequence[Phase]) -> Plan:
    """Count, per entity, what a run of `selection` would do, and why it would skip what it skips.

    The history follows etl.toml's `[history]` (mode and window); a payment's method counts as found (a run
    creates the Splynx methods it lacks by name), and so do a ticket's status and type (a run reads them first
    and stops, naming them, when Splynx lacks one).
    """
    window = HistoryWindow.parse(settings.history_mode, settings.history_since)
    entities = window.select(phases)
    mapped = {e: ledger.mapped(e) for e in entities}
    overrides = {e: ledger.all_overrides(e) for e in entities}
    subdivisions, labels, taxes = splynx_lookups(settings, entities)
    context = transform_context(
        ledger, settings, missing_id=PLACEHOLDER_ID, subdivisions=subdivisions, customer_labels=labels, taxes=taxes,
        history_mode=window.mode, payment_methods=dict.fromkeys(DEFAULT_PAYMENT_METHODS, PLACEHOLDER_ID),
        tickets=TicketLookups(dict.fromkeys(DEFAULT_TICKET_STATUSES, PLACEHOLDER_ID), {}, PLACEHOLDER_ID),
    )  # fmt: skip
    result: dict[str, Counter[str]] = {e: Counter() for e in entities}
    reasons: dict[str, Counter[str]] = {}

    def skip(entity: str, reason: str) -> None:
        result[entity]["skip"] += 1
        reasons.setdefault(entity, Counter())[reason] += 1

    def count(page: Page) -> None:
        for record in page.records:
            source_id = str(record["id"])
            patch = overrides[page.entity].get(source_id)
            known = mapped[page.entity].get(source_id)
            try:
                payload = transform_record(page.entity, record, context, patch)
            except SkipRecord as skipped:
                skip(page.entity, skipped.reason)
                continue
            except RecordError:  # Splynx would refuse it, or the transformer failed on it
                result[page.entity]["invalid"] += 1
                continue
            if known is not None and known[1] == effective_hash(source_hash(record), patch, payload):
                skip(page.entity, UNCHANGED)
                continue
            result[page.entity]["update" if known or target(payload.target).put_only else "create"] += 1

    with SonarExtractor.from_settings(settings) as extractor:
        extractor.history_since = window.since
        extract(extractor, selection, count, entities=entities)
        if Phase.CUSTOMERS in phases and selection.is_everything:
            present = set(extractor.scan_ids("account", include_archived=False))
            result["account"]["delete"] = len(set(mapped["account"]) - present)
    return Plan(result, reasons)
