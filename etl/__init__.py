"""Resumable Sonar to Splynx migration: CLI, configuration, pipeline engine and sandbox."""

__version__ = "0.1.0"
