"""Additional-field definitions: the Splynx columns that hold Sonar facts without a Splynx field.

Why declared up front: Splynx refuses a value for an additional attribute whose definition does not
exist, so every definition a transformer writes to must be created (in the FOUNDATION phase) before
the first record that uses it. Each entity module lists its own in `ADDITIONAL_FIELDS`; the registry
adds the `sonar_id` marker definition for every module we write to.
"""

from __future__ import annotations

from typing import Any

MARKER_TITLE = "Sonar ID"


def definition(name: str, title: str, kind: str = "string", *, unique: bool = False) -> dict[str, Any]:
    """The body of `POST admin/config/additional-fields/{module}` for one read-mostly migration column."""
    return {
        "name": name,
        "title": title,
        "type": kind,
        "is_required": False,
        "is_unique": unique,
        "is_add": False,
        "show_in_list": False,
        "searchable": True,
        "readonly": False,
        "disabled": False,
    }


def marker_definition(marker_field: str = "sonar_id") -> dict[str, Any]:
    """The migration marker: unique, so a second record with the same Sonar id is refused by Splynx itself."""
    return definition(marker_field, MARKER_TITLE, unique=True)
