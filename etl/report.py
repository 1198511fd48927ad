"""Run reports (Markdown, JSON, HTML with charts) built from the ledger alone.

Why from the ledger: the report must be reproducible after the fact, on another machine, from
the source of truth; it never asks Sonar or Splynx anything.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from state.ledger import EVENT, Ledger
from state.states import ItemState

RECONCILE_EVENT = "reconcile"
"""The entity of the ledger event each `etl reconcile` writes (JSON: summary, differing lines), shown here."""


@dataclass
class Failure:
    """One failed item, as the user needs to see it to fix it."""

    entity: str
    source_id: str
    field: str | None
    error: str | None
    fix: str | None
    attempts: int


@dataclass
class RunReport:
    """Everything a report shows about one run."""

    run_id: int
    kind: str
    status: str
    started_at: str
    finished_at: str | None
    duration_s: float | None
    counts: dict[str, dict[str, int]]
    failures: list[Failure]
    throughput: list[tuple[str, int]] = field(default_factory=list)
    failures_per_entity: dict[str, int] = field(default_factory=dict)
    message: str | None = None
    skip_reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    reconciliation: dict[str, Any] | None = None  # the latest `etl reconcile` of the run, as it recorded it
    reconciled_at: str | None = None


def failures(ledger: Ledger, run_id: int) -> list[Failure]:
    """Failed items of a run with their field, error and fix hint."""
    return [
        Failure(i.entity, i.source_id, i.error_field, i.error_message, i.fix_hint, i.attempts)
        for i in ledger.items(run_id, state=ItemState.FAILED)
    ]


def _throughput(ledger: Ledger, run_id: int) -> list[tuple[str, int]]:
    """Items reaching `loaded` per minute, for the chart."""
    query = select(EVENT.c.at).where(EVENT.c.run_id == run_id, EVENT.c.to_state == ItemState.LOADED)
    with ledger.reader.connect() as conn:
        stamps = [row[0] for row in conn.execute(query)]
    per_minute = Counter(_as_datetime(s).strftime("%H:%M") for s in stamps)
    return sorted(per_minute.items())


def _reconciliation(ledger: Ledger, run_id: int) -> tuple[dict[str, Any] | None, str | None]:
    """The latest reconciliation `etl reconcile` recorded for the run, and when (None: never reconciled)."""
    query = (
        select(EVENT.c.detail, EVENT.c.at)
        .where(EVENT.c.run_id == run_id, EVENT.c.entity == RECONCILE_EVENT)
        .order_by(EVENT.c.id.desc())
        .limit(1)
    )
    with ledger.reader.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None, None
    return dict(json.loads(row[0] or "{}")), _as_datetime(row[1]).isoformat(timespec="seconds")


def reconciliation_section(record: dict[str, Any] | None, at: str | None) -> list[str]:
    """The report's "Reconciliation" section: the last `etl reconcile` of the run, its differing lines."""
    if record is None:
        return ["", "## Reconciliation", "", "Not reconciled yet: `etl reconcile RUN` compares the balances."]
    lines = ["", "## Reconciliation", "", f"{record.get('summary')} (`etl reconcile`, {at})"]
    balances, months = record.get("balances") or [], record.get("months") or []
    if balances:
        lines += ["", "| account | customer | Sonar (cents) | Splynx (cents) |", "|---|---|---:|---:|"]
        lines += [f"| {b['account_id']} | {b['customer_id'] or '—'} | {b['sonar_cents']} | "
                  f"{'—' if b['splynx_cents'] is None else b['splynx_cents']} |" for b in balances]  # fmt: skip
    if months:
        lines += ["", "| month | kind | Sonar (cents) | Splynx (cents) |", "|---|---|---:|---:|"]
        lines += [f"| {m['month']} | {m['kind']} | {m['sonar_cents']} | {m['splynx_cents']} |" for m in months]
    return lines


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def build_report(ledger: Ledger, run_id: int) -> RunReport:
    """Gather a run's counts, timings and failures."""
    run = ledger.get_run(run_id)
    failed = failures(ledger, run_id)
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    reconciled = _reconciliation(ledger, run_id) if "account_balance" in ledger.counts(run_id) else (None, None)
    return RunReport(
        run_id=run_id,
        kind=run.kind,
        status=run.status,
        started_at=run.started_at.isoformat(timespec="seconds"),
        finished_at=run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
        duration_s=duration,
        counts=ledger.counts(run_id),
        failures=failed,
        throughput=_throughput(ledger, run_id),
        failures_per_entity=dict(Counter(f.entity for f in failed)),
        message=run.message,
        skip_reasons=ledger.skip_reasons(run_id),
        reconciliation=reconciled[0],
        reconciled_at=reconciled[1],
    )


def to_json(report: RunReport) -> str:
    """The report as JSON, for machines."""
    return json.dumps(asdict(report), indent=2, default=str)


def to_markdown(report: RunReport) -> str:
    """The report as Markdown, for humans and tickets."""
    lines = [
        f"# Run {report.run_id} ({report.kind}): {report.status}",
        "",
        f"- started: {report.started_at}",
        f"- finished: {report.finished_at or '(not finished)'}",
        f"- duration: {report.duration_s:.1f} s" if report.duration_s is not None else "- duration: n/a",
    ]
    if report.message:
        lines.append(f"- message: {report.message}")
    states = _states_present(report.counts)
    lines += [
        "",
        "## Items",
        "",
        "| entity | " + " | ".join(states) + " | total |",
        "|---|" + "---:|" * (len(states) + 1),
    ]
    for entity, per in report.counts.items():
        cells = [str(per.get(s, 0)) for s in states]
        lines.append(f"| {entity} | " + " | ".join(cells) + f" | {sum(per.values())} |")
    lines += skipped_section(report.skip_reasons)
    if "account_balance" in report.counts:  # the run carried the history: its money is proved or not yet
        lines += reconciliation_section(report.reconciliation, report.reconciled_at)
    lines += ["", f"## Failures ({len(report.failures)})", ""]
    if report.failures:
        lines += ["| entity | source id | field | error | suggested fix |", "|---|---|---|---|---|"]
        for f in report.failures:
            lines.append(f"| {f.entity} | {f.source_id} | {f.field or ''} | {_cell(f.error)} | {_cell(f.fix)} |")
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def skipped_section(reasons: dict[str, dict[str, int]]) -> list[str]:
    """The report's "Skipped, by reason" table: what was deliberately not migrated, and why."""
    rows = [(e, r, n) for e, per in reasons.items() for r, n in sorted(per.items(), key=lambda x: -x[1])]
    lines = ["", f"## Skipped, by reason ({sum(n for _, _, n in rows)})", ""]
    if not rows:
        return [*lines, "None."]
    lines += ["| entity | reason | items |", "|---|---|---:|"]
    return lines + [f"| {entity} | {_cell(reason)} | {n} |" for entity, reason, n in rows]


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _states_present(counts: dict[str, dict[str, int]]) -> list[str]:
    return [s.value for s in ItemState if any(s.value in per for per in counts.values())]


def _bar_chart(title: str, data: list[tuple[str, int]], color: str) -> str:
    """A self-contained SVG bar chart (no JavaScript, no network)."""
    if not data:
        return f"<h3>{html.escape(title)}</h3><p>No data.</p>"
    width, height, pad = 640, 220, 30
    top = max(v for _, v in data) or 1
    bar = (width - 2 * pad) / len(data)
    bars = []
    for i, (label, value) in enumerate(data):
        h = (height - 2 * pad) * value / top
        x, y = pad + i * bar, height - pad - h
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar - 2, 1):.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>{html.escape(label)}: {value}</title></rect>"
        )
        if len(data) <= 20:
            bars.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 10}" font-size="10" '
                f'text-anchor="middle">{html.escape(label)}</text>'
            )
    return (
        f"<h3>{html.escape(title)}</h3><svg xmlns='http://www.w3.org/2000/svg' width='{width}' "
        f"height='{height}' role='img' aria-label='{html.escape(title)}'>{''.join(bars)}</svg>"
    )


def to_html(report: RunReport) -> str:
    """The report as one HTML page with inline SVG charts."""
    body = html.escape(to_markdown(report))
    charts = _bar_chart("Items loaded per minute", report.throughput, "#2b7bb9") + _bar_chart(
        "Failures per entity", sorted(report.failures_per_entity.items()), "#c0392b"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Run {report.run_id} report</title>"
        "<style>body{font-family:sans-serif;margin:2em} pre{background:#f6f6f6;padding:1em}</style>"
        f"</head><body><h1>Run {report.run_id}: {html.escape(report.status)}</h1>{charts}"
        f"<pre>{body}</pre></body></html>\n"
    )


RENDERERS = {"md": to_markdown, "json": to_json, "html": to_html}


def render(ledger: Ledger, run_id: int, fmt: str) -> str:
    """Build and render a run report in one of `md`, `json`, `html`."""
    return RENDERERS[fmt](build_report(ledger, run_id))


__all__ = ["Failure", "RunReport", "build_report", "failures", "render"]
