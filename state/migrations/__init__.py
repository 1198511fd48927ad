"""Alembic migrations of the ledger; `etl init` runs them to head."""
