"""`etl db copy` between every pair of engines, plus Mongo, Redis, bad input and verification."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import mongomock
import pyarrow.parquet as pq
import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from typer.testing import CliRunner

from etl.dbcopy.copier import CopyOptions, copy_database
from etl.dbcopy.errors import ChecksumMismatch
from etl.dbcopy.plan import plan_copy
from etl.dbcopy.verify import verify_copy
from etl.errors import ConfigError, ConnectionFailure
from state.ledger import Ledger
from state.states import ChunkState, RunStatus, TransferState
from tests.fixtures.databases import MakeDb, sa_url

ENGINES = ["mysql", "postgresql", "sqlite"]
PAIRS = [(s, d) for s in ENGINES for d in ENGINES]
BLOB = bytes(range(256)) * 12_000  # ~3 MB


def seed_portable(url: str, rows: int = 40) -> None:
    """Parent/child tables with a foreign key, a table without a key, NULLs, unicode and a large blob."""
    engine = sa.create_engine(sa_url(url))
    md = sa.MetaData()
    region = sa.Table(
        "region",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(60), nullable=False, unique=True),
    )
    customer = sa.Table(
        "customer",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("region_id", sa.Integer, sa.ForeignKey("region.id")),
        sa.Column("login", sa.String(40), nullable=False),
        sa.Column("balance", sa.Numeric(12, 2)),
        sa.Column("active", sa.Boolean),
        sa.Column("created", sa.DateTime),
        sa.Column("notes", sa.Text),
        sa.Column("photo", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql")),
        sa.Index("ix_customer_login", "login"),
    )
    log = sa.Table("log", md, sa.Column("level", sa.String(10)), sa.Column("message", sa.Text))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(region.insert(), [{"id": i, "name": f"Région {i} ☃"} for i in range(1, 4)])
        conn.execute(
            customer.insert(),
            [
                {
                    "id": i,
                    "region_id": (i % 3) + 1 if i % 5 else None,
                    "login": f"user{i}",
                    "balance": Decimal(i * 7) / 4 if i % 4 else None,
                    "active": bool(i % 2),
                    "created": dt.datetime(2024, 1, 1, 12, 30) + dt.timedelta(hours=i),
                    "notes": "naïve café 日本語 🚀" if i % 3 else None,
                    "photo": BLOB if i == 7 else (b"\x00\x01" * i if i % 2 else None),
                }
                for i in range(1, rows + 1)
            ],
        )
        conn.execute(log.insert(), [{"level": "info", "message": "same"} for _ in range(5)])
        conn.execute(
            log.insert(), [{"level": "warn", "message": f"m{i}"} for i in range(7)] + [{"level": None, "message": None}]
        )
    engine.dispose()


def table_rows(url: str, table: str, order: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(sa_url(url))
    with engine.connect() as conn:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)  # typed reads: SQLite dates parse
        keys = [reflected.c[name.strip()] for name in order.split(",")]
        rows = [tuple(r) for r in conn.execute(sa.select(reflected).order_by(*keys))]
    engine.dispose()
    return rows


def normalise(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Compare values, not driver types: memoryview → bytes, 1 → True for booleans, numbers exact."""

    def one(v: Any) -> Any:
        if isinstance(v, memoryview):
            return bytes(v)
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, float | Decimal):
            return Decimal(str(v)).normalize()
        return v

    return [tuple(one(v) for v in row) for row in rows]


@pytest.mark.services
@pytest.mark.parametrize(("src_engine", "dst_engine"), PAIRS, ids=[f"{s}-to-{d}" for s, d in PAIRS])
def test_copy_between_engines_is_identical_and_checkpointed(
    src_engine: str, dst_engine: str, make_db: MakeDb, copy_ledger: Ledger, tmp_path: Path
) -> None:
    src, dst = make_db(src_engine), make_db(dst_engine)
    seed_portable(src)
    report = copy_database(src, dst, copy_ledger, CopyOptions(batch_size=9, staging=tmp_path / "staging"))

    for table, order in (("region", "id"), ("customer", "id"), ("log", "level, message")):
        theirs, ours = normalise(table_rows(dst, table, order)), normalise(table_rows(src, table, order))
        assert sorted(theirs, key=repr) == sorted(ours, key=repr), table
    counts = {d.name: d.rows for d in report.datasets}
    assert counts == {"region": 3, "customer": 40, "log": 13}
    assert [d.name for d in report.datasets].index("region") < [d.name for d in report.datasets].index("customer")
    for transfer in copy_ledger.transfers(report.run_id):
        assert transfer.state == TransferState.DONE
        chunks = copy_ledger.chunks(transfer.id)
        assert chunks and all(c.state == ChunkState.VERIFIED and c.sha256 for c in chunks)
    assert copy_ledger.get_run(report.run_id).status == RunStatus.SUCCEEDED
    fks = sa.inspect(sa.create_engine(sa_url(dst))).get_foreign_keys("customer")
    assert [(f["referred_table"], f["constrained_columns"]) for f in fks] == [("region", ["region_id"])]
    assert verify_copy(src, dst, CopyOptions(batch_size=9)).mismatches == []


@pytest.mark.services
def test_batches_are_staged_as_parquet_with_the_batch_rows(
    make_db: MakeDb, copy_ledger: Ledger, tmp_path: Path
) -> None:
    src, dst = make_db("sqlite"), make_db("postgresql")
    seed_portable(src)
    report = copy_database(src, dst, copy_ledger, CopyOptions(batch_size=10, staging=tmp_path))
    customer = next(d for d in report.datasets if d.name == "customer")
    files = sorted((tmp_path / "dbcopy" / f"transfer={customer.transfer_id}").glob("batch-*.parquet"))
    assert len(files) == 4
    table = pq.read_table(files[0])
    assert table.column("id").to_pylist() == list(range(1, 11))
    assert sum(pq.read_table(f).num_rows for f in files) == 40


@pytest.mark.services
def test_rerunning_a_finished_copy_copies_nothing(make_db: MakeDb, copy_ledger: Ledger) -> None:
    src, dst = make_db("sqlite"), make_db("mysql")
    seed_portable(src)
    copy_database(src, dst, copy_ledger, CopyOptions(batch_size=9))
    again = copy_database(src, dst, copy_ledger, CopyOptions(batch_size=9))
    assert {d.status for d in again.datasets} == {"already copied"}
    assert len(table_rows(dst, "customer", "id")) == 40
    assert len(table_rows(dst, "log", "level")) == 13


@pytest.mark.services
def test_verification_names_the_table_and_key_range_of_a_tampered_batch(make_db: MakeDb, copy_ledger: Ledger) -> None:
    src, dst = make_db("mysql"), make_db("postgresql")
    seed_portable(src)
    copy_database(src, dst, copy_ledger, CopyOptions(batch_size=10))
    engine = sa.create_engine(sa_url(dst))
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE customer SET login = 'tampered' WHERE id = 15")
    engine.dispose()
    mismatches = verify_copy(src, dst, CopyOptions(batch_size=10)).mismatches
    assert [(m.dataset, m.key_range) for m in mismatches] == [("customer", "([10], [20]]")]


@pytest.mark.services
def test_dry_run_prints_the_plan_and_writes_nothing(
    make_db: MakeDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.cli import app

    src, dst = make_db("sqlite"), make_db("postgresql")
    seed_portable(src)
    monkeypatch.setenv("ETL_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["db", "copy", src, dst, "--dry-run", "--batch-size", "9"])
    assert result.exit_code == 0, result.output
    assert "customer" in result.output and "BYTEA" in result.output and "row position" in result.output
    assert sa.inspect(sa.create_engine(sa_url(dst))).get_table_names() == []
    plan = {p.name: p for p in plan_copy(src, dst, CopyOptions(batch_size=9))}
    assert (plan["customer"].rows, plan["customer"].batches) == (40, 5)


@pytest.mark.services
def test_schema_only_creates_tables_and_data_only_fills_them(make_db: MakeDb, copy_ledger: Ledger) -> None:
    src, dst = make_db("postgresql"), make_db("mysql")
    seed_portable(src)
    copy_database(src, dst, copy_ledger, CopyOptions(schema_only=True))
    assert set(sa.inspect(sa.create_engine(sa_url(dst))).get_table_names()) == {"region", "customer", "log"}
    assert table_rows(dst, "customer", "id") == []
    copy_database(src, dst, copy_ledger, CopyOptions(data_only=True, tables=("region", "customer")))
    assert len(table_rows(dst, "customer", "id")) == 40
    assert table_rows(dst, "log", "level") == []


def test_unknown_scheme_is_a_config_error(copy_ledger: Ledger) -> None:
    with pytest.raises(ConfigError, match="unsupported database URL scheme 'oracle'"):
        copy_database("oracle://scott:tiger@db/x", "sqlite:///x.db", copy_ledger, CopyOptions())
    assert copy_ledger.runs() == []


@pytest.mark.services
def test_missing_table_in_tables_is_named_and_nothing_is_recorded(make_db: MakeDb, copy_ledger: Ledger) -> None:
    src, dst = make_db("sqlite"), make_db("sqlite")
    seed_portable(src)
    with pytest.raises(ConfigError, match="table nosuch not found"):
        copy_database(src, dst, copy_ledger, CopyOptions(tables=("customer", "nosuch")))
    assert copy_ledger.runs() == []


@pytest.mark.services
def test_wrong_password_and_unreachable_server_are_one_line_without_the_password(
    copy_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.cli import app
    from tests.fixtures.services import free_port

    with pytest.raises(ConnectionFailure) as wrong:
        copy_database(
            "mysql://nobody:s3cretpw@127.0.0.1:3306/test", f"sqlite:///{tmp_path}/d.db", copy_ledger, CopyOptions()
        )
    assert "s3cretpw" not in wrong.value.one_line() and "***" in wrong.value.one_line()
    monkeypatch.setenv("ETL_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(
        app, ["db", "copy", f"postgresql://u:s3cretpw@127.0.0.1:{free_port()}/x", f"sqlite:///{tmp_path}/d.db"]
    )
    assert result.exit_code == ConnectionFailure.exit_code
    assert "cannot connect" in result.output and "s3cretpw" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert copy_ledger.runs() == []


class SharedMongo:
    """One in-process Mongo "server" per host, like a real deployment: clients of a host share data."""

    def __init__(self) -> None:
        self.servers: dict[str, mongomock.MongoClient] = {}

    def __call__(self, url: str) -> mongomock.MongoClient:
        host = url.split("//", 1)[1].split("/", 1)[0]
        if host not in self.servers:
            self.servers[host] = mongomock.MongoClient(url)
        client = mongomock.MongoClient(url, _store=self.servers[host]._store)
        return client


def test_mongo_collections_copy_by_id_ranges_with_indexes(copy_ledger: Ledger, tmp_path: Path) -> None:
    from bson import ObjectId

    mongo = SharedMongo()
    src_db = mongo("mongodb://src:27017/isp").get_default_database()
    docs = [
        {"_id": ObjectId(), "login": f"u{i}", "plan": {"mbps": i * 10, "tags": ["a", "b"]}, "n": None}
        for i in range(23)
    ]
    src_db.customers.insert_many(docs)
    src_db.customers.create_index([("login", 1)], unique=True, name="ux_login")
    src_db.events.insert_many([{"_id": i, "kind": "x" * i} for i in range(5)])
    options = CopyOptions(batch_size=5, mongo_client=mongo, staging=tmp_path)
    report = copy_database("mongodb://src:27017/isp", "mongodb://dst:27017/isp2", copy_ledger, options)

    dst_db = mongo("mongodb://dst:27017/isp2").get_default_database()
    assert sorted(dst_db.customers.find(), key=lambda d: d["login"]) == sorted(docs, key=lambda d: d["login"])
    assert dst_db.customers.index_information()["ux_login"]["unique"] is True
    assert {d.name: (d.rows, d.batches) for d in report.datasets} == {"customers": (23, 5), "events": (5, 1)}
    assert verify_copy("mongodb://src:27017/isp", "mongodb://dst:27017/isp2", options).mismatches == []
    dst_db.customers.update_one({"login": "u3"}, {"$set": {"login": "tampered"}})
    assert [
        m.dataset for m in verify_copy("mongodb://src:27017/isp", "mongodb://dst:27017/isp2", options).mismatches
    ] == ["customers"]


@pytest.mark.services
def test_redis_copy_keeps_every_type_and_ttl(redis_pair: tuple[str, str], copy_ledger: Ledger) -> None:
    src_url, dst_url = redis_pair
    src, dst = redis.Redis.from_url(src_url), redis.Redis.from_url(dst_url)
    for i in range(30):
        src.set(f"str:{i}", f"v{i}")
    src.set("session:ttl", "x", px=600_000)
    src.rpush("list", "a", "b", "a")
    src.sadd("set", "x", "y")
    src.zadd("zset", {"m1": 1.5, "m2": -2})
    src.hset("hash", mapping={"f1": "1", "f2": "ü"})
    src.xadd("stream", {"k": "v"})
    src.set("bin", bytes(range(256)))
    src.expire("hash", 3600)

    report = copy_database(src_url, dst_url, copy_ledger, CopyOptions(batch_size=8))
    assert report.datasets[0].rows >= 37 and report.datasets[0].batches >= 2
    assert sorted(dst.keys()) == sorted(src.keys())
    assert dst.lrange("list", 0, -1) == [b"a", b"b", b"a"]
    assert dst.zrange("zset", 0, -1, withscores=True) == [(b"m2", -2.0), (b"m1", 1.5)]
    assert dst.hgetall("hash") == {b"f1": b"1", b"f2": "ü".encode()}
    assert dst.xrange("stream") == src.xrange("stream")
    assert dst.get("bin") == bytes(range(256))
    assert 590_000 < dst.pttl("session:ttl") <= 600_000
    assert 3500 < dst.ttl("hash") <= 3600
    assert dst.ttl("str:1") == -1
    assert verify_copy(src_url, dst_url, CopyOptions(batch_size=8)).mismatches == []
    dst.set("str:3", "tampered")
    assert [m.dataset for m in verify_copy(src_url, dst_url, CopyOptions(batch_size=8)).mismatches] == ["*"]


def test_relational_to_redis_is_refused(copy_ledger: Ledger, tmp_path: Path) -> None:
    src = tmp_path / "s.db"
    sa.create_engine(f"sqlite:///{src}").connect().close()
    with pytest.raises(ConfigError, match="cannot copy sqlite into redis"):
        copy_database(f"sqlite:///{src}", "redis://127.0.0.1:6379/15", copy_ledger, CopyOptions())


def test_tampered_batch_error_is_checksum_mismatch() -> None:
    error = ChecksumMismatch("customer", "([10], [20]]", "rows differ")
    assert error.one_line().startswith("customer keys ([10], [20]]: rows differ")


@pytest.mark.services
def test_cli_copy_with_workers_stores_no_password_in_the_ledger(
    make_db: MakeDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.cli import app

    src, dst = make_db("sqlite"), make_db("postgresql")
    seed_portable(src, rows=12)
    with_password = dst.replace("postgres@", "postgres:hunter2@")  # trust auth ignores it; we must not keep it
    monkeypatch.setenv("ETL_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["db", "copy", src, with_password, "--workers", "3", "--batch-size", "5"])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'home' / 'ledger.db'}")
    try:
        transfers = ledger.transfers()
        assert {t.name for t in transfers} == {"region", "customer", "log"}
        assert all("hunter2" not in t.destination and ":***@" in t.destination for t in transfers)
        assert all("hunter2" not in (r.selection + r.options + (r.message or "")) for r in ledger.runs())
    finally:
        ledger.close()
    assert len(table_rows(dst, "customer", "id")) == 12
