"""Database destinations, one module per engine family, behind `loaders.databases.Destination`."""
