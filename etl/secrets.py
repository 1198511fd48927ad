"""RADIUS passwords at load time: read from Sonar for a batch, injected into copies of its staged records.

Why here and not in staging: staging never holds a password (extractors/sonar_secrets.py stages a digest
in its place). The load stage calls `RadiusPasswords.inject` on each batch just before transforming it;
the passwords then live in memory only, for that batch, and reach Splynx in the service's `password`.
The reads go through the run's Sonar extractor, so they share its pacing and retries.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from extractors.sonar_secrets import DIGEST, PASSWORD, password_digest
from transformers.records import entities
from transformers.service_access import paired_radius

RADIUS_OF: dict[str, Callable[[Mapping[str, Any]], Mapping[str, Any] | None]] = {
    "account_service": paired_radius,  # an internet service's login is its paired RADIUS account
    "radius_account": lambda record: record,  # an extra login's service is the RADIUS account itself
}
"""Entity -> the staged RADIUS account (holding the digest) whose password a record's write needs."""
UNREADABLE_FIX = (
    "the RADIUS account was deleted or changed in Sonar after extraction: `etl resume` extracts the "
    "service again and loads it with the current password"
)


class PasswordReader(Protocol):
    """What `RadiusPasswords` needs from the extractor: records of an auxiliary query by id."""

    def by_id(self, fold: str, ids: Iterable[Any]) -> dict[str, dict[str, Any]]:
        """Records of `fold` whose id is one of `ids`, by id."""


@dataclass(frozen=True)
class Unreadable:
    """A record whose paired RADIUS password Sonar did not return (deleted or changed since extraction)."""

    record_id: str
    radius_id: str


@dataclass
class RadiusPasswords:
    """Injects, per batch of staged account services, the password of the RADIUS account each pairs with."""

    reader: PasswordReader

    def inject(
        self, entity: str, records: Sequence[Mapping[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[Unreadable]]:
        """Copies of `records` with their paired password, and the records whose password is unreadable.

        A password that changed since extraction (its digest no longer matches) counts as unreadable: the
        staged record is stale, and loading it would record the old digest as migrated.
        """
        radius_of = RADIUS_OF.get(entity)
        if radius_of is None:
            return [dict(r) for r in records], []
        pairs = [(record, radius_of(record)) for record in records]
        wanted = {str(p["id"]) for _, p in pairs if p is not None and p.get(DIGEST)}
        found = self.reader.by_id("radius_account_passwords", wanted) if wanted else {}
        out: list[dict[str, Any]] = []
        unreadable: list[Unreadable] = []
        for record, paired in pairs:
            if paired is None or not paired.get(DIGEST):
                out.append(dict(record))
                continue
            rid = str(paired["id"])
            password = (found.get(rid) or {}).get(PASSWORD)
            if not password or password_digest(rid, str(password)) != paired[DIGEST]:
                unreadable.append(Unreadable(str(record["id"]), rid))
                continue
            out.append(_with_password(record, rid, str(password)))
        return out, unreadable


def _with_password(record: Mapping[str, Any], radius_id: str, password: str) -> dict[str, Any]:
    """A deep copy of the record whose RADIUS account `radius_id` carries its password."""
    result = copy.deepcopy(dict(record))
    for radius in [result, *entities((result.get("account") or {}).get("radius_accounts"))]:
        if radius is result and DIGEST not in result:  # the record is an account service, not a RADIUS account
            continue
        if str(radius.get("id")) == radius_id:
            assert isinstance(radius, dict)
            radius[PASSWORD] = password
    return result


__all__ = ["UNREADABLE_FIX", "PasswordReader", "RadiusPasswords", "Unreadable"]
