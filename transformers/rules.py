"""Normalisation rules shared by the entity transformers: each is small, total and property-tested.

Why separate from the entity modules: the same phone, e-mail, money or date rule applies wherever the
value appears, and a rule proven once (idempotent, lossless, round-trips) is proven everywhere.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

SPLYNX_CUSTOMER_STATUSES = ("new", "active", "blocked", "disabled")
PERSON_TYPES = frozenset({"RESIDENTIAL", "SENIOR_CITIZEN"})
COMPANY_TYPES = frozenset({"COMMERCIAL", "GOVERNMENT", "INDUSTRIAL"})
CENT = Decimal("0.01")

_SPACES = re.compile(r"\s+")
_EXTENSION = re.compile(r"^(?P<main>.*?)\s*(?:ext\.?|extension|x|#)\s*(?P<ext>\d+)\s*$", re.IGNORECASE)
_GEOPOINT = re.compile(r"^\(?\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)?$")


# -- text -----------------------------------------------------------------------------------------


def clean_text(value: object) -> str | None:
    """Collapse runs of whitespace to one space and trim; blank becomes None."""
    if value is None:
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    return text or None


def split_name(full_name: str) -> tuple[str, str]:
    """First word and the rest, for Splynx fields that want a first and a last name."""
    cleaned = clean_text(full_name) or ""
    first, _, last = cleaned.partition(" ")
    return first, last


def join_name(first: str, last: str) -> str:
    """The inverse of split_name for whitespace-normalised names."""
    return " ".join(part for part in (first, last) if part)


def slug(name: str, prefix: str = "sonar_", limit: int = 64) -> str:
    """A Splynx additional-field name: lower-case letters, digits and underscores, prefixed."""
    body = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return (prefix + body)[:limit].rstrip("_") if body else ""


# -- contact data ---------------------------------------------------------------------------------


def normalize_phone(number: object, extension: object = None) -> str | None:
    """Digits only, a leading `+` kept, an extension written ` ext N`; blank becomes None.

    Idempotent (a normalised number normalises to itself) and digit-preserving (no digit is lost or
    added), so it is safe to apply to data that was already cleaned by hand.
    """
    text = str(number or "").strip()
    ext = re.sub(r"\D", "", str(extension or ""))
    match = _EXTENSION.match(text)
    if match and not ext:
        text, ext = match["main"], match["ext"]
    elif match:
        text = match["main"] + match["ext"]
    digits = re.sub(r"\D", "", text)
    if not digits:  # only an extension: that is the number
        digits, ext = ext, ""
    if not digits:
        return None
    plus = "+" if text.lstrip().startswith("+") else ""
    return f"{plus}{digits} ext {ext}" if ext else f"{plus}{digits}"


def normalize_email(value: object) -> str | None:
    """Trimmed, domain lower-cased (the local part is case-sensitive in principle); blank becomes None."""
    text = str(value or "").strip()
    if not text:
        return None
    local, at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}" if at else text


# -- addresses ------------------------------------------------------------------------------------


def street(line1: object, line2: object) -> str | None:
    """Sonar's two address lines as Splynx's single street field."""
    parts = [p for p in (clean_text(line1), clean_text(line2)) if p]
    return ", ".join(parts) or None


def state_code(subdivision: object) -> str | None:
    """Sonar's `US_TX` subdivision enum as the state or province code `TX`."""
    text = clean_text(subdivision)
    if text is None:
        return None
    return text.split("_", 1)[1] if "_" in text else text


def gps(latitude: object, longitude: object) -> str | None:
    """Splynx's "lat,lng" text from two coordinates; None when either is missing."""
    if latitude is None or longitude is None or latitude == "" or longitude == "":
        return None
    return f"{Decimal(str(latitude)).normalize():f},{Decimal(str(longitude)).normalize():f}"


def gps_from_geopoint(geopoint: object) -> str | None:
    """Sonar's Geopoint "(lat, lon)" as "lat,lng"."""
    match = _GEOPOINT.match(str(geopoint or "").strip())
    return gps(match[1], match[2]) if match else None


# -- money, speeds, dates -------------------------------------------------------------------------


def tax_rate_key(rate: object) -> str:
    """A tax rate in percent as a lookup key: 6.25, "6.2500" and 6.250000001 all read "6.25".

    Why rounded to four places: Splynx keeps rates as decimals of four places, and a sum of Sonar's float
    rates (6.25 + 1.0) must find the Splynx tax of 7.25.
    """
    key = Decimal(str(rate if rate not in (None, "") else 0)).quantize(Decimal("0.0001")).normalize()
    return format(key, "f")


def cents_to_decimal(cents: int) -> str:
    """Integer cents as a decimal string with two places ("12.34"); exact, never through float."""
    return str((Decimal(int(cents)) * CENT).quantize(CENT))


def decimal_to_cents(amount: str) -> int:
    """The inverse of cents_to_decimal."""
    return int((Decimal(amount) / CENT).to_integral_exact())


def speed_kbps(kilobits_per_second: object) -> int:
    """Sonar's kbit/s as Splynx's kbps: the same unit, as a positive int (ValueError otherwise)."""
    if isinstance(kilobits_per_second, bool):
        raise ValueError(f"not a speed: {kilobits_per_second!r}")
    speed = int(str(kilobits_per_second))
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    return speed


def splynx_date(value: object) -> str | None:
    """A Sonar Date or Datetime (ISO 8601, with offset) as Splynx's YYYY-MM-DD, in the value's own offset."""
    text = str(value or "").strip()
    if not text:
        return None
    if len(text) == 10:
        return dt.date.fromisoformat(text).isoformat()
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()


def splynx_datetime(value: object) -> str | None:
    """A Sonar Datetime (ISO 8601 with offset) as Splynx's `YYYY-MM-DD HH:MM:SS`, in UTC."""
    text = str(value or "").strip()
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment.astimezone(dt.UTC) if moment.tzinfo else moment).strftime("%Y-%m-%d %H:%M:%S")


# -- lookups folded into records ------------------------------------------------------------------


def customer_status(
    name: object, activates_account: object, status_map: Mapping[str, str], delinquent_as: str | None = None
) -> str:
    """A Sonar account status as a Splynx customer status, by what the status does, not by its name.

    The configured map wins (names compared lower-cased). Otherwise the status's `activates_account`
    decides: Sonar bills and serves an account only in a status that activates it, so such a status is
    Splynx `active` (access and billing); any other is Splynx `disabled` ("Inactive": services stopped
    and not accounted), never `blocked`: a blocked Splynx customer loses access but is still billed,
    which a non-activating Sonar status never was (docs/mapping.md, *Statuses*). `delinquent_as` is
    given for a delinquent account: Sonar flags it on the day Splynx blocks an unpaid customer (due +
    grace days), so a served delinquent account is `blocked` by default (`[mapping] delinquent`).
    """
    mapped = status_map.get(str(name or "").strip().lower())
    if mapped in SPLYNX_CUSTOMER_STATUSES:
        return mapped
    if activates_account is not True:
        return "disabled"
    return delinquent_as or "active"


def blocking_day(due_days: object, grace_days: object) -> int | None:
    """Splynx `billing_due` (days after the billing day until the customer is blocked) from Sonar's days.

    Sonar's invoice is due `due_days` after the bill day and the account turns delinquent `grace_days`
    after that; Splynx has no separate due date: it blocks `billing_due` days after the billing day. So
    the day access is at risk stays the same day. Splynx's own `grace_period` is something else (days
    from blocked to Inactive, when billing stops) and is not derived from Sonar's grace.
    """
    if due_days is None and grace_days is None:
        return None
    return int(str(due_days or 0)) + int(str(grace_days or 0))


def deactivation_days(params: Mapping[str, Any]) -> int | None:
    """Splynx `grace_period` (days from blocked to Inactive) from Sonar's delinquency status switch.

    Sonar can switch a delinquent account to another status `days_of_delinquency_for_status_switch`
    days after it turned delinquent; when that status does not activate the account (it stops service
    and billing, Splynx's Inactive) the two periods are the same thing. Otherwise Sonar never
    deactivates a delinquent account and there is nothing to send (the partner's Splynx default holds).
    """
    target = params.get("delinquency_account_status") or {}
    days = params.get("days_of_delinquency_for_status_switch")
    if params.get("switch_status_after_delinquency") is not True or target.get("activates_account") is not False:
        return None
    return None if days is None else int(str(days))


def customer_category(account_type: object) -> str:
    """Sonar's account type enum as Splynx's category: companies for business types, else a person."""
    return "company" if str(account_type or "").upper() in COMPANY_TYPES else "person"


# -- IPv4 and IPv6 --------------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def split_cidr(cidr: str) -> tuple[str, int]:
    """Split `10.0.0.0/24` (or `2001:db8::/48`) into address and prefix; host bits are cleared."""
    network = ipaddress.ip_network(cidr.strip(), strict=False)
    return str(network.network_address), network.prefixlen


def is_ipv6(cidr_or_range: object) -> bool:
    """Whether a Sonar CIDR, address or IpRange is IPv6 (Sonar keeps both families in the same records)."""
    return ":" in str(cidr_or_range or "")


def covering_cidr(first: str, last: str) -> Network:
    """The smallest single network that contains every address from `first` to `last` (one family)."""
    a, b = ipaddress.ip_address(first), ipaddress.ip_address(last)
    if a.version != b.version:
        raise ValueError(f"{first} and {last} are of different IP versions")
    width = a.max_prefixlen
    low, high = sorted((int(a), int(b)))
    prefix = width - (low ^ high).bit_length()
    mask = ((1 << width) - 1) ^ ((1 << (width - prefix)) - 1)
    family = ipaddress.IPv4Network if a.version == 4 else ipaddress.IPv6Network
    return family((low & mask, prefix))


def covering_cidr_of_range(ip_range: str) -> Network:
    """Sonar's IpRange "a.b.c.d-e.f.g.h" (or a single address, or an IPv6 range) as its covering network."""
    first, _, last = ip_range.strip().partition("-")
    return covering_cidr(first.strip(), (last or first).strip())


def host_address(assigned: str) -> str:
    """An IP assignment's "10.0.0.5/32" as the bare address "10.0.0.5"."""
    return str(ipaddress.IPv4Interface(assigned.strip()).ip)
