"""The migration: extract a selection into staging, then transform and load it phase by phase.

Why two stages (as dlt does): extraction writes every page to Parquet and the ledger before any
of it is used, so loading can stop, crash or be resumed without asking Sonar again for what it
already gave; and a customer selection can name the parents it needs before any parent is loaded.
A resume continues the same run: it re-extracts what failed or never finished, and loads only what
the ledger says is not done.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from loguru import logger

from etl.config import Settings
from etl.errors import ConfigError, EtlError
from etl.history import BALANCE, FULL, MONEY_ENTITIES, HistoryWindow
from etl.load_stage import EntityLoader, EntityOutcome, transform_context
from etl.phases import PHASE_ENTITIES, Phase, parse_phases
from etl.preflight import (
    check_roles,
    check_sonar,
    check_splynx,
    ensure_additional_fields,
    ensure_customer_labels,
    ensure_payment_methods,
    read_subdivisions,
    read_taxes,
    require_settings,
    role_map,
    ticket_lookups,
)
from etl.progress import ProgressReporter
from etl.report import Failure, failures
from etl.runlock import Heartbeat, migration_lock
from etl.secrets import RadiusPasswords
from etl.selection import Selection
from etl.staging import StagingWriter
from extractors.sonar import Page, PageRecorder, SonarExtractor, expected_totals, extract
from loaders.splynx import SplynxLoader
from loaders.splynx_client import SplynxClient
from state.ledger import Ledger
from state.models import Run
from state.states import DONE_STATES, ItemState, RunStatus
from transformers.context import TicketLookups, TransformContext
from transformers.registry import additional_field_definitions

S = ItemState
WATERMARK_OVERLAP = timedelta(minutes=10)
CUSTOMER_ENTITIES = tuple(e for e in PHASE_ENTITIES[Phase.CUSTOMERS] if e != "inventory_assignment")
"""What an incremental run reads for the accounts changed since the watermark only. Not an item's
assignment: an item moves to another account (a new `updated_at` on the item) while neither account
changes, so assignments are read in full, like the inventory, and the unchanged ones skipped."""
WATERMARKED: dict[str, Phase] = {
    **dict.fromkeys(CUSTOMER_ENTITIES, Phase.CUSTOMERS),
    **dict.fromkeys(PHASE_ENTITIES[Phase.HISTORY], Phase.HISTORY),
}
"""Entity -> the phase whose last full run is its watermark. Histories follow their accounts (the changed
ones are re-read), but from the last full run that carried the history in the same mode and window: the
first history run after the customers' reads every account's."""


@dataclass(frozen=True)
class RunOptions:
    """How to run, as opposed to what to migrate (that is the Selection)."""

    phases: tuple[Phase, ...] = tuple(Phase)
    stop_on_error: bool = True
    workers: int = 4
    rate: float | None = None
    sync_deletes: bool = False
    full: bool = False
    verify: bool = True
    history: str = BALANCE  # the history mode (etl/history.py): balances only, or every transaction
    history_since: str | None = None  # the full history's first day (ISO date); None: all of it

    def __post_init__(self) -> None:
        self.window  # noqa: B018 - a bad history mode or date is refused before anything is opened

    @property
    def window(self) -> HistoryWindow:
        """The history mode and window, checked (ConfigError on a bad mode or date)."""
        return HistoryWindow.parse(self.history, self.history_since)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, as stored in `run.options`."""
        data = asdict(self)
        data["phases"] = [p.value for p in self.phases]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], **changes: Any) -> RunOptions:
        """Rebuild stored options (for a resume), with some changed (workers, rate, error policy)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["phases"] = parse_phases(known.get("phases"))
        known.update({k: v for k, v in changes.items() if v is not None})
        return cls(**known)


@dataclass
class RunOutcome:
    """What a run or resume did, for the CLI's summary and the demo."""

    run_id: int
    status: RunStatus
    counts: dict[str, dict[str, int]]
    failures: list[Failure]
    deleted_in_sonar: list[str] = field(default_factory=list)
    message: str = ""


@dataclass
class Migration:
    """Drives one run (or its resume) through extract → transform → load → verify."""

    settings: Settings
    ledger: Ledger
    extractor: SonarExtractor
    loader: SplynxLoader
    progress: ProgressReporter
    known_roles: frozenset[str] | None = None  # the roles Splynx has, read at preflight
    subdivisions: dict[str, str] | None = None  # Splynx's states/provinces, read at preflight
    customer_labels: dict[str, str] | None = None  # a Splynx label per Sonar account group, made before loading
    taxes: dict[str, str] | None = None  # Splynx's tax ids by rate, read at preflight (None: not read)
    history_mode: str = BALANCE  # the run's history mode, for the opening balance's transformer
    payment_methods: dict[str, str] | None = None  # Splynx payment method id per Sonar payment type
    tickets: TicketLookups | None = None  # Splynx's ticket statuses, groups and type, read before tickets load

    # --- public entry points -------------------------------------------------------------------

    def run(self, selection: Selection, options: RunOptions) -> RunOutcome:
        """Start a new run of `selection`; a later run only migrates what is new or changed.

        An earlier run that was interrupted (killed, Ctrl-C) is finished first, as `etl resume` would:
        its records may be half-written in Splynx, and only its own checkpoints say which.
        """
        with migration_lock(self.settings.home, ledger=self.ledger):
            self.preflight(options)
            finished_first: list[int] = []
            unfinished = self._finish_interrupted(options, finished_first)
            if unfinished is not None:
                return unfinished
            self.refuse_history_switch(options)
            incremental = selection.is_everything and not options.full
            watermark = self.watermark() if incremental else None
            history_watermark = self.watermark(Phase.HISTORY, options.window) if incremental else None
            stored = {
                **selection.to_json(),
                "watermark": watermark.isoformat() if watermark else None,
                "history_watermark": history_watermark.isoformat() if history_watermark else None,
                "workspace": f"{socket.gethostname()}:{self.settings.home.resolve()}",
            }
            run_id = self.ledger.start_run("migrate", selection=stored, options=options.to_json())
            self.progress.log(f"run {run_id} started")
            outcome = self._guarded(run_id, selection, options, resuming=False)
            if finished_first:
                outcome.message = f"finished interrupted run {', '.join(map(str, finished_first))} first; " + (
                    outcome.message
                )
            return outcome

    def resume(self, run_id: int, **changes: Any) -> RunOutcome:
        """Continue a failed or interrupted run; a finished run has nothing left and writes nothing."""
        run = self.ledger.get_run(run_id)
        if run.kind != "migrate":
            raise EtlError(f"run {run_id} is a {run.kind} run, not a migration", fix="pass a migration run id")
        if run.status in (RunStatus.SUCCEEDED, RunStatus.ROLLED_BACK):
            return self._outcome(run_id, RunStatus(run.status), f"run {run_id} is {run.status}: nothing to resume")
        with migration_lock(self.settings.home, ledger=self.ledger):
            options = RunOptions.from_json(stored_options(run), **changes)
            self.preflight(options)
            return self._resume_locked(run_id, options)

    def _resume_locked(self, run_id: int, options: RunOptions) -> RunOutcome:
        self._require_staging(run_id)
        self.ledger.set_run_status(run_id, RunStatus.RUNNING)
        self.progress.log(f"resuming run {run_id}")
        run = self.ledger.get_run(run_id)
        return self._guarded(run_id, Selection.from_json(stored_selection(run)), options, resuming=True)

    def _require_staging(self, run_id: int) -> None:
        """Refuse to resume a run staged in another workspace: its records are there, not here."""
        if (self.settings.staging_dir / f"run={run_id}").is_dir() or not self.ledger.counts(run_id):
            return
        where = stored_selection(self.ledger.get_run(run_id)).get("workspace") or "another workspace"
        raise ConfigError(
            f"run {run_id} was staged in {where}, not in this workspace ({self.settings.home})",
            fix=f"resume it from that workspace (--home or ETL_HOME), or `etl rollback {run_id}` from there",
        )

    def _finish_interrupted(self, options: RunOptions, finished: list[int]) -> RunOutcome | None:
        """Resume every interrupted migration, oldest first; the outcome of the first that does not finish."""
        interrupted = [r for r in self.ledger.runs(kind="migrate", limit=200) if r.status == RunStatus.INTERRUPTED]
        for run in sorted(interrupted, key=lambda r: r.id or 0):
            run_id = run.id or 0
            self.progress.log(f"run {run_id} was interrupted: finishing it first, as `etl resume {run_id}` would")
            self.ledger.event(run_id, "resumed by a new `etl run` before it starts")
            changes = {"workers": options.workers, "rate": options.rate, "stop_on_error": options.stop_on_error}
            outcome = self._resume_locked(run_id, RunOptions.from_json(stored_options(run), **changes))
            if outcome.status != RunStatus.SUCCEEDED:
                outcome.message = (
                    f"run {run_id} was interrupted and is still unfinished, so the new run did not start: "
                    f"{outcome.message}"
                )
                return outcome
            finished.append(run_id)
        return None

    def preflight(self, options: RunOptions) -> None:
        """Connectivity and permissions before anything is written."""
        require_settings(self.settings)
        check_sonar(self.extractor)
        check_splynx(self.loader.client, self.entities(options))
        if "user" in self.entities(options):
            self.known_roles = check_roles(self.loader.client, role_map(self.settings.role_map))
        if "account" in self.entities(options):
            self.subdivisions = read_subdivisions(self.loader.client)
        if "service" in self.entities(options):
            self.taxes = read_taxes(self.loader.client)

    def watermark(self, phase: Phase = Phase.CUSTOMERS, window: HistoryWindow | None = None) -> Any:
        """Start of the last successful full run of a phase, less a safety overlap: the incremental `since`.

        A full run of other phases only (`--all --phases foundation`) brought no customers over, so it
        must not hide every unchanged customer from the next run; for the history, only a run that
        carried it in the same mode and window counts.
        """
        for run in self.ledger.runs(kind="migrate", limit=200):
            selection = stored_selection(run)
            options = RunOptions.from_json(stored_options(run))
            if phase not in options.phases or (window is not None and options.window != window):
                continue
            if run.status == RunStatus.SUCCEEDED and Selection.from_json(selection).is_everything:
                return run.started_at - WATERMARK_OVERLAP
        return None

    def refuse_history_switch(self, options: RunOptions) -> None:
        """Refuse a history mode or window that would count what Splynx already holds twice (etl/history.py)."""
        if Phase.HISTORY not in options.phases:
            return
        last = self.ledger.last_mapping_run(MONEY_ENTITIES[FULL])  # notes hold no money: any mode keeps them
        if last is not None:
            earlier = RunOptions.from_json(stored_options(self.ledger.get_run(last))).window
            options.window.refuse_switch_from(earlier, last)

    @staticmethod
    def entities(options: RunOptions) -> list[str]:
        """Entities of the selected phases, in dependency order (the history's: those of its mode)."""
        return options.window.select(options.phases)

    # --- the run itself ------------------------------------------------------------------------

    def _guarded(self, run_id: int, selection: Selection, options: RunOptions, *, resuming: bool) -> RunOutcome:
        """Run, and whatever happens leave the run closed with a status that says what to do next."""
        try:
            with Heartbeat(self.ledger, run_id), self.progress:
                return self._execute(run_id, selection, options, resuming=resuming)
        except KeyboardInterrupt:
            self.ledger.finish_run(run_id, RunStatus.INTERRUPTED, "interrupted; `etl resume` continues it")
            raise
        except EtlError as exc:
            self.ledger.finish_run(run_id, RunStatus.FAILED, exc.one_line())
            raise
        except Exception as exc:
            self.ledger.finish_run(run_id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            raise

    def _execute(self, run_id: int, selection: Selection, options: RunOptions, *, resuming: bool) -> RunOutcome:
        entities = self.entities(options)
        self.extractor.history_since = options.window.since
        self.history_mode = options.window.mode
        if "account_payment" in entities:
            self.payment_methods = ensure_payment_methods(self.loader.client, self.settings.payment_methods)
        if "ticket" in entities:
            self.tickets = ticket_lookups(self.loader.client, self.settings)
        created = ensure_additional_fields(self.loader.client, additional_field_definitions())
        if created:
            self.ledger.event(run_id, f"created {created} additional-field definitions in Splynx")
        if "account" in entities:
            groups = [str(r.get("name") or "") for page in self.extractor.pages("account_group") for r in page.records]
            self.customer_labels = ensure_customer_labels(self.loader.client, groups)
        self._extract(run_id, selection, options, entities, resuming=resuming)
        outcomes = self._load(run_id, options, entities)
        deleted = self._deletes(run_id, selection, options) if not any(o.failed for o in outcomes) else []
        return self._close(run_id, deleted)

    def _extract(
        self, run_id: int, selection: Selection, options: RunOptions, entities: list[str], *, resuming: bool
    ) -> None:
        """Stage the selection (or, on resume, what failed and what was never fully extracted)."""
        recorder = PageRecorder(self.ledger, StagingWriter(self.settings.staging_dir, run_id), run_id)
        done = self.ledger.completed(run_id, "extract")
        if resuming:
            self._reextract_unfinished(run_id, recorder, [e for e in entities if e in done])
        missing = [e for e in entities if e not in done]
        if not missing:
            return
        plan = list(self._extraction_plan(run_id, selection, missing))
        for part, part_entities in plan:
            for entity, total in expected_totals(self.extractor, part, part_entities).items():
                self.progress.start(f"extract:{entity}", f"extract {entity}", total)

        def sink(page: Page) -> None:
            recorder(page)
            self.progress.advance(f"extract:{page.entity}", len(page.records))

        for part, part_entities in plan:
            extract(self.extractor, part, sink, entities=part_entities, on_missing=recorder.missing)
        for entity in missing:
            self.ledger.mark_complete(run_id, entity, "extract")
            self.progress.finish(f"extract:{entity}")

    def _extraction_plan(
        self, run_id: int, selection: Selection, entities: Sequence[str]
    ) -> Iterator[tuple[Selection, list[str]]]:
        """Which selection each group of entities is extracted with (watermarks: customers and histories only)."""
        stored = stored_selection(self.ledger.get_run(run_id))
        watermarks = {Phase.CUSTOMERS: stored.get("watermark"), Phase.HISTORY: stored.get("history_watermark")}
        if not selection.is_everything:
            yield selection, list(entities)
            return
        groups: dict[str | None, list[str]] = {}
        for entity in entities:
            phase = WATERMARKED.get(entity)
            groups.setdefault(None if phase is None else watermarks[phase], []).append(entity)
        for watermark, group in groups.items():  # in entity order: parents first
            yield (selection if watermark is None else Selection.from_json({**selection.to_json(), "since": watermark}),
                   group)  # fmt: skip

    def _reextract_unfinished(self, run_id: int, recorder: PageRecorder, entities: list[str]) -> None:
        """Fetch again, by id, every failed or unfinished item: the fix may have been made in Sonar."""
        for entity in entities:
            states = self.ledger.item_states(run_id, entity)
            again = [i for i, s in states.items() if s in (S.FAILED, S.PENDING)]
            for page in self.extractor.fetch_by_ids(entity, again):
                recorder(page)

    def _load(self, run_id: int, options: RunOptions, entities: list[str]) -> list[EntityOutcome]:
        """Transform and load entity by entity, parents first; stop-on-error ends at the first failure."""
        stage = EntityLoader(
            ledger=self.ledger,
            loader=self.loader,
            staging_dir=self.settings.staging_dir,
            run_id=run_id,
            context=self.context(),
            progress=self.progress,
            workers=options.workers,
            stop_on_error=options.stop_on_error,
            secrets=RadiusPasswords(self.extractor),
        )
        outcomes = []
        for entity in entities:
            if entity in ("service", "package", "account_service", "radius_account"):
                stage.context = self.context()  # services and tariffs reference what was just loaded
            outcomes.append(stage.run(entity))
            if stage.stop.is_set():
                break
        return outcomes

    def context(self) -> TransformContext:
        """The transformers' view of the id map and settings, as of now."""
        return transform_context(
            self.ledger,
            self.settings,
            known_roles=self.known_roles,
            subdivisions=self.subdivisions,
            customer_labels=self.customer_labels,
            taxes=self.taxes,
            history_mode=self.history_mode,
            payment_methods=self.payment_methods,
            tickets=self.tickets,
        )

    def _deletes(self, run_id: int, selection: Selection, options: RunOptions) -> list[str]:
        """Accounts migrated earlier that Sonar no longer lists: reported, and disabled if asked."""
        if Phase.CUSTOMERS not in options.phases or not selection.is_everything:
            return []
        present = set(self.extractor.scan_ids("account", include_archived=False))
        gone = sorted(set(self.ledger.mapped("account")) - present, key=lambda i: (len(i), i))
        for source_id in gone:
            dest_id = self.ledger.dest_id("account", source_id)
            if options.sync_deletes and dest_id:
                self.loader.client.update(f"admin/customers/customer/{dest_id}", {"status": "disabled"})
                self.ledger.event(run_id, f"gone from Sonar: Splynx customer {dest_id} disabled", "account", source_id)
            else:
                self.ledger.event(
                    run_id, f"gone from Sonar (Splynx customer {dest_id} left as is)", "account", source_id
                )
        return gone

    def _close(self, run_id: int, deleted: list[str]) -> RunOutcome:
        counts = self.ledger.counts(run_id)
        unfinished = sum(n for per in counts.values() for s, n in per.items() if s not in DONE_STATES)
        if unfinished:
            found = failures(self.ledger, run_id)
            message = f"{unfinished} item(s) not migrated"
            if found:
                first = found[0]
                subject = f"{first.entity} {first.source_id}"
                error = first.error or "failed"
                message += f"; first failure: {error if error.startswith(subject) else f'{subject}: {error}'}"
            self.ledger.finish_run(run_id, RunStatus.FAILED, message)
            return self._outcome(run_id, RunStatus.FAILED, message, deleted)
        total = sum(sum(per.values()) for per in counts.values())
        message = f"{total} item(s) done" + (f"; {len(deleted)} account(s) gone from Sonar" if deleted else "")
        self.ledger.finish_run(run_id, RunStatus.SUCCEEDED, message)
        return self._outcome(run_id, RunStatus.SUCCEEDED, message, deleted)

    def _outcome(self, run_id: int, status: RunStatus, message: str, deleted: list[str] | None = None) -> RunOutcome:
        return RunOutcome(
            run_id, status, self.ledger.counts(run_id), failures(self.ledger, run_id), deleted or [], message
        )


def stored_selection(run: Run) -> dict[str, Any]:
    """A run's stored selection as a dict."""
    return dict(json.loads(run.selection or "{}"))


def stored_options(run: Run) -> dict[str, Any]:
    """A run's stored options as a dict."""
    return dict(json.loads(run.options or "{}"))


@contextmanager
def open_migration(
    settings: Settings, ledger: Ledger, *, rate: float | None, workers: int, quiet: bool, verify: bool = True
) -> Iterator[Migration]:
    """Build the extractor, Splynx client and loader from settings, and close them afterwards."""
    require_settings(settings)
    assert settings.splynx_url and settings.splynx_key and settings.splynx_secret
    client = SplynxClient(
        settings.splynx_url,
        settings.splynx_key.reveal(),
        settings.splynx_secret.reveal(),
        rate_per_s=rate,
        max_concurrency=max(workers, 1) * 2,
        settle_s=settings.splynx_settle_s,
    )
    extractor = SonarExtractor.from_settings(settings)
    try:
        loader = SplynxLoader(client, ledger, verify=verify)
        yield Migration(settings, ledger, extractor, loader, ProgressReporter(quiet=quiet))
    finally:
        extractor.close()
        client.close()
        logger.debug("migration closed")
