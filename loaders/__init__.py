"""Destinations: the Splynx REST API, file stores and databases."""
