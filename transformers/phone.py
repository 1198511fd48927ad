"""Sonar phone numbers (national digits + an ISO country) -> E.164-like `+<calling code> <number>`.

Why: Sonar stores `number` without its country calling code and the country apart (`country: US`), so
the bare digits lose the country once they leave Sonar. Splynx `customers.phone` is free text,
varchar(256) on the live database, so the prefixed form always fits when the number did.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from transformers.rules import normalize_phone

# ITU-T E.164 country calling codes of the countries Sonar ISPs serve most; others keep the bare number.
CALLING_CODES: Mapping[str, str] = MappingProxyType(
    {
        "US": "1", "CA": "1", "PR": "1", "VI": "1", "GU": "1", "AS": "1", "MP": "1", "BS": "1", "BM": "1",
        "JM": "1", "TT": "1", "BB": "1", "DO": "1", "MX": "52", "GB": "44", "IE": "353", "AU": "61",
        "NZ": "64", "ZA": "27", "DE": "49", "FR": "33", "ES": "34", "IT": "39", "NL": "31", "BE": "32",
        "PT": "351", "BR": "55", "AR": "54", "CL": "56", "CO": "57", "PE": "51", "IN": "91", "PH": "63",
        "NG": "234", "KE": "254", "GH": "233", "PK": "92", "UA": "380", "PL": "48",
    }
)  # fmt: skip


def international_phone(number: object, country: object, extension: object = None) -> str | None:
    """`+<cc> <digits>` when the country's calling code is known and the number has no `+` yet.

    A number already written with `+` is trusted as international; one that already starts with the
    calling code of a NANP country (11 digits starting with 1) is not prefixed twice, and the national
    trunk prefix `0` is dropped (`020 7946 0018`, GB -> `+44 2079460018`) except where it is dialled
    internationally too (Italy).
    """
    normalised = normalize_phone(number, extension)
    code = CALLING_CODES.get(str(country or "").strip().upper())
    if normalised is None or code is None or normalised.startswith("+"):
        return normalised
    digits, sep, ext = normalised.partition(" ext ")
    nanp_with_code = code == "1" and len(digits) == 11 and digits.startswith("1")
    trunk_prefix = code != "1" and str(country).upper() != "IT" and digits.startswith("0")
    if nanp_with_code or trunk_prefix:
        digits = digits[1:]
    return f"+{code} {digits}{sep}{ext}"
