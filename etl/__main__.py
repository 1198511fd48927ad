"""`python -m etl`: the same command as the `etl` console script."""

from __future__ import annotations

from etl.cli import main

if __name__ == "__main__":
    main()
