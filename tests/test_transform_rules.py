"""Property tests for the normalisation rules every transformer relies on."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from etl.config import DEFAULT_STATUS_MAP
from transformers import rules
from transformers.validation import valid_email

FAST = settings(max_examples=100, deadline=None)

status_names = st.one_of(st.sampled_from(["Active", "INACTIVE", " suspended ", "Terminated"]), st.text(max_size=20))
status_maps = st.dictionaries(
    st.text(min_size=1, max_size=10).map(str.lower), st.sampled_from(rules.SPLYNX_CUSTOMER_STATUSES), max_size=5
)
phone_chars = st.text(alphabet="0123456789 ()-.+/", max_size=25)
emails = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.from_regex(r"[A-Za-z0-9._%+-]{1,20}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9-]{1,15}(\.[A-Za-z]{2,6}){1,2}", fullmatch=True),
)
words = st.from_regex(r"[^\s]{1,12}", fullmatch=True)
addresses = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)


@FAST
@given(status_names, st.booleans() | st.none(), status_maps)
def test_status_mapping_is_total_and_onto_splynx_statuses(
    name: str, activates: bool | None, mapping: dict[str, str]
) -> None:
    assert rules.customer_status(name, activates, {**DEFAULT_STATUS_MAP, **mapping}) in rules.SPLYNX_CUSTOMER_STATUSES


@FAST
@given(status_names, st.booleans())
def test_unmapped_status_follows_whether_it_activates_the_account(name: str, activates: bool) -> None:
    expected = "active" if activates else "disabled"
    assert rules.customer_status(name, activates, {}) == expected


def test_default_status_map_maps_sonar_seed_statuses_by_behaviour_not_name() -> None:
    # a non-activating Sonar status is not billed: Splynx `disabled` (Inactive), never `blocked` (still billed)
    assert [
        rules.customer_status(n, a, DEFAULT_STATUS_MAP)
        for n, a in [("Active", True), ("Inactive", False), ("Suspended", False), ("Terminated", False)]
    ] == ["active", "disabled", "disabled", "disabled"]


def test_a_configured_status_map_entry_overrides_the_behaviour() -> None:
    assert rules.customer_status("Delinquent", True, {"delinquent": "blocked"}) == "blocked"


@FAST
@given(st.integers(0, 60), st.integers(0, 60))
def test_blocking_day_is_sonars_due_days_plus_grace_days(due: int, grace: int) -> None:
    assert rules.blocking_day(due, grace) == due + grace


def test_blocking_day_without_sonar_days_is_left_to_splynx() -> None:
    assert (rules.blocking_day(None, None), rules.blocking_day(10, None), rules.blocking_day(None, 3)) == (None, 10, 3)


@FAST
@given(st.text(max_size=20))
def test_category_is_person_or_company(kind: str) -> None:
    assert rules.customer_category(kind) in ("person", "company")


def test_category_follows_account_type() -> None:
    persons = [rules.customer_category(t) for t in ("RESIDENTIAL", "SENIOR_CITIZEN")]
    companies = [rules.customer_category(t) for t in ("COMMERCIAL", "GOVERNMENT", "INDUSTRIAL")]
    assert (set(persons), set(companies)) == ({"person"}, {"company"})


@FAST
@given(phone_chars, st.none() | st.from_regex(r"\d{1,5}", fullmatch=True))
def test_phone_normalisation_is_idempotent_and_preserves_digits(number: str, extension: str | None) -> None:
    once = rules.normalize_phone(number, extension)
    digits = re.sub(r"\D", "", number + (extension or ""))
    if not digits:
        assert once is None
        return
    assert once is not None
    assert rules.normalize_phone(once) == once
    assert re.sub(r"\D", "", once) == digits
    assert once.startswith("+") == number.lstrip().startswith("+")


def test_phone_extension_written_in_the_number_is_recognised() -> None:
    assert rules.normalize_phone("+1 (405) 395-1701 x12") == "+14053951701 ext 12"
    assert rules.normalize_phone("405.395.1701 ext. 7") == "4053951701 ext 7"


@FAST
@given(emails, st.text(alphabet=" \t", max_size=3))
def test_email_normalisation_is_idempotent_and_keeps_addresses_valid(email: str, padding: str) -> None:
    once = rules.normalize_email(padding + email + padding)
    assert once is not None and rules.normalize_email(once) == once
    assert once.split("@")[1] == once.split("@")[1].lower()
    assert valid_email(once) == valid_email(email)


@FAST
@given(st.text(alphabet=" \t\n", max_size=4) | st.none())
def test_blank_email_becomes_none(blank: str | None) -> None:
    assert rules.normalize_email(blank) is None


@FAST
@given(st.lists(words, min_size=1, max_size=5))
def test_name_split_then_join_round_trips_normalised_names(parts: list[str]) -> None:
    name = " ".join(parts)
    first, last = rules.split_name(name)
    assert rules.join_name(first, last) == name
    assert first == parts[0]


@FAST
@given(st.text(max_size=40))
def test_clean_text_is_idempotent_and_has_no_runs_of_whitespace(text: str) -> None:
    once = rules.clean_text(text)
    assert rules.clean_text(once) == once
    assert once is None or (once == once.strip() and not re.search(r"\s{2}", once))


@FAST
@given(st.integers(-(10**12), 10**12))
def test_money_round_trips_exactly_through_the_decimal_string(cents: int) -> None:
    text = rules.cents_to_decimal(cents)
    assert re.fullmatch(r"-?\d+\.\d{2}", text)
    assert rules.decimal_to_cents(text) == cents


@FAST
@given(st.integers(1, 10**9))
def test_speeds_are_positive_ints_in_the_same_unit(kbits: int) -> None:
    assert rules.speed_kbps(kbits) == kbits
    assert rules.speed_kbps(str(kbits)) == kbits


@FAST
@given(st.integers(-(10**6), 0))
def test_non_positive_speeds_are_refused(kbits: int) -> None:
    try:
        rules.speed_kbps(kbits)
    except ValueError:
        return
    raise AssertionError(f"{kbits} accepted as a speed")


@FAST
@given(addresses, addresses)
def test_covering_cidr_contains_both_ends_and_is_minimal(a: ipaddress.IPv4Address, b: ipaddress.IPv4Address) -> None:
    network = rules.covering_cidr(str(a), str(b))
    assert a in network and b in network
    if network.prefixlen < 32:
        assert not any(a in half and b in half for half in network.subnets(prefixlen_diff=1))


@FAST
@given(addresses, st.integers(0, 32))
def test_cidr_split_gives_the_network_address_and_mask(address: ipaddress.IPv4Address, prefix: int) -> None:
    network, mask = rules.split_cidr(f"{address}/{prefix}")
    assert ipaddress.IPv4Network(f"{network}/{mask}", strict=True) == ipaddress.IPv4Network(
        f"{address}/{prefix}", strict=False
    )


@FAST
@given(
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.integers(-12, 14).map(lambda h: dt.timezone(dt.timedelta(hours=h))),
)
def test_datetimes_become_the_date_in_their_own_offset(moment: dt.datetime, zone: dt.timezone) -> None:
    aware = moment.replace(tzinfo=zone)
    text = rules.splynx_date(aware.isoformat(timespec="seconds"))
    assert text == moment.date().isoformat()
    assert rules.splynx_date(text) == text


@FAST
@given(st.decimals(-90, 90, places=6), st.decimals(-180, 180, places=6))
def test_gps_from_geopoint_matches_gps_from_coordinates(lat: object, lng: object) -> None:
    assert rules.gps_from_geopoint(f"({lat}, {lng})") == rules.gps(lat, lng)


def test_address_rules() -> None:
    assert rules.street(" 12  Main St ", "Apt 4") == "12 Main St, Apt 4"
    assert rules.street(None, "  ") is None
    assert rules.state_code("US_TX") == "TX"
    assert rules.host_address("10.0.0.5/32") == "10.0.0.5"
    assert rules.slug("Paperless billing!") == "sonar_paperless_billing"
