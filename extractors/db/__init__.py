"""Database sources, one module per engine family, behind `extractors.databases.Source`."""
