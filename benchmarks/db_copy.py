"""Benchmark `etl db copy` MySQL → PostgreSQL against the engines' own bulk path, in the same run.

Figures are ratios (the machine is shared and noisy):
  * copy rate / bulk rate, where the bulk path is `mysql --batch` piped into PostgreSQL's
    `COPY … FROM STDIN` (the fastest way the two engines' own tools move a table);
  * checkpoint overhead: seconds spent in ledger writes / total seconds of the copy.

Usage: .venv/bin/python benchmarks/db_copy.py [--small] [--rows N] [--batch-size N]
Needs MariaDB on 127.0.0.1:3306 (root) and PostgreSQL on 127.0.0.1:5432 (postgres), plus the
`mysql` and `psql` clients on PATH.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path: put the project root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from etl.dbcopy.copier import CopyOptions, copy_database  # noqa: E402
from state.ledger import Ledger  # noqa: E402

MYSQL = "mysql://root@127.0.0.1:3306"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
PG_DDL = (
    "CREATE TABLE account (id INTEGER PRIMARY KEY, login VARCHAR(40) NOT NULL, balance NUMERIC(12,2),"
    " created TIMESTAMP, note TEXT, active BOOLEAN)"
)


def mysql_engine(db: str = "") -> sa.Engine:
    return sa.create_engine(f"{MYSQL.replace('mysql://', 'mysql+pymysql://')}/{db}")


def pg_engine(db: str = "test") -> sa.Engine:
    return sa.create_engine(
        f"{POSTGRES.replace('postgresql://', 'postgresql+psycopg2://')}/{db}", isolation_level="AUTOCOMMIT"
    )


def seed(db: str, rows: int) -> None:
    """N rows generated server-side by MariaDB's sequence engine."""
    with mysql_engine().begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{db}`")
    with mysql_engine(db).begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE account (id INT PRIMARY KEY, login VARCHAR(40) NOT NULL, balance DECIMAL(12,2),"
            " created DATETIME, note TEXT, active TINYINT(1))"
        )
        conn.exec_driver_sql(
            "INSERT INTO account SELECT seq, CONCAT('user', seq), seq / 100, '2024-01-01' + INTERVAL seq SECOND,"
            f" REPEAT('x', 40), MOD(seq, 2) FROM seq_1_to_{rows}"
        )


def bulk_baseline(src_db: str, dst_db: str) -> float:
    """Seconds for `mysql --batch … | psql -c '\\copy account FROM STDIN'`."""
    with pg_engine(dst_db).connect() as conn:
        conn.exec_driver_sql(PG_DDL)
    start = time.perf_counter()
    dump = subprocess.Popen(
        [
            "mysql",
            "-h127.0.0.1",
            "-uroot",
            "--batch",
            "--skip-column-names",
            src_db,
            "-e",
            "SELECT id, login, balance, created, note, active FROM account",
        ],
        stdout=subprocess.PIPE,
    )
    load = subprocess.run(
        ["psql", "-h127.0.0.1", "-Upostgres", "-q", dst_db, "-c", "\\copy account FROM STDIN"],
        stdin=dump.stdout,
        check=True,
        capture_output=True,
    )
    dump.wait()
    assert dump.returncode == 0 and load.returncode == 0
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="50 000 rows (CI)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=10_000)
    args = parser.parse_args()
    rows = args.rows or (50_000 if args.small else 1_000_000)
    tag = uuid.uuid4().hex[:8]
    src_db, bulk_db, copy_db = f"etl_bench_{tag}", f"etl_bench_bulk_{tag}", f"etl_bench_copy_{tag}"
    try:
        seed(src_db, rows)
        with pg_engine().connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{bulk_db}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{copy_db}"')
        bulk = bulk_baseline(src_db, bulk_db)
        with tempfile.TemporaryDirectory() as folder:
            ledger = Ledger.open(f"sqlite:///{folder}/ledger.db")
            options = CopyOptions(batch_size=args.batch_size, staging=Path(folder) / "staging")
            report = copy_database(f"{MYSQL}/{src_db}", f"{POSTGRES}/{copy_db}", ledger, options)
            ledger.close()
        copied = sum(d.rows for d in report.datasets)
        assert copied == rows, (copied, rows)
        print(f"rows: {rows}, batch size: {args.batch_size}, batches: {sum(d.batches for d in report.datasets)}")
        print(f"bulk path (mysql --batch | psql \\copy): {bulk:.2f}s = {rows / bulk:,.0f} rows/s")
        print(
            f"etl db copy (checkpointed, verified, staged): {report.seconds:.2f}s = {rows / report.seconds:,.0f} rows/s"
        )
        print(f"ratio etl db copy / bulk path (rows/s): {bulk / report.seconds:.3f}")
        print(
            f"checkpoint overhead (ledger seconds / total): {report.ledger_seconds / report.seconds:.4f}"
            f" ({report.ledger_seconds:.2f}s)"
        )
    finally:
        with mysql_engine().begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{src_db}`")
        with pg_engine().connect() as conn:
            for db in (bulk_db, copy_db):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
