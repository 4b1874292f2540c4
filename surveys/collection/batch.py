"""The batch writer: new responses and their answers in one statement, built from the models.

One statement per batch, run in autocommit: one round trip and one commit for many responses. It
inserts the responses (column arrays through `unnest`: psycopg2 adapts a list in C, much faster
than a VALUES row per response), then their answers joined to the ids the first INSERT returned. A
key already stored (or twice in the batch) gets no row: that submission takes the ordinary path.

The column lists, their casts and the conflict target come from `Response._meta` and
`Answer._meta`: a new column on either model is written here without an edit.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from dataclasses import dataclass
from typing import Any, cast

import psycopg2
from django.db import DataError, IntegrityError, connections
from django.db.models import DateTimeField, Field, JSONField, UniqueConstraint

from ..models import Answer, Response

MAX_BATCH = 256
# What one row can cause (the connection stays usable; the statement ran in autocommit): text
# psycopg2 cannot send (a NUL, a lone surrogate: ValueError), a value PostgreSQL refuses. Anything
# else (a connection lost) fails the batch, whose members then take the ordinary path.
ROW_ERRORS = (ValueError, psycopg2.DataError, psycopg2.IntegrityError, DataError, IntegrityError)
# An answer's own columns; its organization and response come from the response it belongs to.
ANSWER_PARENT_COLUMNS = ("organization_id", "response_id")


@dataclass(eq=False)
class PendingResponse:
    """A validated new response waiting for its batch: its columns by attribute name (every stored
    column but the id and the auto_now time), its answers' columns, and its outcome."""

    columns: dict[str, Any]
    answers: list[dict[str, Any]]
    response_id: int | None = None
    failed: bool = False
    future: asyncio.Future[None] | None = None  # the waiter (LoopCommitter.submit)

    def __post_init__(self) -> None:
        # The idempotency identity, (organization, survey, key): the response's unique constraint.
        columns = self.columns
        self.identity: tuple[int, int, str] = tuple([columns[name] for name in _statement().identity])  # type: ignore[assignment]


@dataclass(frozen=True)
class _Statement:
    responses_sql: str
    batch_sql: str
    response_fields: tuple[Field[Any, Any], ...]
    answer_fields: tuple[Field[Any, Any], ...]
    identity: tuple[str, ...]  # attnames of the unique (organization, survey, idempotency key)


def _db_column(field: Field[Any, Any]) -> str:
    assert field.column, f"{field} has a column"
    return field.column


def _cast(field: Field[Any, Any]) -> str:
    """The array cast of a column's parameter: its type without a length (a cast to varchar(n) would
    cut a value the column itself refuses)."""
    db_type = field.db_type(connections["default"])
    assert db_type, f"{field} has a column type"
    return f"%s::{re.sub(r'[(][0-9, ]+[)]', '', db_type)}[]"


@functools.cache
def _statement() -> _Statement:
    response_fields = tuple(
        f for f in Response._meta.concrete_fields if not f.primary_key and not getattr(f, "auto_now", False)
    )
    stamped = [f for f in Response._meta.concrete_fields if getattr(f, "auto_now", False)]
    unique = next(
        c
        for c in Response._meta.constraints
        if isinstance(c, UniqueConstraint) and "idempotency_key" in c.fields
    )
    identity_fields = [cast("Field[Any, Any]", Response._meta.get_field(name)) for name in unique.fields]
    identity = tuple(f.attname for f in identity_fields)
    conflict = ", ".join(_db_column(f) for f in identity_fields)
    aliases = [f"c{n}" for n in range(len(response_fields))]
    submitted = aliases[[f.attname for f in response_fields].index("submitted_at")]
    responses_sql = (
        f"INSERT INTO {Response._meta.db_table}"  # noqa: S608  (SQL from model metadata and constants; values are parameters)
        f" ({', '.join(_db_column(f) for f in [*response_fields, *stamped])})"
        f" SELECT {', '.join(aliases + [submitted] * len(stamped))}"
        f" FROM unnest({', '.join(_cast(f) for f in response_fields)}) AS v({', '.join(aliases)})"
        f" ON CONFLICT ({conflict}) DO NOTHING"
        f" RETURNING id, {conflict}"
    )
    answer_fields = tuple(
        f
        for f in Answer._meta.concrete_fields
        if not f.primary_key and f.attname not in ANSWER_PARENT_COLUMNS
    )
    keys = [f"k{n}" for n in range(len(identity))]
    values = [f"a{n}" for n in range(len(answer_fields))]
    identity_casts = [_cast(f) for f in identity_fields]
    parents = [
        _db_column(cast("Field[Any, Any]", Answer._meta.get_field(name))) for name in ANSWER_PARENT_COLUMNS
    ]
    batch_sql = (
        f"WITH r AS ({responses_sql}),"  # noqa: S608  (SQL from model metadata and constants; values are parameters)
        f" a AS (INSERT INTO {Answer._meta.db_table}"
        f" ({', '.join(parents)},"
        f" {', '.join(_db_column(f) for f in answer_fields)})"
        f" SELECT r.organization_id, r.id, {', '.join(f'v.{a}' for a in values)}"
        f" FROM r JOIN unnest({', '.join(identity_casts + [_cast(f) for f in answer_fields])})"
        f" AS v({', '.join(keys + values)})"
        f" ON {' AND '.join(f'v.{k} = r.{_db_column(f)}' for k, f in zip(keys, identity_fields, strict=True))})"
        f" SELECT id, {conflict} FROM r"
    )
    return _Statement(responses_sql, batch_sql, response_fields, answer_fields, identity)


def _encoder(field: Field[Any, Any]) -> Any:
    """How a value of this column travels: JSON as text, times as ISO text (psycopg2 adapts a str
    faster than a datetime), the rest as it is."""
    if isinstance(field, JSONField):
        encoder = field.encoder

        def encode(value: Any) -> str:
            if value == {} or value == []:  # most hidden fields and choices: no encoder call
                return "{}" if isinstance(value, dict) else "[]"
            return json.dumps(value, cls=encoder)

        return encode
    if isinstance(field, DateTimeField):
        return lambda value: value.isoformat()
    return None


def _column(field: Field[Any, Any], values: list[Any]) -> list[Any]:
    encode = _encoder(field)
    return values if encode is None else [None if v is None else encode(v) for v in values]


def batch_statement(batch: list[PendingResponse]) -> tuple[list[PendingResponse], str, list[list[Any]]]:
    """(the members that get a row, the statement, its parameters) for one batch."""
    statement = _statement()
    keys: set[tuple[int, int, str]] = set()
    fresh: list[PendingResponse] = []
    for item in batch:
        identity = item.identity
        if identity in keys:
            item.failed = True
        else:
            keys.add(identity)
            fresh.append(item)
    params = [_column(f, [i.columns[f.attname] for i in fresh]) for f in statement.response_fields]
    answers = [(item, answer) for item in fresh for answer in item.answers]
    if not answers:
        return fresh, statement.responses_sql, params
    params += [[item.columns[name] for item, _answer in answers] for name in statement.identity]
    params += [_column(f, [answer[f.attname] for _item, answer in answers]) for f in statement.answer_fields]
    return fresh, statement.batch_sql, params


def apply_ids(fresh: list[PendingResponse], rows: list[tuple[Any, ...]]) -> None:
    """Each member's new id from the statement's rows; a member without one failed (its key is stored)."""
    ids = {tuple(identity): pk for pk, *identity in rows}
    for item in fresh:
        pk = ids.get(item.identity)
        if pk is None:
            item.failed = True
        else:
            item.response_id = pk


def numbered(sql: str) -> str:
    """%s placeholders as $1, $2, … (for PREPARE)."""
    parts = sql.split("%s")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


def execute_prepared(name: str, sql: str) -> str:
    """EXECUTE of the statement prepared as `name`, each argument cast as `sql` casts it (psycopg2
    sends untyped arrays)."""
    pieces = sql.split("%s")[1:]
    casts = [piece[: piece.index("[]") + 2] for piece in pieces]
    return f"EXECUTE {name} (" + ", ".join(f"%s{cast}" for cast in casts) + ")"


@functools.cache
def prepared_statements() -> tuple[str, dict[str, str]]:
    """(PREPARE of the two batch statements, {statement: its EXECUTE}) for a connection of its own."""
    statement = _statement()
    prepare = (
        f"PREPARE cxm_responses AS {numbered(statement.responses_sql)};"
        f" PREPARE cxm_batch AS {numbered(statement.batch_sql)}"
    )
    return prepare, {
        statement.responses_sql: execute_prepared("cxm_responses", statement.responses_sql),
        statement.batch_sql: execute_prepared("cxm_batch", statement.batch_sql),
    }
