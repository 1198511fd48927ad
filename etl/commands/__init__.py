"""CLI commands, one module per command group; each module exposes `register(app)`."""
