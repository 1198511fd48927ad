"""Resumable database copies (`etl db copy`): planning, keyed batches, checksums and the ledger protocol."""
