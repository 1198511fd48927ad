"""What a transformer may know besides the record: the id map, the status map and a few defaults.

Why a frozen context instead of globals: a transformer stays a pure function of (record, context), so
the same input always gives the same payload and tests can build any situation without a ledger.
The one thing that cannot be a pure function, a new administrator's password, comes in as a factory.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from etl.config import DEFAULT_DELINQUENT_STATUS, DEFAULT_STATUS_MAP

PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#%*+-=?@_"
PASSWORD_LENGTH = 24

DEFAULT_ROLE_MAP: Mapping[str, str] = MappingProxyType({"administrator": "administrator"})
SUPER_ADMIN_ROLE = "super-administrator"
FALLBACK_ROLE = "administrator"


def random_password() -> str:
    """A strong throw-away password: Splynx needs one to create an administrator.

    Sonar passwords cannot be read, so migrated administrators must reset theirs in Splynx; this value
    is never logged, stored in the ledger, or shown (the loader redacts `password` fields).
    """
    while True:
        candidate = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
        if any(c.isdigit() for c in candidate) and any(c.isupper() for c in candidate):
            return candidate


@dataclass(frozen=True)
class TicketLookups:
    """The Splynx ids a ticket needs, found by name: Splynx's API lists statuses, groups and types, never makes them.

    Attributes:
        statuses: Sonar TicketStatus (`OPEN`) -> Splynx ticket status id.
        groups: lower-cased Sonar ticket group name -> Splynx ticket group id (a group Splynx lacks: absent).
        type_id: the Splynx ticket type every migrated ticket gets (Sonar has no ticket type).
    """

    statuses: Mapping[str, str]
    groups: Mapping[str, str]
    type_id: str


@dataclass(frozen=True)
class TransformContext:
    """Everything outside the record a transformer may consult.

    Attributes:
        dest_id: (ledger entity, Sonar id) -> Splynx id from the ledger's id_map, or None.
        status_map: lower-cased Sonar account status name -> Splynx customer status.
        default_partner_id: Splynx partner for records whose Sonar company is unknown or absent.
        default_location_id: Splynx location every customer, tariff and network is placed in.
        transaction_category_id: the Splynx transaction category of an opening balance
            (`[splynx] transaction_category`, Config / Finance / Transaction categories).
        marker_field: additional attribute holding the migration marker.
        role_map: lower-cased Sonar role name -> Splynx administrator `role_name` (`[role_map]` over the default).
        known_roles: the role names the target Splynx has, read at preflight; None when they were not read
            (then a mapped role is not checked here and Splynx alone can refuse it).
        tariff_partner_ids: partners every tariff is offered to besides its own company's, so an account of
            one company can keep a plan defined by another (Splynx refuses a service whose tariff is not
            offered to the customer's partner). The pipeline passes the ids of all migrated companies.
        password_factory: produces a new administrator's password (tests pass a constant).
        subdivisions: upper-cased state/province code or name -> Splynx `subdivision_id`, read at preflight
            from `admin/config/states-provinces` (empty when not read: customers then get no subdivision_id).
        customer_labels: upper-cased Splynx customer label title -> its id; the pipeline creates (or adopts)
            one label per Sonar account group before loading customers (empty: no `customer_labels` sent).
        taxes: Splynx tax id by its rate in percent (`tax_rate_key`), read at preflight from
            `admin/config/taxes`; None when not read (then tariffs get no tax_id), empty when Splynx has none
            (then a taxed Sonar service fails, naming the rate to create).
        mapped_id: the id map as it is, without `dest_id`'s placeholder for unmapped parents (`etl plan`
            gives one so that a record whose parents are not migrated yet can still be transformed).
        delinquent_status: the Splynx status of a delinquent account whose status activates it
            (`[mapping] delinquent`: `blocked`, Splynx's state for an unpaid customer past its due days,
            or `active` to keep serving it).
        history_mode: `balance` (one opening balance per customer) or `full` (every debit, discount and
            payment; the opening balance is then only what came before the history window, etl/history.py).
        payment_methods: Sonar payment type (`CHECK`) -> Splynx payment method id, made or adopted by name
            before loading (`etl.preflight.ensure_payment_methods`); None: not read (payments then fail,
            naming the method to create).
        tickets: how Splynx names what a Sonar ticket says, read before loading (`etl.preflight.ticket_lookups`):
            None when not read (tickets then fail, naming the setting).
    """

    dest_id: Callable[[str, str], str | None]
    status_map: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_STATUS_MAP)))
    default_partner_id: str = "1"
    default_location_id: str = "1"
    transaction_category_id: str = "1"
    marker_field: str = "sonar_id"
    role_map: Mapping[str, str] = field(default_factory=lambda: DEFAULT_ROLE_MAP)
    known_roles: frozenset[str] | None = None
    tariff_partner_ids: tuple[str, ...] = ()
    password_factory: Callable[[], str] = random_password
    subdivisions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    customer_labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    taxes: Mapping[str, str] | None = None
    delinquent_status: str = DEFAULT_DELINQUENT_STATUS
    mapped_id: Callable[[str, str], str | None] | None = None
    history_mode: str = "balance"
    payment_methods: Mapping[str, str] | None = None
    tickets: TicketLookups | None = None

    def migrated(self, entity: str, source_id: str) -> bool:
        """Whether a record really is in Splynx already (`dest_id` may stand a placeholder in, for plans)."""
        return (self.mapped_id or self.dest_id)(entity, source_id) is not None

    @classmethod
    def from_id_map(cls, id_map: Mapping[tuple[str, str], str], **options: object) -> TransformContext:
        """A context over a plain {(entity, sonar id): splynx id} dict, handy for tests and dry runs."""
        frozen = dict(id_map)
        return cls(dest_id=lambda entity, source_id: frozen.get((entity, str(source_id))), **options)  # type: ignore[arg-type]
