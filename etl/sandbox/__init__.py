"""Faithful local simulators of Sonar (GraphQL) and Splynx (REST) for the demo, tests and benchmarks."""
