"""The state ledger: tables, migrations and the checkpoint API every stage writes through."""
