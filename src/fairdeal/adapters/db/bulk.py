"""Many rows in one statement on PostgreSQL: each column's values as one array, unnested.

psycopg 3's executemany sends every row as a statement of its own -- pipelined, so one round
trip, but bound, executed and answered row by row on both ends. A firing batch of 200 writes
200 disputes, 200 orders, 200 money movements, 400 events and 400 ledger entries: 1,400
statement executions, by py-spy a fifth of the worker's time (docs/performance.md, "3.
Deadline firing"). Here each table's rows are one
statement: ``INSERT ... SELECT * FROM unnest(arrays)``, and ``UPDATE ... FROM unnest(arrays)``
matched on id and version. Values go through each column's own bind processing (UTC
timestamps, JSON documents) as they would in SQLAlchemy's executemany.

SQLite keeps executemany: it runs in process, with no per-statement round trip to save.
(Tried: the rows as one JSON text through jsonb_to_recordset -- 0.04 ms less worker CPU per
firing and 0.04 ms more PostgreSQL CPU, no gain in all.)"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Table, TextClause, text
from sqlalchemy.engine import Connection, Dialect


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT the rows (every row with the same keys: column names)."""
    keys = tuple(rows[0])
    statement = _insert_statement(table, keys, conn.dialect)
    conn.execute(statement, _arrays(table, keys, rows, {}, conn.dialect))


def update_many(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    match: Mapping[str, str],
    keep_if_null: Mapping[str, str],
) -> int:
    """UPDATE the rows each parameter row names; returns how many rows matched.

    Every row has the same keys. ``match``: keys that name the row to update (key -> column,
    compared for equality: the id and the version read). ``keep_if_null``: keys whose value,
    when null, leaves the column as it is (key -> column). Every other key is a column set
    to the row's value.

    Rows are locked as the join meets them, not in a fixed order: the caller locks them in
    id order first (``lock_in_order``), so that two writers of overlapping batches wait for
    each other instead of deadlocking."""
    keys = tuple(rows[0])
    statement = _update_statement(
        table, keys, tuple(match.items()), tuple(keep_if_null.items()), conn.dialect
    )
    columns = {**match, **keep_if_null}
    result = conn.execute(statement, _arrays(table, keys, rows, columns, conn.dialect))
    return int(result.rowcount)


def lock_in_order(conn: Connection, table: Table, ids: Sequence[str]) -> None:
    """Lock the rows of these ids, in id order (SELECT ... ORDER BY id FOR UPDATE)."""
    conn.execute(_lock_statement(table, conn.dialect), {"ids": sorted(ids)})


def _arrays(
    table: Table,
    keys: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
    columns: Mapping[str, str],
    dialect: Dialect,
) -> dict[str, list[Any]]:
    if any(len(row) != len(keys) for row in rows):
        raise ValueError(f"rows for {table.name} with different keys")
    arrays: dict[str, Any] = {}
    for i, key in enumerate(keys):
        column = table.c[columns.get(key, key)]
        values = [row[key] for row in rows]
        if isinstance(column.type, JSON):
            # One JSON array of the documents, encoded at once (the engine's JSON encoder):
            # psycopg's text array of documents escaped each document with a regex.
            arrays[f"a{i}"] = orjson.dumps(values).decode()
            continue
        process = _bind_processor(table, column.name, dialect)
        arrays[f"a{i}"] = values if process is None else [process(v) for v in values]
    return arrays


def _bind_processor(table: Table, column: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    processor: Callable[[Any], Any] | None = table.c[column].type._cached_bind_processor(dialect)
    return processor


def _unnest(
    table: Table, keys: tuple[str, ...], columns: Mapping[str, str], dialect: Dialect
) -> str:
    """ROWS FROM (unnest(CAST(:a0 AS type[])), ...) AS v("key0", ...): the arrays side by
    side, one row per index. The casts give every array its column's type (psycopg sends a
    list of strings as text[]); a JSON column's values come as one JSON array."""
    sources = []
    for i, key in enumerate(keys):
        column = table.c[columns.get(key, key)]
        if isinstance(column.type, JSON):
            sources.append(f"jsonb_array_elements(CAST(:a{i} AS jsonb))")
        else:
            sources.append(f"unnest(CAST(:a{i} AS {column.type.compile(dialect=dialect)}[]))")
    names = ", ".join(f'"{key}"' for key in keys)
    return f"ROWS FROM ({', '.join(sources)}) AS v({names})"


@functools.cache
def _insert_statement(table: Table, keys: tuple[str, ...], dialect: Dialect) -> TextClause:
    names = ", ".join(f'"{key}"' for key in keys)
    return text(
        f'INSERT INTO "{table.name}" ({names}) SELECT * FROM {_unnest(table, keys, {}, dialect)}'
    )


@functools.cache
def _update_statement(
    table: Table,
    keys: tuple[str, ...],
    match: tuple[tuple[str, str], ...],
    keep_if_null: tuple[tuple[str, str], ...],
    dialect: Dialect,
) -> TextClause:
    special = {key for key, _ in match} | {key for key, _ in keep_if_null}
    assignments = [f'"{key}" = v."{key}"' for key in keys if key not in special]
    assignments += [
        f'"{column}" = COALESCE(v."{key}", t."{column}")' for key, column in keep_if_null
    ]
    conditions = " AND ".join(f't."{column}" = v."{key}"' for key, column in match)
    source = _unnest(table, keys, {**dict(match), **dict(keep_if_null)}, dialect)
    return text(
        f'UPDATE "{table.name}" AS t SET {", ".join(assignments)} FROM {source} WHERE {conditions}'
    )


@functools.cache
def _lock_statement(table: Table, dialect: Dialect) -> TextClause:
    id_type = table.c.id.type.compile(dialect=dialect)
    return text(
        f'SELECT id FROM "{table.name}" WHERE id = ANY(CAST(:ids AS {id_type}[]))'
        " ORDER BY id FOR UPDATE"
    )
