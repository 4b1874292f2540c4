"""The one COPY encoder: values to PostgreSQL's COPY text format, and the same values as DB-API
parameters for databases without COPY.

An encoder is chosen per column from the model field's type (see `spec.py`), once, so encoding a
row is a join over precomputed functions with no type tests per value.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models

NULL = "\\N"
Encode = Callable[[Any], str]


def escape(text: str) -> str:
    """A text value for COPY's text format (backslash, tab, newline and carriage return escaped)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _text(value: Any) -> str:
    return NULL if value is None else escape(value)


def encode_number(value: Any) -> str:
    return NULL if value is None else str(value)


def encode_moment(value: Any) -> str:
    return NULL if value is None else value.isoformat()


def _boolean(value: Any) -> str:
    return NULL if value is None else ("t" if value else "f")


def encode_value(value: Any) -> str:
    """Any value, by its Python type (for staging tables whose columns have no model field)."""
    if value is None:
        return NULL
    if value is True or value is False:
        return _boolean(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return escape(str(value))


def encoder_for(field: models.Field) -> Encode:
    """How a model field's values are written in COPY text (clean values: str, int, Decimal, datetime,
    bool, JSON already serialised to text)."""
    internal = field.get_internal_type()
    if isinstance(field, models.ForeignKey) or internal.endswith("IntegerField") or internal == "AutoField":
        return encode_number
    if internal == "DecimalField":
        return encode_number
    if internal == "DateTimeField":
        return encode_moment
    if internal == "BooleanField":
        return _boolean
    return _text  # CharField, TextField, JSONField (text), …


def adapter_for(field: models.Field) -> Callable[[Any], Any]:
    """How a model field's clean value is passed as a DB-API parameter (other databases)."""
    internal = field.get_internal_type()
    if internal == "DateTimeField":
        adapt = connection.ops.adapt_datetimefield_value
        return lambda value: None if value is None else adapt(value)
    if internal == "DecimalField":
        return lambda value: None if value is None else str(value)
    return lambda value: value


def copy_buffer(lines: Iterable[str]) -> io.StringIO:
    buffer = io.StringIO()
    buffer.writelines(lines)
    buffer.seek(0)
    return buffer


def copy_rows(
    rows: Iterable[Sequence[Any]],
    encoders: Sequence[Encode] | None = None,
    *,
    head: Sequence[Any] = (),
    tail: Sequence[Any] = (),
) -> io.StringIO:
    """COPY text of `rows`, by column encoders when given, else by each value's type; `head` and `tail`
    are values every row starts and ends with (encoded once)."""
    before = "".join(encode_value(value) + "\t" for value in head)
    after = "".join("\t" + encode_value(value) for value in tail) + "\n"
    if encoders is None:
        return copy_buffer(before + "\t".join(map(encode_value, row)) + after for row in rows)
    return copy_buffer(
        before + "\t".join([encode(value) for encode, value in zip(encoders, row, strict=True)]) + after
        for row in rows
    )
