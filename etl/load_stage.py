"""Transform and load one entity of a run, reading its records back from staging.

Why from staging: the extract step has already written every page to Parquet and recorded its
items as `extracted`; loading reads the newest staged version of each item that is not done yet,
so a resumed run picks up exactly where the ledger says it stopped, with memory bounded by a batch.

Secrets are the one thing staging does not hold: just before a batch is transformed, `secrets` (the
run's `etl.secrets.RadiusPasswords`) reads from Sonar the RADIUS passwords the batch's services pair with
and injects them into copies of the records; they exist in memory for that batch only.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from loguru import logger

from etl.config import DEFAULT_DELINQUENT_STATUS, Settings
from etl.errors import RecordError, RecordProblem
from etl.progress import ProgressReporter
from etl.secrets import UNREADABLE_FIX, Unreadable
from etl.staging import read_records
from loaders.splynx import LoadItem, LoadResult, SplynxLoader
from state.ledger import Ledger
from state.states import ItemState
from transformers.context import DEFAULT_ROLE_MAP, TicketLookups, TransformContext
from transformers.payload import SplynxPayload
from transformers.registry import SELF_PARENTS, transform_record
from transformers.validation import SkipRecord

S = ItemState
BATCH = 200
TO_LOAD = frozenset({S.EXTRACTED, S.TRANSFORMED, S.LOADING, S.LOADED})


VOLATILE_FIELDS = frozenset({"password"})
"""Body fields that differ on every transform (a new administrator's random password): not part of a change.

A service's RADIUS password is not volatile but secret: its staged digest (in the source hash) is what
makes a changed password a change."""

EXTRAS = {
    "sonar_mac_extra": "more MAC addresses than DATA services",
    "sonar_ip_extra": "more IPv4 addresses than the one static IPv4 of a Splynx internet service",
}
"""Additional attributes that list what Splynx has no field for (beyond the DATA services, or beyond one
static IPv4): each written one is a warning."""


class SecretSource(Protocol):
    """Puts the secrets staging never holds back into a batch of staged records (`etl.secrets`)."""

    def inject(self, entity: str, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Unreadable]]:
        """Copies of the records with their secrets, and the records whose secret Sonar no longer has."""


UNCHANGED = "unchanged since last run"
"""The reason recorded for a record skipped because Splynx already holds what it would write."""


def effective_hash(
    source_hash: str | None, overrides: Mapping[str, Any] | None, payload: SplynxPayload | None = None
) -> str | None:
    """The hash that decides "unchanged": the Sonar record, the user's overrides, and the Splynx write it gives.

    Why the payload too: a body depends on more than its record (a tariff is offered to every partner
    migrated so far, a customer points at its partner's Splynx id); when that context changes, the same
    Sonar record must be written again, or a pilot run's partial view would stay in Splynx for good.
    """
    if source_hash is None or (not overrides and payload is None):
        return source_hash
    parts = [source_hash, json.dumps(dict(overrides or {}), sort_keys=True, default=str)]
    if payload is not None:
        parts.append(payload_fingerprint(payload))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def payload_fingerprint(payload: SplynxPayload) -> str:
    """Canonical JSON of everything a payload writes and where, less the volatile fields."""

    def part(p: SplynxPayload) -> dict[str, Any]:
        body = {k: v for k, v in p.body.items() if k not in VOLATILE_FIELDS}
        return {"target": p.target, "body": body, "parent": p.parent, "marker": p.marker}

    whole = {**part(payload), "extras": [part(extra) for extra in payload.extras]}
    return json.dumps(whole, sort_keys=True, separators=(",", ":"), default=str)


def transform_context(
    ledger: Ledger,
    settings: Settings,
    missing_id: str | None = None,
    known_roles: frozenset[str] | None = None,
    subdivisions: Mapping[str, str] | None = None,
    customer_labels: Mapping[str, str] | None = None,
    taxes: Mapping[str, str] | None = None,
    history_mode: str = "balance",
    payment_methods: Mapping[str, str] | None = None,
    tickets: TicketLookups | None = None,
) -> TransformContext:
    """The transformers' view of the id map and settings, as of now (`missing_id` stands in for unmapped parents).

    `known_roles` are the roles preflight read from Splynx (None: not read); `subdivisions` its
    states/provinces (`etl.preflight.read_subdivisions`); `customer_labels` its labels by title
    (`etl.preflight.ensure_customer_labels`); `taxes` its tax ids by rate (`etl.preflight.read_taxes`,
    None: not read); `history_mode` the run's (etl/history.py); `payment_methods` Splynx's method id per
    Sonar payment type (`etl.preflight.ensure_payment_methods`, None: not read); `tickets` its ticket
    statuses, groups and type (`etl.preflight.ticket_lookups`, None: not read).
    """
    companies = tuple(sorted({dest for dest, _ in ledger.mapped("company").values()}))
    splynx = settings.raw.get("splynx", {})

    def dest_id(entity: str, source_id: str) -> str | None:
        return ledger.dest_id(entity, source_id) or missing_id

    return TransformContext(
        dest_id=dest_id if missing_id is not None else ledger.dest_id,
        mapped_id=ledger.dest_id,
        status_map=settings.status_map,
        role_map={**DEFAULT_ROLE_MAP, **settings.role_map},
        known_roles=known_roles,
        subdivisions=dict(subdivisions or {}),
        customer_labels=dict(customer_labels or {}),
        taxes=None if taxes is None else dict(taxes),
        default_partner_id=str(splynx.get("partner_id", "1")),
        default_location_id=str(splynx.get("location_id", "1")),
        transaction_category_id=str(splynx.get("transaction_category", "1")),
        tariff_partner_ids=companies,
        delinquent_status=settings.raw.get("mapping", {}).get("delinquent", DEFAULT_DELINQUENT_STATUS),
        history_mode=history_mode,
        payment_methods=None if payment_methods is None else dict(payment_methods),
        tickets=tickets,
    )


@dataclass
class EntityOutcome:
    """What happened to one entity's items in this pass."""

    entity: str
    loaded: int = 0
    skipped: int = 0
    failures: list[tuple[str, RecordProblem]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True if any item failed."""
        return bool(self.failures)

    def count(self, results: list[LoadResult]) -> None:
        """Tally a batch of load results, keeping only the failures (memory stays flat on big runs)."""
        for result in results:
            if result.state == S.FAILED:
                self.failures.append((result.source_id, result.problem or RecordProblem("failed", "failed")))
            else:
                self.loaded += 1


@dataclass
class EntityLoader:
    """Transforms and loads the unfinished items of one entity of one run."""

    ledger: Ledger
    loader: SplynxLoader
    staging_dir: Path
    run_id: int
    context: TransformContext
    progress: ProgressReporter
    workers: int = 4
    stop_on_error: bool = True
    stop: threading.Event = field(default_factory=threading.Event)
    secrets: SecretSource | None = None

    def run(self, entity: str) -> EntityOutcome:
        """Process every unfinished item of `entity`; honours stop-on-error between batches."""
        outcome = EntityOutcome(entity)
        states = self.ledger.item_states(self.run_id, entity)
        todo = {source_id for source_id, state in states.items() if state in TO_LOAD}
        if not todo:
            return outcome
        self.progress.start(entity, f"load {entity}", len(todo))
        mapped = self.ledger.mapped(entity)
        # An item already sent in this run (then failed, e.g. on verification) is never "unchanged":
        # its id map hash describes what we sent, not what Splynx holds.
        for source_id in self.ledger.attempted(self.run_id, entity):
            mapped.pop(source_id, None)
        overrides = self.ledger.all_overrides(entity)
        records = read_records(self.staging_dir, self.run_id, entity, ids=todo)
        for batch in parents_first(records, SELF_PARENTS.get(entity), todo):
            if self.stop.is_set():
                break
            work = []
            for record, digest in self._with_secrets(entity, batch, outcome):
                if self.stop.is_set():
                    break
                item = self._prepare(entity, record, digest, states, mapped, overrides, outcome)
                if item is not None:
                    work.append(item)
            if work:
                results = self.loader.load_many(work, workers=self.workers, stop_on_error=self.stop_on_error)
                outcome.count(results)
            self.progress.advance(entity, len(batch))
            if self.stop_on_error and outcome.failed:
                self.stop.set()
        self.progress.finish(entity)
        return outcome

    def _with_secrets(
        self, entity: str, batch: list[tuple[dict[str, Any], str]], outcome: EntityOutcome
    ) -> list[tuple[dict[str, Any], str]]:
        """The batch with its secrets injected; a record whose secret Sonar no longer has fails (never sent)."""
        if self.secrets is None:
            return batch
        digests = {str(record["id"]): digest for record, digest in batch}
        records, unreadable = self.secrets.inject(entity, [record for record, _ in batch])
        for miss in unreadable:
            problem = RecordProblem(
                "secret_unavailable",
                f"{entity} {miss.record_id}: Sonar returned no current password for RADIUS account "
                f"{miss.radius_id}, so the service is not written without one",
                field="password",
                fix=UNREADABLE_FIX,
            )
            self.ledger.fail(self.run_id, entity, miss.record_id, problem)
            outcome.failures.append((miss.record_id, problem))
            if self.stop_on_error:
                self.stop.set()
        return [(record, digests[str(record["id"])]) for record in records]

    def _note_extras(self, entity: str, source_id: str, payload: SplynxPayload) -> None:
        """A warning event for what Splynx has no field for (kept in an additional attribute, see EXTRAS)."""
        attributes = payload.body.get("additional_attributes") or {}
        for name, what in EXTRAS.items():
            listed = attributes.get(name)
            if listed:
                detail = f"{what}: {listed} kept in {name} (docs/mapping.md)"
                self.ledger.event(self.run_id, detail, entity, source_id)
                logger.warning("{} {}: {}", entity, source_id, detail)

    def _prepare(
        self,
        entity: str,
        record: dict[str, Any],
        digest: str,
        states: Mapping[str, str],
        mapped: Mapping[str, tuple[str, str | None]],
        overrides: Mapping[str, dict[str, Any]],
        outcome: EntityOutcome,
    ) -> LoadItem | None:
        """Decide skip / fail / load for one staged record; returns the work for the loader, if any."""
        source_id = str(record["id"])
        state = ItemState(states[source_id])
        patch = overrides.get(source_id)
        try:
            payload = transform_record(entity, record, self.context, patch)
        except SkipRecord as skip:
            if state == S.EXTRACTED:
                self.ledger.move(self.run_id, entity, source_id, S.SKIPPED, action="skip", detail=skip.reason)
                outcome.skipped += 1
            return None
        except RecordError as exc:
            self.ledger.fail(self.run_id, entity, source_id, exc.problem)
            outcome.failures.append((source_id, exc.problem))
            if self.stop_on_error:
                self.stop.set()
            return None
        digest_now = effective_hash(digest, patch, payload)
        if state == S.EXTRACTED and mapped.get(source_id, ("", None))[1] == digest_now:
            self.ledger.move(
                self.run_id, entity, source_id, S.SKIPPED, action="skip", detail=UNCHANGED
            )
            outcome.skipped += 1
            return None
        if state == S.EXTRACTED:
            self.ledger.move(self.run_id, entity, source_id, S.TRANSFORMED)
        self._note_extras(entity, source_id, payload)
        return LoadItem(self.run_id, entity, source_id, payload, source_hash=digest_now)


def parents_first(
    records: Iterator[tuple[dict[str, Any], str]], parent_field: str | None, todo: set[str]
) -> Iterator[list[tuple[dict[str, Any], str]]]:
    """Batches in which a record never shares a batch with, or precedes, a parent loaded in this pass.

    Why: a child account's `parent_id` is its parent's Splynx id, known only once the parent is loaded.
    Records whose parent is also to load wait (only they are held in memory) and go in waves, parents
    before their children; a parent that failed leaves its children to fail with `missing_parent`.
    """
    if parent_field is None:
        yield from _batches(records, BATCH)
        return
    waiting: list[tuple[dict[str, Any], str]] = []

    def ready(pair: tuple[dict[str, Any], str]) -> bool:
        parent_id = pair[0].get(parent_field)
        return parent_id is None or str(parent_id) not in todo

    for batch in _batches(records, BATCH):
        waiting.extend(pair for pair in batch if not ready(pair))
        now = [pair for pair in batch if ready(pair)]
        if now:
            yield now
    while waiting:
        pending = {str(record["id"]) for record, _ in waiting}
        wave = [pair for pair in waiting if str(pair[0].get(parent_field)) not in pending] or waiting  # or: a cycle
        done = {str(record["id"]) for record, _ in wave}
        waiting = [pair for pair in waiting if str(pair[0]["id"]) not in done]
        yield from _batches(iter(wave), BATCH)


def _batches(records: Iterator[tuple[dict[str, Any], str]], size: int) -> Iterator[list[tuple[dict[str, Any], str]]]:
    while batch := list(islice(records, size)):
        yield batch
