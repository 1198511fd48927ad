"""Checks before anything is written: both systems answer, we may write, the fields we need exist.

Why up front: a migration that discovers a missing permission after 5 000 customers leaves the
operator with a half-done run; one that refuses to start, naming the permission, costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from loguru import logger

from etl.errors import ConfigError
from extractors.sonar import SonarExtractor
from loaders.splynx import create_by_name
from loaders.splynx_client import NotFound, SplynxClient, ValidationRefused
from loaders.splynx_targets import target
from transformers.registry import ALL_TARGETS


def check_sonar(extractor: SonarExtractor) -> int:
    """Ask Sonar for its account count: proves the URL, the token and read access; returns the count."""
    return extractor.count("account")


def check_splynx(client: SplynxClient, entities: Iterable[str]) -> None:
    """Prove the API key works and may read every collection the migration writes to."""
    client.check()
    keys = dict.fromkeys(key for entity in entities for key in ALL_TARGETS[entity])
    for key in keys:
        tgt = target(key)
        if not tgt.put_only:
            client.count(tgt.collection_path({"customer_id": "0", "module": "customers"}))


def require_settings(settings: Any) -> None:
    """Refuse to start without the connection settings, naming the variable to set."""
    needed = {
        "ETL_SONAR_URL": settings.sonar_url,
        "ETL_SONAR_TOKEN": settings.sonar_token,
        "ETL_SPLYNX_URL": settings.splynx_url,
        "ETL_SPLYNX_KEY": settings.splynx_key,
        "ETL_SPLYNX_SECRET": settings.splynx_secret,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise ConfigError(
            f"{missing[0]} is not set" + (f" (nor {', '.join(missing[1:])})" if len(missing) > 1 else ""),
            fix="export it, put the URL in etl.toml, or run `etl sandbox up` for a local pair",
        )


def ensure_additional_fields(client: SplynxClient, definitions: Mapping[str, list[dict[str, Any]]]) -> int:
    """Create every additional-field definition the transformers write to; returns how many were new."""
    created = 0
    for module, bodies in definitions.items():
        path = f"admin/config/additional-fields/{module}"
        for body in bodies:
            try:
                client.get(f"{path}--{body['name']}")
                continue
            except NotFound:
                pass
            try:
                create_by_name(client, path, body)
                created += 1
                logger.info("created additional field {}.{}", module, body["name"])
            except ValidationRefused as exc:
                if not any(f == "name" for f, _ in exc.errors):
                    raise
    return created


__all__ = ["check_sonar", "check_splynx", "ensure_additional_fields", "require_settings"]
