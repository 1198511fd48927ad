"""How much of a customer's financial history a run carries: the history mode and window.

Why two modes: many ISPs cut over with balances only (`balance`: one opening-balance transaction per
customer, the default: cheapest, and all a new billing system needs), others want every invoice, debit,
discount and payment in Splynx (`full`), possibly only from a date on (`--history-since`), with what came before
brought forward as one opening balance. Both end with the same Splynx balance as Sonar's.

Why a switch is refused once history is in Splynx: the records a new mode or a later window leaves out
would stay there next to the ones that replace them (an opening balance on top of the payments it sums,
or payments before the new window on top of the balance that now includes them): counted twice. Moving
the window earlier is fine (more records, a smaller balance brought forward, re-written in place).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from etl.errors import ConfigError
from etl.phases import PHASE_ENTITIES, Phase

BALANCE = "balance"
FULL = "full"
MODES = (BALANCE, FULL)
MONEY_ENTITIES = {
    BALANCE: ("account_balance",),
    FULL: ("account_balance", "account_invoice", "account_transaction", "account_payment"),
}
RECORDS = ("account_note", "ticket", "ticket_reply", "ticket_comment")
"""What a customer's history holds besides money (notes, tickets and their messages): carried in either mode."""


@dataclass(frozen=True)
class HistoryWindow:
    """The history mode and the first day of the window (None: all of it)."""

    mode: str = BALANCE
    since: date | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            modes = " or ".join(f"--history {m}" for m in MODES)
            raise ConfigError(f"unknown history mode {self.mode!r}", fix=f"use {modes}")
        if self.since is not None and self.mode != FULL:
            raise ConfigError(
                "--history-since needs the full-history mode (the balance mode carries balances only)",
                fix="add --history full, or leave --history-since out",
            )

    @classmethod
    def parse(cls, mode: str | None, since: str | None) -> HistoryWindow:
        """From the command line or a run's stored options; a bad date is refused in one line."""
        return cls(mode or BALANCE, _date(since))

    @property
    def entities(self) -> tuple[str, ...]:
        """The HISTORY phase's entities in this mode: its money, then the records (notes)."""
        return (*MONEY_ENTITIES[self.mode], *RECORDS)

    def select(self, phases: Iterable[Phase]) -> list[str]:
        """The entities of these phases in dependency order, the history's those of this mode."""
        return [e for phase in phases for e in PHASE_ENTITIES[phase] if phase != Phase.HISTORY or e in self.entities]

    def describe(self) -> str:
        """How the operator sees it: `balance`, `full`, `full since 2024-01-01`."""
        return self.mode if self.since is None else f"{self.mode} since {self.since.isoformat()}"

    def refuse_switch_from(self, earlier: HistoryWindow, run_id: int) -> None:
        """Refuse (ConfigError) a switch that would leave what `earlier` wrote counted twice (module docstring)."""
        later_window = earlier.since is None and self.since is not None
        moved_later = earlier.since is not None and self.since is not None and self.since > earlier.since
        if self.mode == earlier.mode and not later_window and not moved_later:
            return
        raise ConfigError(
            f"run {run_id} carried the history as {earlier.describe()!r}; {self.describe()!r} would leave "
            "records of it in Splynx next to the ones that replace them (counted twice)",
            fix=f"run with --history {earlier.mode}"
            + (f" --history-since {earlier.since.isoformat()}" if earlier.since else "")
            + f", or roll the history back first (`etl rollback {run_id}`)",
        )


def _date(text: str | None) -> date | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        fix = "write it as YYYY-MM-DD, e.g. 2024-01-01"
        raise ConfigError(f"--history-since {text!r} is not a date", fix=fix) from None
