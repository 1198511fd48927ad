"""MySQL/MariaDB, PostgreSQL and SQLite as copy destinations.

Idempotent batches: a keyed batch is written in one transaction that first deletes the batch's
keys, then inserts the rows, then reads them back and compares checksums before committing — a
batch written twice leaves one copy, and a batch that would not read back identically is never
committed. A batch of a table without a key cannot be found again by key, so it commits together
with a marker row in `_etl_dbcopy_batch` (same transaction); a resumed copy sees the marker and
does not write that batch again.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from etl.dbcopy.connect import sql_engine
from etl.dbcopy.errors import BatchError, ChecksumMismatch, SchemaRefused, ValueRefused
from etl.dbcopy.fit import first_unfit
from etl.dbcopy.keys import decode_key, encode_key
from etl.dbcopy.model import ColumnInfo, Dataset, KeyRange, Row
from etl.dbcopy.refusal import reason_of, refusal
from etl.dbcopy.rowhash import canonical, combine, row_hash, values_checksum
from etl.dbcopy.typemap import prepare_value, preparer
from etl.dbcopy.urls import DbUrl
from etl.errors import ConfigError
from extractors.db.relational import compare_key, driver_rows
from loaders.db.pgcopy import copy_rows, copy_safe
from loaders.db.schema import ForeignKey, build_table, foreign_keys

MARKER_TABLE = "_etl_dbcopy_batch"
IN_LIST = 500  # keys per IN (...) list: far below every engine's parameter limit
# Raised while a value is bound or converted (psycopg2 and NUL, sqlite3 and 2**63, MySQL TIME beyond a day):
# like the driver's own errors, they are a batch the destination refuses, not a crash.
VALUE_FAILURES: tuple[type[Exception], ...] = (sa.exc.StatementError, ValueError, OverflowError)


def _marker_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        MARKER_TABLE,
        metadata,
        sa.Column("copy_key", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key_from", sa.String(255)),
        sa.Column("key_to", sa.String(255)),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
    )


def _parts(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), IN_LIST):
        yield items[start : start + IN_LIST]


class RelationalDestination:
    """A SQL database written table by table in idempotent batches."""

    def __init__(self, url: DbUrl) -> None:
        self.url = url
        self.engine = sql_engine(url, must_exist=False)
        self.dialect = url.engine
        self.tables: dict[str, sa.Table] = {}
        self.marker = _marker_table(sa.MetaData())
        self.pending_fks: list[ForeignKey] = []
        self._driver_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error  # raw errors, as COPY raises

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    # --- schema -------------------------------------------------------------------------------

    def prepare(self, datasets: Sequence[Dataset], source_engine: str, *, create: bool, final: bool) -> None:
        """Create missing tables parents first; foreign keys now (`final` or SQLite) or in finish()."""
        existing = set(sa.inspect(self.engine).get_table_names())
        names = [d.name for d in datasets]
        if create:
            metadata, used = sa.MetaData(), set[str]()
            fks = [fk for d in datasets for fk in foreign_keys(d, names)]
            built = {d.name: build_table(d, metadata, source_engine, self.dialect, used) for d in datasets}
            inline = final or self.dialect == "sqlite"
            if inline:
                for fk in fks:
                    built[fk.table].append_constraint(fk.constraint())
            self._create([built[d.name] for d in datasets if d.name not in existing])
            self.pending_fks = [] if inline else [fk for fk in fks if fk.table not in existing]
        elif missing := [n for n in names if n not in existing]:
            raise ConfigError(
                f"table(s) {', '.join(missing)} do not exist in {self.url.redacted}",
                fix="drop --data-only so the tables are created",
            )
        self._reflect(names)
        if not final and any(not d.keyed for d in datasets):  # only a copy that writes rows needs markers
            self.marker.create(self.engine, checkfirst=True)

    def _create(self, tables: Sequence[sa.Table]) -> None:
        """Create tables parents first; one the destination refuses (row too large...) is named with the reason."""
        for table in tables:
            try:
                table.create(self.engine, checkfirst=True)
            except sa.exc.DBAPIError as exc:
                raise SchemaRefused(table.name, reason_of(exc.orig or exc)) from None

    def _reflect(self, names: Sequence[str]) -> None:
        metadata = sa.MetaData()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            metadata.reflect(bind=self.engine, only=list(names), resolve_fks=False)
        self.tables = {name: metadata.tables[name] for name in names}

    def finish(self, datasets: Sequence[Dataset]) -> None:
        """Add the deferred foreign keys and move PostgreSQL sequences past the copied ids."""
        inspector = sa.inspect(self.engine)
        with self.engine.begin() as conn:
            for fk in self.pending_fks:
                present = {tuple(f["constrained_columns"]) for f in inspector.get_foreign_keys(fk.table)}
                if fk.columns not in present:
                    table = self.tables[fk.table]
                    constraint = fk.constraint()
                    sa.Table(fk.referred_table, table.metadata, autoload_with=conn, extend_existing=True)
                    table.append_constraint(constraint)
                    conn.execute(sa.schema.AddConstraint(constraint))
            if self.dialect == "postgresql":
                self._bump_sequences(conn, datasets)
        self.pending_fks = []

    def _bump_sequences(self, conn: sa.Connection, datasets: Sequence[Dataset]) -> None:
        quote = conn.dialect.identifier_preparer.quote
        for dataset in datasets:
            table = self.tables[dataset.name]
            for column in table.primary_key.columns:
                if not isinstance(column.type, sa.Integer):
                    continue
                c, t = quote(column.name), quote(table.name)
                bump = f"SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE(MAX({c}), 1), MAX({c}) IS NOT NULL)"
                conn.execute(sa.text(f"{bump} FROM {t}"), {"t": t, "c": column.name})

    # --- batches ------------------------------------------------------------------------------

    def _prepare_key(self, dataset: Dataset, table: sa.Table, row: Row) -> Row:
        """The key columns of a source row as the destination stores them (other values may not even fit)."""
        keyed = [c for c in dataset.columns if c.name in dataset.key]
        return {
            c.name: prepare_value(row.get(c.name), c.kind, c.source_type, table.c[c.name].type, self.dialect)
            for c in keyed
        }

    def _key_filter(self, dataset: Dataset, table: sa.Table, keys: Sequence[tuple[Any, ...]]) -> Any:
        if len(dataset.key) == 1:
            return table.c[dataset.key[0]].in_([k[0] for k in keys])
        return sa.tuple_(*[table.c[k] for k in dataset.key]).in_(list(keys))

    def _keys(self, dataset: Dataset, rows: Sequence[Row]) -> list[tuple[Any, ...]]:
        return [tuple(row[k] for k in dataset.key) for row in rows]

    def _select_keys(self, conn: sa.Connection, dataset: Dataset, keys: Sequence[tuple[Any, ...]]) -> list[Row]:
        table = self.tables[dataset.name]
        found: list[Row] = []
        for part in _parts(keys):
            found += [
                dict(r) for r in conn.execute(sa.select(table).where(self._key_filter(dataset, table, part))).mappings()
            ]
        return found

    def committed(self, dataset: Dataset, key_range: KeyRange, copy_key: str) -> str | None:
        """The checksum recorded with an unkeyed batch that was committed before a crash."""
        if dataset.keyed:
            return None  # keyed batches are simply written again
        query = sa.select(self.marker).where(self.marker.c.copy_key == copy_key, self.marker.c.seq == key_range.seq)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
        if row is None:
            return None
        if (row["key_from"], row["key_to"]) != (key_range.key_from, key_range.key_to):
            raise ConfigError(
                f"{self.url.redacted} table {dataset.name} holds batch {key_range.seq} of a different plan",
                fix=f"empty table {dataset.name} on the destination and rerun",
            )
        return str(row["checksum"])

    def write(self, dataset: Dataset, key_range: KeyRange, rows: list[Row], *, copy_key: str, checksum: str) -> None:
        """Write one batch in one transaction, or raise the BatchError that says why the destination refused it.

        Driver errors and values that fail to bind are checked against what each column can hold
        (etl/dbcopy/fit.py), so the message names the column, the row and the value.
        """
        table = self.tables[dataset.name]
        try:
            self._write(dataset, table, key_range, rows, copy_key, checksum)
        except BatchError:
            raise
        except (*VALUE_FAILURES, self._driver_error) as exc:
            unfit = first_unfit(dataset, table, rows, self.dialect)
            raise refusal(exc, dataset.name, key_range.describe(), unfit) from None

    def _write(
        self, dataset: Dataset, table: sa.Table, key_range: KeyRange, rows: list[Row], copy_key: str, checksum: str
    ) -> None:
        """Replace the batch by key and read it back, or insert it with a marker (tables without a key)."""
        values = self._prepare_values(dataset, table, rows)
        with self.engine.begin() as conn:
            ranged = _comparable_everywhere(dataset)
            keys = self._value_keys(dataset, values) if dataset.keyed else []
            if ranged:
                conn.execute(table.delete().where(_range_filter(dataset, table, key_range)))
            for part in [] if ranged else _parts(keys):
                conn.execute(table.delete().where(self._key_filter(dataset, table, part)))
            self._insert(conn, dataset, table, values)
            if not dataset.keyed:
                conn.execute(
                    self.marker.insert().values(
                        copy_key=copy_key,
                        seq=key_range.seq,
                        key_from=key_range.key_from,
                        key_to=key_range.key_to,
                        row_count=len(rows),
                        checksum=checksum,
                    )
                )
                return
            if ranged:
                back = self._read_values(conn, dataset, _range_filter(dataset, table, key_range))
            else:
                back = [
                    v
                    for part in _parts(keys)
                    for v in self._read_values(conn, dataset, self._key_filter(dataset, table, part))
                ]
            self._compare(dataset, key_range, rows, back, checksum)

    def _prepare_values(self, dataset: Dataset, table: sa.Table, rows: list[Row]) -> list[tuple[Any, ...]]:
        """Source rows as value tuples in column order, each value made storable by this engine."""
        preparers = [preparer(c, table.c[c.name].type, self.dialect) for c in dataset.columns]
        names = [c.name for c in dataset.columns]
        return [tuple([p(row.get(n)) for p, n in zip(preparers, names, strict=True)]) for row in rows]

    def _value_keys(self, dataset: Dataset, values: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        positions = [[c.name for c in dataset.columns].index(k) for k in dataset.key]
        return [tuple(v[i] for i in positions) for v in values]

    def _insert(self, conn: sa.Connection, dataset: Dataset, table: sa.Table, values: list[tuple[Any, ...]]) -> None:
        """PostgreSQL takes the batch by COPY; the other engines (and exotic columns) by executemany."""
        if not values:
            return
        if self.dialect == "postgresql" and copy_safe(dataset, table):
            copy_rows(conn, dataset, table, values)
            return
        names = [c.name for c in dataset.columns]
        conn.execute(table.insert(), [dict(zip(names, v, strict=True)) for v in values])

    def _read_values(self, conn: sa.Connection, dataset: Dataset, where: Any) -> list[tuple[Any, ...]]:
        """Destination rows matching `where`, as value tuples in the dataset's column order."""
        table = self.tables[dataset.name]
        query = sa.select(*[table.c[c.name] for c in dataset.columns]).where(where)
        if self.dialect == "sqlite":
            return [tuple(r) for r in conn.execute(query)]
        return driver_rows(conn, query)

    def _compare(
        self, dataset: Dataset, key_range: KeyRange, rows: list[Row], back: list[tuple[Any, ...]], expected: str
    ) -> None:
        if len(back) != len(rows):
            raise ChecksumMismatch(
                dataset.name, key_range.describe(), f"{len(rows)} rows written, {len(back)} read back"
            )
        if expected == values_checksum(dataset.columns, back):
            return
        unfit = first_unfit(dataset, self.tables[dataset.name], rows, self.dialect)
        if unfit is not None:
            raise ValueRefused(dataset.name, key_range.describe(), unfit.column, unfit.reason, unfit.row_key)
        names = [c.name for c in dataset.columns]
        change = _first_difference(dataset.columns, dataset.key, rows, [dict(zip(names, v, strict=True)) for v in back])
        if change is None:
            raise ChecksumMismatch(dataset.name, key_range.describe(), "rows read back differ")
        raise ValueRefused(dataset.name, key_range.describe(), change.column, change.detail, change.row_key)

    def read_like(self, dataset: Dataset, rows: list[Row]) -> list[Row]:
        """Destination rows with the keys of `rows`."""
        table = self.tables[dataset.name]
        keys = self._keys(dataset, [self._prepare_key(dataset, table, r) for r in rows])
        with self.engine.connect() as conn:
            return self._select_keys(conn, dataset, keys)

    def checksum_all(self, dataset: Dataset) -> tuple[int, str]:
        """Count and checksum of a whole table, streamed."""
        table = self.tables[dataset.name]
        count, hashes = 0, []
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(sa.select(table)).mappings()
            for row in result:
                count += 1
                hashes.append(row_hash(dataset.columns, dict(row)))
        return count, combine(hashes)

    def count(self, dataset: Dataset) -> int:
        """Rows in the destination table."""
        table = self.tables[dataset.name]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def drop_markers(self, copy_keys: Sequence[str]) -> None:
        """Forget the markers of finished copies; drop the marker table once it is empty."""
        if not sa.inspect(self.engine).has_table(MARKER_TABLE):
            return
        with self.engine.begin() as conn:
            conn.execute(self.marker.delete().where(self.marker.c.copy_key.in_(list(copy_keys))))
            left = conn.execute(sa.select(sa.func.count()).select_from(self.marker)).scalar_one()
        if not left:
            self.marker.drop(self.engine, checkfirst=True)


RANGE_SAFE_KINDS = frozenset({"int", "uint64", "decimal", "date", "datetime"})


def _comparable_everywhere(dataset: Dataset) -> bool:
    """Numbers and dates order alike on every engine; strings do not (collations), so they go by key list."""
    kinds = {c.name: c.kind for c in dataset.columns}
    return dataset.keyed and all(kinds.get(k) in RANGE_SAFE_KINDS for k in dataset.key)


def _range_filter(dataset: Dataset, table: sa.Table, key_range: KeyRange) -> Any:
    """The destination rows of a key range: (key_from, key_to]."""
    columns = [table.c[k] for k in dataset.key]
    clauses = []
    if key_range.key_from is not None:
        clauses.append(compare_key(columns, decode_key(key_range.key_from), ">"))
    if key_range.key_to is not None:
        clauses.append(compare_key(columns, decode_key(key_range.key_to), "<="))
    return sa.and_(sa.true(), *clauses)


@dataclass(frozen=True)
class Difference:
    """A value the destination stored differently from the source: a lossy type mapping."""

    column: str
    row_key: str
    detail: str


def _first_difference(
    columns: Sequence[ColumnInfo], key: Sequence[str], rows: list[Row], back: list[Row]
) -> Difference | None:
    """The first value whose canonical form changed on the way, to point the user at a lossy type mapping."""
    by_key = {tuple(row[k] for k in key): row for row in back}
    for row in rows:
        row_key = tuple(row[k] for k in key)
        other = by_key.get(row_key)
        if other is None:
            return Difference(", ".join(key), encode_key(row_key), "no row with this key was read back")
        for column in columns:
            before, after = row.get(column.name), other.get(column.name)
            if canonical(before, column.kind) != canonical(after, column.kind):
                detail = f"{str(before)[:40]!r} was stored as {str(after)[:40]!r}"
                return Difference(column.name, encode_key(row_key), detail)
    return None
