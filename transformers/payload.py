"""The one type that crosses from transform to load: what to write to Splynx, and where."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SplynxPayload:
    """A write to Splynx, already in Splynx field names and units.

    Attributes:
        target: key of the loader's target registry (`customer`, `internet_tariff`, ...).
        body: JSON body for POST or PUT.
        marker: migration marker stored in the `sonar_id` additional attribute, e.g. ``account:1234``;
            it is how a resumed run finds a record whose creation it could not confirm.
        parent: path parameters such as ``{"customer_id": "17"}`` for nested resources.
        extras: follow-up writes keyed on the created record (customer info, billing).
    """

    target: str
    body: dict[str, Any]
    marker: str
    parent: dict[str, str] = field(default_factory=dict)
    extras: tuple[SplynxPayload, ...] = ()
