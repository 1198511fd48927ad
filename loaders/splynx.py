"""Load Splynx payloads under the write-ahead rule, so that `kill -9` at any instant is safe.

For one item (see /work/shared/DESIGN.md, "The write-ahead rule"):

1. validate locally (required fields, formats, references, also checked against Splynx) — nothing is
   written for a record that is wrong;
2. commit `loading` with the request about to be sent;
3. POST if `id_map` does not know the record, PUT (update in place) if it does;
4. commit the id in `id_map` at once, do the follow-up writes (customer info, billing), commit `loaded`;
5. read the record back and compare what we wrote; commit `verified`, or fail it naming the field.

An item found in `loading` (a crash), or failed with an uncertain write, is first looked up in Splynx by
its migration marker (`additional_attributes[sonar_id]`) and adopted if it is there. A POST that lost its
answer (`UncertainWrite`) is resolved the same way at once. The marker definition is `is_unique`, so even
a run that lost its ledger cannot create a second copy: Splynx refuses it and we adopt the first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from etl.errors import ConnectionFailure, LedgerError, RecordError, RecordProblem, RetryableError
from loaders.splynx_client import NotFound, SplynxClient, UncertainWrite, ValidationRefused
from loaders.splynx_targets import FORMAT_CHECKS, MARKER_FIELD, MARKER_MODULES, Target, target
from loaders.splynx_verify import differences, same
from state.ledger import Ledger
from state.models import Item
from state.states import ItemState
from transformers.payload import SplynxPayload
from transformers.records import marker_in_text
from transformers.validation import is_secret

S = ItemState
Step = Callable[[str, "LoadItem"], None]


@dataclass(frozen=True)
class LoadItem:
    """One ledger item and the payload to write for it.

    Attributes:
        parent_refs: path parameters still to resolve through `id_map` just before loading, e.g.
            ``{"customer_id": ("account", "17")}`` for a service whose customer loads in the same run.
    """

    run_id: int
    entity: str
    source_id: str
    payload: SplynxPayload
    source_hash: str | None = None
    parent_refs: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadResult:
    """Where one item ended: its state, Splynx id, what was done, and the problem if it failed."""

    entity: str
    source_id: str
    state: ItemState
    dest_id: str | None = None
    action: str | None = None
    problem: RecordProblem | None = None


class LoadStats:
    """Time spent in the ledger versus in total, across threads, for the benchmark's ledger share."""

    def __init__(self) -> None:
        self.ledger_s = 0.0
        self.item_s = 0.0
        self.items = 0
        self._lock = threading.Lock()

    @contextmanager
    def ledger(self) -> Iterator[None]:
        """Count the wrapped block as ledger time."""
        start = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.ledger_s += time.perf_counter() - start

    def add_item(self, seconds: float) -> None:
        """Count one finished item and its wall time."""
        with self._lock:
            self.item_s += seconds
            self.items += 1

    @property
    def ledger_share(self) -> float:
        """Fraction of per-item time spent in the ledger."""
        return self.ledger_s / self.item_s if self.item_s else 0.0


class SplynxLoader:
    """Writes payloads to Splynx through a `SplynxClient`, checkpointing every step in the ledger.

    Args:
        client: the shared client (its rate limiter and concurrency bound apply to all workers).
        ledger: the ledger the items live in.
        verify: read each record back after writing it.
        on_step: called at named points (`before_write`, `after_write`, `after_map`, `after_loaded`);
            the crash tests use it to stop a loader inside each window.
        check_references: check each referenced id exists in Splynx before writing (cached).
    """

    def __init__(
        self,
        client: SplynxClient,
        ledger: Ledger,
        *,
        verify: bool = True,
        on_step: Step | None = None,
        check_references: bool = True,
        stats: LoadStats | None = None,
        post_attempts: int = 3,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.verify = verify
        self.on_step = on_step
        self.check_references = check_references
        self.stats = stats or LoadStats()
        self.post_attempts = post_attempts
        self._known: set[tuple[str, str]] = set()
        self._snapshot: dict[tuple[str, int, str, str], Any] = {}
        self._known_lock = threading.Lock()
        self._looked_up: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    # -- setup and rollback ------------------------------------------------------------------------

    def ensure_marker_fields(self, modules: Iterable[str] | None = None) -> list[str]:
        """Create the `sonar_id` additional field on each module (idempotent); returns those created."""
        created = []
        for module in modules if modules is not None else MARKER_MODULES:
            path = f"admin/config/additional-fields/{module}"
            try:
                self.client.get(f"{path}--{MARKER_FIELD}")
                continue
            except NotFound:
                pass
            try:
                create_by_name(self.client, path, _marker_definition())
                created.append(module)
            except ValidationRefused as exc:  # already there? Only a read says so (not the 422's wording)
                if not _refused_on(exc, "name") or not self._exists(f"{path}--{MARKER_FIELD}"):
                    raise
        return created

    def _exists(self, path: str) -> bool:
        """Whether Splynx has a record at `path` now."""
        try:
            self.client.get(path)
        except NotFound:
            return False
        return True

    def delete(self, target_key: str, dest_id: str, parent: Mapping[str, str] | None = None) -> bool:
        """Delete one record for rollback; True if deleted now, False if it was already gone."""
        return self.client.delete(target(target_key).item_path(dest_id, parent or {}))

    def undo(self, target_key: str, parent: Mapping[str, str]) -> bool:
        """PUT a put-only record back to its target's undo body for rollback; False if Splynx has no such record."""
        tgt = target(target_key)
        try:
            self.client.update(self.put_only_path(tgt, parent), dict(tgt.undo or {}))
        except (NotFound, RecordError):  # the record, or the one its path names, is gone
            return False
        return True

    def put_only_path(self, tgt: Target, parent: Mapping[str, str]) -> str:
        """The path of a put-only record, with an id Splynx wants and we know by value looked up first."""
        lookup = tgt.lookup
        if lookup is None:
            return tgt.item_path(None, parent)
        key = (tgt.key, tuple(sorted(parent.items())))
        found = self._looked_up.get(key)
        if found is None:
            wanted = {attribute: str(parent[name]) for attribute, name in lookup.match.items()}
            rows = self.client.list(lookup.collection, main=wanted)  # matched here too: a filter may be ignored
            ids = [r["id"] for r in rows if all(str(r.get(a)) == v for a, v in wanted.items())]
            if not ids:
                where = ", ".join(f"{a} {v}" for a, v in wanted.items())
                raise _invalid(
                    "lookup_missing",
                    f"Splynx has no {tgt.key} record with {where}",
                    lookup.param,
                    parent.get(lookup.param),
                    "check that network in Splynx (an endnet holds a record per address), then resume",
                )
            found = self._looked_up[key] = min(ids, key=_id_order)
        return tgt.item_path(None, {**parent, lookup.param: found})

    def find_by_marker(self, payload: SplynxPayload) -> str | None:
        """The id of the record carrying this payload's marker, or None."""
        tgt = target(payload.target)
        if tgt.put_only:
            return None
        if tgt.marker_in is not None:
            return self._find_by_text_marker(tgt, tgt.marker_in, payload)
        if tgt.natural_key:
            return self._find_by_natural_key(tgt, payload)
        if tgt.module is None:
            return self._find_by_name(tgt, payload)
        rows = self.client.list(tgt.collection_path(payload.parent), additional={MARKER_FIELD: payload.marker})
        rows = [r for r in rows if (r.get("additional_attributes") or {}).get(MARKER_FIELD) == payload.marker]
        return min((r["id"] for r in rows), key=_id_order) if rows else None

    def _find_by_text_marker(self, tgt: Target, field_name: str, payload: SplynxPayload) -> str | None:
        """Records whose marker is in a text field (network sites, comments): list them, match the marker here.

        Why not a LIKE search: whether Splynx filters on that field is unknown; the list is short (sites), or
        searched by the record's owner (`marker_scope`: a customer's comments).
        """
        marked = payload.marker
        return self._find_listed(tgt, payload, lambda r: marker_in_text(r.get(field_name), MARKER_FIELD) == marked)

    def _find_by_natural_key(self, tgt: Target, payload: SplynxPayload) -> str | None:
        """A record that carries no marker (a ticket message): its owner's record holding the same key values."""
        key = {name: payload.body.get(name) for name in tgt.natural_key}
        return self._find_listed(tgt, payload, lambda r: all(same(v, r.get(name)) for name, v in key.items()))

    def _find_listed(
        self, tgt: Target, payload: SplynxPayload, matches: Callable[[Mapping[str, Any]], bool]
    ) -> str | None:
        """The lowest id among the listed records `matches` accepts: the collection, or its owner's part of it."""
        scope = {tgt.marker_scope: payload.body.get(tgt.marker_scope)} if tgt.marker_scope else None
        found = [r["id"] for r in self.client.list(tgt.collection_path(payload.parent), main=scope) if matches(r)]
        return min(found, key=_id_order) if found else None

    def _find_by_name(self, tgt: Target, payload: SplynxPayload) -> str | None:
        """Records that carry no marker (additional-field definitions, stocks) are identified by their name."""
        name = payload.body.get("name")
        if not name:
            return None
        if tgt.listed_by_name:  # the server may ignore the filter: match the name here too
            rows = self.client.list(tgt.collection_path(payload.parent), main={"name": name})
            found = [r["id"] for r in rows if r.get("name") == name]
            return min(found, key=_id_order) if found else None
        try:
            self.client.get(tgt.item_path(str(name), payload.parent))
        except NotFound:
            return None
        return str(name)

    # -- many items --------------------------------------------------------------------------------

    def load_many(
        self,
        work: Iterable[LoadItem | Sequence[LoadItem]],
        *,
        workers: int = 4,
        stop_on_error: bool = True,
    ) -> list[LoadResult]:
        """Load items on a thread pool; a sequence is a group loaded in order (a customer, then its services).

        A group stops at its first failure (its later items depend on the earlier ones). With
        `stop_on_error`, no new group starts once an item failed. A connection failure or an
        exhausted retry stops everything and is raised after the running groups finish.
        """
        results: list[LoadResult] = []
        stop = threading.Event()
        fatal: list[BaseException] = []
        groups = [[w] if isinstance(w, LoadItem) else list(w) for w in work]
        self._prefetch([item for group in groups for item in group])
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="splynx-load") as pool:
                running: set[Future[list[LoadResult]]] = set()
                for group in groups:
                    if stop.is_set():
                        break
                    running.add(pool.submit(self._load_group, group, stop))
                    if len(running) >= workers * 2:
                        done, running = wait(running, return_when=FIRST_COMPLETED)
                        self._collect(done, results, fatal, stop, stop_on_error)
                done, _ = wait(running)
                self._collect(done, results, fatal, stop, stop_on_error)
        finally:
            self._snapshot.clear()  # entries of items a stop left unloaded must not outlive this call
        if fatal:
            raise fatal[0]
        return results

    def _prefetch(self, items: list[LoadItem]) -> None:
        """Read the items' states and id_map entries in a few queries instead of two per item.

        The snapshot is taken before this process touches the items and each entry is used once,
        so it is as fresh as a per-item read; `load()` called on its own reads the ledger directly.
        """
        with self.stats.ledger():
            for run_id, entity in {(i.run_id, i.entity) for i in items}:
                wanted = [i.source_id for i in items if i.run_id == run_id and i.entity == entity]
                for row in self.ledger.items_by_ids(run_id, entity, wanted):
                    self._snapshot[("item", run_id, entity, row.source_id)] = row
                mapped = self.ledger.dest_ids(entity, wanted)
                for source_id in wanted:
                    self._snapshot[("map", 0, entity, source_id)] = mapped.get(source_id)

    def _collect(
        self,
        done: set[Future[list[LoadResult]]],
        results: list[LoadResult],
        fatal: list[BaseException],
        stop: threading.Event,
        stop_on_error: bool,
    ) -> None:
        for future in done:
            error = future.exception()
            if error is not None:
                fatal.append(error)
                stop.set()
                continue
            group_results = future.result()
            results.extend(group_results)
            if stop_on_error and any(r.state == S.FAILED for r in group_results):
                stop.set()

    def _load_group(self, group: list[LoadItem], stop: threading.Event) -> list[LoadResult]:
        out: list[LoadResult] = []
        for item in group:
            if stop.is_set() and not out:
                break
            result = self.load(item)
            out.append(result)
            if result.state == S.FAILED:
                break
        return out

    # -- one item ----------------------------------------------------------------------------------

    def load(self, item: LoadItem) -> LoadResult:
        """Take one item from wherever it stands to `verified` (or `failed`), checkpointing each step."""
        start = time.perf_counter()
        try:
            return self._load(item)
        finally:
            self.stats.add_item(time.perf_counter() - start)

    def _load(self, item: LoadItem) -> LoadResult:
        current = self._snapshot.pop(("item", item.run_id, item.entity, item.source_id), None)
        if current is None:
            with self.stats.ledger():
                current = self.ledger.item(item.run_id, item.entity, item.source_id)
        if current is None:
            raise LedgerError(f"{item.entity} {item.source_id} is not an item of run {item.run_id}")
        state = ItemState(current.state)
        if state in (S.VERIFIED, S.SKIPPED, S.ROLLED_BACK):
            return LoadResult(item.entity, item.source_id, state, current.dest_id, current.action)
        if state in (S.PENDING, S.EXTRACTED):
            raise LedgerError(f"{item.entity} {item.source_id} is {state}: transform it before loading")
        try:
            created_before = bool(current.attempts) and current.action == "create"
            if state == S.LOADED:
                action = "create" if created_before else current.action or "loaded"
                return self._verify_step(item, self._resolved(item).payload, current.dest_id or "", action)
            return self._write_path(item, state, created_before, _in_doubt_since(current))
        except RecordError as exc:
            return self._failed(item, exc.problem)
        except (ConnectionFailure, RetryableError) as exc:
            code = "uncertain_write" if isinstance(exc, UncertainWrite) else "splynx_unavailable"
            self._failed(item, RecordProblem(code, exc.message, fix=exc.fix))
            raise

    def _write_path(
        self, item: LoadItem, state: ItemState, created_before: bool, last_step: datetime | None = None
    ) -> LoadResult:
        """Steps 1-5 for an item in transformed, failed or loading.

        `created_before`: an earlier attempt of this run wrote ahead a create. `last_step`: when the
        earlier attempt whose write may still be in flight (killed while loading, or failed unanswered)
        last moved the item. Whatever this attempt
        does (a PUT on the id it mapped, an adoption of its unanswered POST), the run created the
        record, and the ledger must keep saying so: rollback deletes what a run created.
        """
        if state == S.FAILED:
            self._move(item, S.TRANSFORMED, detail="retrying the load")
        item = self._resolved(item)
        payload, tgt = item.payload, target(item.payload.target)
        self.validate(payload)
        existing = self._snapshot.pop(("map", 0, item.entity, item.source_id), "?")
        if existing == "?":
            with self.stats.ledger():
                existing = self.ledger.dest_id(item.entity, item.source_id)
        action = "create" if created_before or not (existing or tgt.put_only) else "update"
        if state != S.LOADING:
            self._move(item, S.LOADING, request=_redacted(self._body(payload)), action=action)
        self._step("before_write", item)
        unsure = state in (S.LOADING, S.FAILED) or created_before
        dest_id, done = self._write(item, tgt, existing, unsure, last_step)
        action = "create" if created_before else done
        self._step("after_write", item)
        self._map(item, dest_id)
        self._step("after_map", item)
        self._write_extras(payload, dest_id)
        if self.verify:
            self._move(item, S.LOADED, dest_id=dest_id, action=action)
        else:  # loaded is final: confirm the id map's hash with it
            self._complete(item, S.LOADED, dest_id, action)
        self._step("after_loaded", item)
        return self._verify_step(item, payload, dest_id, action)

    def _write(
        self, item: LoadItem, tgt: Target, existing: str | None, unsure: bool, last_step: datetime | None = None
    ) -> tuple[str, str]:
        """Send the POST or PUT; returns (Splynx id, action: create, update or adopt).

        `last_step`: when an earlier attempt last moved the item (its write-ahead `loading`, or its
        failure); its POST may still be applied until the client's `settle_s` has passed since.
        """
        payload = item.payload
        if tgt.put_only:
            path = self.put_only_path(tgt, payload.parent)
            self.client.update(path, self._body(payload))
            return _last_segment(path), "update"
        if existing:
            body = {k: v for k, v in self._body(payload).items() if k not in tgt.create_only}
            self.client.update(tgt.item_path(existing, payload.parent), body)
            return existing, "update"
        if unsure:
            if last_step is not None:
                self._settle(item, (datetime.now(UTC) - last_step).total_seconds())
            found = self.find_by_marker(payload)
            if found is not None:
                self._event(item, f"adopted Splynx {tgt.key} {found} found by marker {payload.marker}")
                return found, "adopt"
        return self._create(item, tgt)

    def _create(self, item: LoadItem, tgt: Target) -> tuple[str, str]:
        """POST, resolving a lost answer or a marker clash by looking the record up by its marker."""
        payload = item.payload
        sent_unanswered = False
        for attempt in range(1, self.post_attempts + 1):
            sent = time.monotonic()
            try:
                return self.client.create(tgt.collection_path(payload.parent), self._body(payload)), "create"
            except UncertainWrite:
                if attempt == self.post_attempts:
                    raise
                sent_unanswered = True
                self._settle(item, time.monotonic() - sent)
            except ValidationRefused as exc:  # a marker clash only if the field says so and the lookup confirms
                if not _marker_refused(exc, tgt) or self.find_by_marker(payload) is None:
                    raise
            found = self.find_by_marker(payload)
            if found is not None and sent_unanswered:  # our own POST landed: this run created it
                self._event(item, f"found Splynx {tgt.key} {found}: its create was applied but unanswered")
                return found, "create"
            if found is not None:
                self._event(item, f"adopted Splynx {tgt.key} {found}, created before this run with marker "
                            f"{payload.marker}")  # fmt: skip
                return found, "adopt"
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _settle(self, item: LoadItem, elapsed_s: float) -> None:
        """Wait until a create sent `elapsed_s` ago can no longer land (the client's `settle_s`), then look."""
        remaining = self.client.settle_s - elapsed_s
        if remaining > 0:
            self._event(item, f"waiting {remaining:.1f} s for an unanswered create to land before looking it up")
            time.sleep(remaining)

    def _write_extras(self, payload: SplynxPayload, dest_id: str) -> None:
        for extra in payload.extras:
            self.client.update(self._extra_path(extra, dest_id), extra.body)

    def _extra_path(self, extra: SplynxPayload, dest_id: str) -> str:
        tgt = target(extra.target)
        parent = {**{name: dest_id for name in tgt.params()}, **extra.parent}
        return self.put_only_path(tgt, parent)

    # -- verification ------------------------------------------------------------------------------

    def _verify_step(self, item: LoadItem, payload: SplynxPayload, dest_id: str, action: str) -> LoadResult:
        if not self.verify:
            return LoadResult(item.entity, item.source_id, S.LOADED, dest_id, action)
        problem = self.check_record(payload, dest_id)
        if problem is not None:
            return self._failed(item, problem, dest_id)
        self._complete(item, S.VERIFIED, dest_id)
        return LoadResult(item.entity, item.source_id, S.VERIFIED, dest_id, action)

    def check_record(self, payload: SplynxPayload, dest_id: str) -> RecordProblem | None:
        """Read a record (and its follow-ups) back; the first field that differs from what we wrote."""
        tgt = target(payload.target)
        path = self.put_only_path(tgt, payload.parent) if tgt.put_only else tgt.item_path(dest_id, payload.parent)
        checks = [(tgt, path, self._body(payload))]
        checks += [(target(e.target), self._extra_path(e, dest_id), e.body) for e in payload.extras]
        for check_target, check_path, body in checks:
            try:
                found = self.client.get(check_path)
            except NotFound:
                return RecordProblem(
                    "verify_missing",
                    f"Splynx has no record at {check_path} right after we wrote it",
                    fix="check the Splynx audit log for a deletion, then resume",
                )
            skipped = check_target.write_only | check_target.ignore_on_verify | check_target.create_only
            diffs = differences(body, found, skipped)
            if diffs:
                name, sent, got = diffs[0]
                listed = ", ".join(d[0] for d in diffs)
                return RecordProblem(
                    "verify_mismatch",
                    f"Splynx {check_target.key} {dest_id} does not hold what we wrote: {listed} differ "
                    f"({name}: sent {_show(name, sent)}, read back {_show(name, got)})",
                    field=name,
                    value=_show(name, got),
                    fix=f"check how Splynx stores `{name}` (units, rounding, allowed values), "
                    "correct it with `etl fix` and resume",
                )
        return None

    # -- validation --------------------------------------------------------------------------------

    def validate(self, payload: SplynxPayload) -> None:
        """Refuse, before any write, a payload Splynx would refuse: RecordError naming field, value and fix."""
        tgt = target(payload.target)
        body = payload.body
        for name in tgt.required:
            if _blank(body.get(name)):
                raise _invalid(
                    "missing_field",
                    f"{tgt.key} needs `{name}`",
                    name,
                    body.get(name),
                    f"set `{name}` in Sonar or with `etl fix ENTITY ID --set {name}=...`",
                )
        for name, fmt in tgt.formats.items():
            value = body.get(name)
            if not _blank(value) and not FORMAT_CHECKS[fmt](str(value)):
                raise _invalid(
                    "bad_format",
                    f"{tgt.key} `{name}` is not a valid {fmt}",
                    name,
                    value,
                    f"correct `{name}` to a valid {fmt} with `etl fix` or in Sonar",
                )
        for name, allowed in tgt.choices.items():
            value = body.get(name)
            if not _blank(value) and str(value) not in allowed:
                raise _invalid(
                    "bad_choice",
                    f"{tgt.key} `{name}` must be one of {', '.join(allowed)}",
                    name,
                    value,
                    f"map `{name}` to one of {', '.join(allowed)}",
                )
        for name, ref in tgt.references.items():
            for value in _as_list(body.get(name)):
                self._check_reference(tgt, name, ref, value)

    def _check_reference(self, tgt: Target, name: str, ref: str, value: Any) -> None:
        text = str(value).strip()
        if text in ("", "0"):
            return
        if not text.isdigit():
            raise _invalid(
                "bad_reference",
                f"{tgt.key} `{name}` must be a Splynx id",
                name,
                value,
                f"load the {ref} first so its Splynx id is known",
            )
        if not self.check_references or (ref, text) in self._known:
            return
        try:
            self.client.get(target(ref).item_path(text, {}))
        except NotFound:
            raise _invalid(
                "unknown_reference",
                f"{tgt.key} `{name}` points at {ref} {text}, which Splynx does not have",
                name,
                value,
                f"load that {ref} first (or fix `{name}`), then resume",
            ) from None
        with self._known_lock:
            self._known.add((ref, text))

    # -- helpers -----------------------------------------------------------------------------------

    def _body(self, payload: SplynxPayload) -> dict[str, Any]:
        """The body with the migration marker added, for targets that can carry it."""
        tgt = target(payload.target)
        if tgt.module is None:
            return dict(payload.body)
        extra = dict(payload.body.get("additional_attributes") or {})
        extra[MARKER_FIELD] = payload.marker
        return {**payload.body, "additional_attributes": extra}

    def _resolved(self, item: LoadItem) -> LoadItem:
        """Fill path parameters that point at records loaded earlier in this run."""
        if not item.parent_refs:
            return item
        parent = dict(item.payload.parent)
        for name, (entity, source_id) in item.parent_refs.items():
            with self.stats.ledger():
                dest = self.ledger.dest_id(entity, source_id)
            if dest is None:
                raise _invalid(
                    "missing_parent",
                    f"{item.entity} {item.source_id} needs {entity} {source_id}, which is not in Splynx yet",
                    name,
                    source_id,
                    f"load {entity} {source_id} first (fix its own failure), then resume",
                )
            parent[name] = dest
        body = {**item.payload.body, **{n: parent[n] for n in item.parent_refs if n in item.payload.body}}
        return replace(item, payload=replace(item.payload, parent=parent, body=body))

    def _move(self, item: LoadItem, to: ItemState, **kwargs: Any) -> None:
        with self.stats.ledger():
            self.ledger.move(item.run_id, item.entity, item.source_id, to, **kwargs)

    def _map(self, item: LoadItem, dest_id: str) -> None:
        """Record the id at once, unconfirmed (no hash): the follow-up writes have not happened yet."""
        with self.stats.ledger():
            self.ledger.map(item.entity, item.source_id, dest_id, run_id=item.run_id)

    def _complete(self, item: LoadItem, to: ItemState, dest_id: str, action: str | None = None) -> None:
        with self.stats.ledger():
            self.ledger.complete(item.run_id, item.entity, item.source_id, to, dest_id=dest_id,
                                 source_hash=item.source_hash, action=action)  # fmt: skip

    def _event(self, item: LoadItem, detail: str) -> None:
        with self.stats.ledger():
            self.ledger.event(item.run_id, detail, entity=item.entity, source_id=item.source_id)

    def _failed(self, item: LoadItem, problem: RecordProblem, dest_id: str | None = None) -> LoadResult:
        if problem.fix and "ENTITY ID" in problem.fix:  # the client cannot know which record it was writing
            problem = replace(problem, fix=problem.fix.replace("ENTITY ID", f"{item.entity} {item.source_id}"))
        with self.stats.ledger():
            self.ledger.fail(item.run_id, item.entity, item.source_id, problem)
        return LoadResult(item.entity, item.source_id, S.FAILED, dest_id, None, problem)

    def _step(self, name: str, item: LoadItem) -> None:
        if self.on_step is not None:
            self.on_step(name, item)


def create_by_name(client: SplynxClient, path: str, body: Mapping[str, Any], attempts: int = 3) -> None:
    """POST an additional-field definition, resolving an unanswered POST by reading it back by name.

    Why: definitions carry no migration marker, their unique name is what identifies them. A POST whose
    answer was lost or unreadable (`UncertainWrite`) may have been applied; if the name is there now,
    it was. A refusal (`ValidationRefused`, e.g. the name is taken) is left to the caller.
    """
    for attempt in range(1, attempts + 1):
        try:
            client.create(path, body)
            return
        except UncertainWrite:
            if attempt == attempts:
                raise
        try:
            client.get(f"{path}--{body['name']}")
            return
        except NotFound:
            continue  # the POST never reached Splynx: send it again
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _marker_definition() -> dict[str, Any]:
    return {
        "name": MARKER_FIELD,
        "title": "Sonar ID",
        "type": "string",
        "is_unique": 1,
        "is_required": 0,
        "is_add": 1,
        "searchable": 1,
        "show_in_list": 0,
        "readonly": 0,
        "disabled": 0,
    }


def _marker_refused(exc: ValidationRefused, tgt: Target) -> bool:
    """Splynx refused a create on our marker (or, unmarked, our name): perhaps another record carries it.

    Why the field and not the message: the wording of a 422 is a guess (docs/fidelity.md); the caller
    confirms a clash by looking the record up.
    """
    return _refused_on(exc, "name" if tgt.module is None else f"additional_attributes.{MARKER_FIELD}")


def _refused_on(exc: ValidationRefused, field: str) -> bool:
    """Whether one of the 422's errors names `field`."""
    return any(f == field for f, _ in exc.errors)


def _invalid(code: str, message: str, name: str, value: Any, fix: str) -> RecordError:
    return RecordError(RecordProblem(code, message, field=name, value=_show(name, value), fix=fix))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _show(name: str, value: Any) -> str | None:
    if value is None:
        return None
    return "***" if is_secret(name) else repr(value)


def _redacted(body: Mapping[str, Any]) -> dict[str, Any]:
    """The request as stored in the ledger: secrets replaced, everything else as sent."""
    return {
        k: ("***" if is_secret(k) else _redacted(v) if isinstance(v, Mapping) else v)
        for k, v in body.items()
    }


def _last_segment(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _id_order(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (1 << 62, value)


IN_DOUBT_FAILURES = frozenset({"uncertain_write", "splynx_unavailable"})
"""Failures whose POST may have reached Splynx unanswered (the others were answered: a 422, a 404)."""


def _in_doubt_since(current: Item) -> datetime | None:
    """When an earlier attempt that may have sent a write unanswered last moved the item; None if none did.

    Why the item's own timestamp: the write-ahead `loading` move is committed just before the POST, and a
    failure just after it, so the POST was sent no earlier than this. SQLite hands it back naive (UTC).
    """
    doubtful = current.state == S.LOADING or (current.state == S.FAILED and current.error_code in IN_DOUBT_FAILURES)
    if not doubtful or current.updated_at is None:
        return None
    moment = current.updated_at
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
