"""RADIUS passwords are never staged: the extractor replaces each by a digest before a page is written.

Why: staging is Parquet on disk that outlives the run (`<home>/staging`), and a staged record's JSON is
what `source_hash` digests and what debugging tools show. A password must be in none of them. So the
extractor replaces each RADIUS account's `password` by `password_digest` (a sha256 of its id and the
password) before a page is staged: a changed password still changes the record's source hash, and the
next incremental run writes the service again. At load time `etl.secrets.RadiusPasswords` reads the
passwords a batch needs from Sonar by id and injects them into a copy of each record.
"""

from __future__ import annotations

import hashlib
from typing import Any

PASSWORD = "password"
DIGEST = "password_digest"


def password_digest(radius_id: Any, password: str) -> str:
    """A change detector, not a credential store: sha256 of `radius:<id>:<password>`.

    Why the id in it: two accounts with the same password get different digests, so the staged digests
    do not show which subscribers share a password. It is a fast hash: staging must still be protected
    like any export of customer data (docs/architecture.md, "Secrets").
    """
    return hashlib.sha256(f"radius:{radius_id}:{password}".encode()).hexdigest()


def seal(account: dict[str, Any]) -> dict[str, Any]:
    """The account as it may be staged: every RADIUS password replaced by its digest (in place, returned)."""
    connection = account.get("radius_accounts")
    items = connection.get("entities") if isinstance(connection, dict) else connection
    for radius in items if isinstance(items, list) else []:
        if isinstance(radius, dict):
            seal_one(radius)
    return account


def seal_one(radius: dict[str, Any]) -> dict[str, Any]:
    """One RADIUS account as it may be staged: its password replaced by its digest (in place, returned)."""
    password = radius.pop(PASSWORD, None)
    if password:
        radius[DIGEST] = password_digest(radius.get("id"), str(password))
    return radius


__all__ = ["DIGEST", "PASSWORD", "password_digest", "seal", "seal_one"]
