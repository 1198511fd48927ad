"""`etl reconcile RUN`: each migrated customer's Splynx balance against its Sonar balance, to the cent.

Why live on both sides: the proof is that the money is right now, not that the run wrote what it staged;
a payment booked in Sonar after the run, or a transaction added in Splynx by hand, is a difference too.
Sonar's balance is the account's latest `running_balance` (positive: the customer owes, extractors/
sonar_balances.py); Splynx's is the customer's billing `deposit` (credits less debits: positive, the
customer is in credit). So a customer reconciles when its deposit is exactly minus its Sonar balance.
Money is integer cents end to end: Splynx's 4-place decimals are converted exactly, never through float.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from etl.errors import ConfigError
from extractors.sonar import SonarClient
from extractors.sonar_balances import account_balance
from loaders.splynx_client import NotFound, SplynxClient
from state.ledger import Ledger
from transformers.rules import decimal_to_cents

BILLING_PATH = "admin/customers/customer-billing/{customer_id}"


@dataclass(frozen=True)
class BalanceLine:
    """One customer: what Sonar says it owes and what Splynx says, in cents (owed positive on both)."""

    account_id: str
    customer_id: str | None
    sonar_cents: int
    splynx_cents: int | None  # None: the customer is not in Splynx

    @property
    def difference_cents(self) -> int:
        """Splynx's owed amount less Sonar's: 0 when they agree."""
        return (self.splynx_cents or 0) - self.sonar_cents

    @property
    def matches(self) -> bool:
        """Whether Splynx holds the customer with exactly Sonar's balance."""
        return self.splynx_cents is not None and self.difference_cents == 0

    def fix(self) -> str:
        """What the operator does about a difference."""
        if self.customer_id is None or self.splynx_cents is None:
            return f"migrate the customer first: `etl run --customer {self.account_id}`"
        return (
            f"`etl run --customer {self.account_id}` carries Sonar's balance again; if the difference stays, "
            f"look for transactions of Splynx customer {self.customer_id} that Sonar does not have"
        )


def reconcile(ledger: Ledger, sonar: SonarClient, splynx: SplynxClient, run_id: int) -> Iterator[BalanceLine]:
    """The balance line of every account whose balance the run carried (or skipped at 0), in id order.

    Refuses (ConfigError) a run that is not a migration, or one that carried no balance (its phases left
    HISTORY out): there would be nothing to prove.
    """
    run = ledger.get_run(run_id)
    if run.kind != "migrate":
        raise ConfigError(f"run {run_id} is a {run.kind} run; only migrations carry balances", fix="see `etl runs`")
    accounts = sorted({i.source_id for i in ledger.items(run_id, entity="account_balance")}, key=lambda i: (len(i), i))
    if not accounts:
        raise ConfigError(
            f"run {run_id} carried no balance (the history phase did not run)",
            fix="run `etl run --all --phases history`, then `etl reconcile` that run",
        )
    for account_id in accounts:
        sonar_cents = int(account_balance(sonar, account_id)["balance"])
        customer_id = ledger.dest_id("account", account_id)
        yield BalanceLine(account_id, customer_id, sonar_cents, _splynx_owed(splynx, customer_id))


def _splynx_owed(client: SplynxClient, customer_id: str | None) -> int | None:
    """What the customer owes in Splynx, in cents: minus its billing deposit; None if it is not there."""
    if customer_id is None:
        return None
    try:
        billing = client.get(BILLING_PATH.format(customer_id=customer_id))
    except NotFound:
        return None
    return -decimal_to_cents(str(billing.get("deposit") or "0"))
