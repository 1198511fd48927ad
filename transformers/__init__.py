"""Pure functions from Sonar records (plus overrides and the id map) to Splynx payloads."""
