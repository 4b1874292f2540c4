"""Cleaning of incoming records: one pass in Python, no queries, a clean tuple (or dict) per record.

A cleaner takes a record (a JSON object from the API, or a CSV row with its empty cells left out)
and the organization's `CleanContext`, and returns the row its writer stores, or raises
`RecordInvalid` naming the field and the reason (translated: the reasons reach the client).
"""

from __future__ import annotations

import json
import json.encoder
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.core.jsonsafe import MAX_DEPTH, JsonRejected, loads_strict, text_problem, unstorable
from cxm.tenancy.models import Organization

from ..models import Touchpoint

MAX_RECORDS = 10_000
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_JSON_FINITE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
# The same encoder's C core, built once (`JSONEncoder.encode` builds one per call): chunks of text.
_json_chunks: Callable[[Any, int], Sequence[str]] | None = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None,
        _JSON_FINITE.default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        False,
        False,
        False,
    )
    if json.encoder.c_make_encoder is not None  # type: ignore[attr-defined]
    else None
)
MAX_JSON_BYTES = 16_384
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)

# (field, max length) of the customer's text fields.
CUSTOMER_TEXT_FIELDS: dict[str, int] = {
    "email": 254,
    "phone": 64,
    "name": 255,
    "age_band": 32,
    "gender": 32,
    "city": 128,
    "occupation": 128,
}
CUSTOMER_FIELDS = (
    "external_id",
    *CUSTOMER_TEXT_FIELDS,
    "attributes",
    "first_seen_at",
    "last_seen_at",
    "unsubscribed",
)
INTERACTION_FIELDS = ("id", "customer_external_id", "touchpoint", "kind", "occurred_at", "properties")
TRANSACTION_FIELDS = (
    "order_id",
    "customer_external_id",
    "occurred_at",
    "amount",
    "currency",
    "touchpoint",
    "properties",
)
CUSTOMER_REQUIRED = ("external_id",)
INTERACTION_REQUIRED = ("customer_external_id", "occurred_at")
TRANSACTION_REQUIRED = ("order_id", "customer_external_id", "occurred_at", "amount")


class RecordInvalid(Exception):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass
class CleanContext:
    """What validation needs to know about the organization, loaded once per batch (or file)."""

    organization: Organization
    touchpoints: dict[str, int]
    tz: tzinfo
    now: datetime
    from_csv: bool = False

    @cached_property
    def latest(self) -> datetime:
        """The latest time accepted: a day ahead of now (clocks differ)."""
        return self.now + timedelta(days=1)

    @classmethod
    def load(cls, organization: Organization, *, from_csv: bool = False) -> CleanContext:
        touchpoints = dict(Touchpoint.objects.for_organization(organization).values_list("key", "id"))
        return cls(organization, touchpoints, organization.tzinfo, timezone.now(), from_csv)


# --- Field cleaners --------------------------------------------------------------------------


def _text(record: dict[str, Any], name: str, max_length: int, *, required: bool = False) -> str | None:
    value = record.get(name)
    if type(value) is str and 0 < len(value) <= max_length and "\x00" not in value and value.isascii():
        stripped = value.strip()
        if stripped or not required:
            return stripped
    if value is None or value == "":
        if required:
            raise RecordInvalid(name, _("%(field)s is required") % {"field": name})
        return None if value is None else ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordInvalid(name, _("%(field)s must be a string") % {"field": name})
    value = str(value).strip()
    if required and not value:
        raise RecordInvalid(name, _("%(field)s is required") % {"field": name})
    if len(value) > max_length:
        raise RecordInvalid(
            name, _("%(field)s is longer than %(n)d characters") % {"field": name, "n": max_length}
        )
    if "\x00" in value:
        raise RecordInvalid(name, _("%(field)s contains a NUL character") % {"field": name})
    if text_problem(value):
        raise RecordInvalid(name, _("%(field)s contains a lone surrogate") % {"field": name})
    return value


def parse_datetime_value(value: Any, tz: tzinfo) -> datetime:
    """ISO 8601 date or date-time; a time without offset is in the organization's time zone."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(text)
    else:
        raise ValueError("not a string")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _datetime(
    record: dict[str, Any], name: str, ctx: CleanContext, *, required: bool = False
) -> datetime | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise RecordInvalid(name, _("%(field)s is required") % {"field": name})
        return None
    try:
        parsed = parse_datetime_value(value, ctx.tz)
    except (ValueError, TypeError, OverflowError):
        raise RecordInvalid(name, _("%(field)s is not an ISO 8601 date-time") % {"field": name})
    if parsed < _EARLIEST:
        raise RecordInvalid(name, _("%(field)s is before 1970") % {"field": name})
    if parsed > ctx.latest:
        raise RecordInvalid(name, _("%(field)s is in the future") % {"field": name})
    return parsed


def _json_object(record: dict[str, Any], name: str, ctx: CleanContext) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and ctx.from_csv:
        try:
            value = loads_strict(value)
        except JsonRejected:
            raise RecordInvalid(name, _("%(field)s is not valid JSON") % {"field": name})
    if not isinstance(value, dict):
        raise RecordInvalid(name, _("%(field)s must be a JSON object") % {"field": name})
    text = _storable_json_text(value)
    if text is not None:
        if len(text) > MAX_JSON_BYTES:
            raise RecordInvalid(
                name, _("%(field)s is larger than %(n)d bytes") % {"field": name, "n": MAX_JSON_BYTES}
            )
        return text
    problem = unstorable(value)
    if problem and "NUL" in problem:
        raise RecordInvalid(name, _("%(field)s contains a NUL character") % {"field": name})
    if problem and "surrogate" in problem:
        raise RecordInvalid(name, _("%(field)s contains a lone surrogate") % {"field": name})
    if problem:
        raise RecordInvalid(name, _("%(field)s is not valid JSON") % {"field": name})
    text = _JSON.encode(value)
    if len(text) > MAX_JSON_BYTES:
        raise RecordInvalid(
            name, _("%(field)s is larger than %(n)d bytes") % {"field": name, "n": MAX_JSON_BYTES}
        )
    if "\\u0000" in text:
        raise RecordInvalid(name, _("%(field)s contains a NUL character") % {"field": name})
    return text


def _storable_json_text(value: dict[str, Any]) -> str | None:
    """The usual object's text, proved storable at C speed: encoded without NaN or Infinity, no NUL
    (the encoder writes it as \\u0000), no lone surrogate (the text encodes to UTF-8), and too few
    brackets to nest deeper than MAX_DEPTH. None when any of these is in doubt: the caller then takes
    the walk of `unstorable`, which names the problem."""
    try:
        text = "".join(_json_chunks(value, 0)) if _json_chunks is not None else _JSON_FINITE.encode(value)
    except (ValueError, TypeError, RecursionError):
        return None
    if "\\u0000" in text or text.count("{") + text.count("[") > MAX_DEPTH:
        return None
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return None
    return text


def _bool(record: dict[str, Any], name: str) -> bool | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int):
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return None if text == "" else False
    raise RecordInvalid(name, _("%(field)s must be true or false") % {"field": name})


def _touchpoint(record: dict[str, Any], ctx: CleanContext) -> int | None:
    key = _text(record, "touchpoint", 100)
    if not key:
        return None
    touchpoint_id = ctx.touchpoints.get(key)
    if touchpoint_id is None:
        raise RecordInvalid("touchpoint", _("unknown touchpoint key %(key)r") % {"key": key})
    return touchpoint_id


_ALLOWED: dict[Sequence[str], frozenset[str]] = {}


def _check_fields(record: Any, allowed: Sequence[str]) -> dict[str, Any]:
    if type(record) is not dict:
        raise RecordInvalid(None, _("a record must be a JSON object"))
    names = _ALLOWED.get(allowed)
    if names is None:
        names = _ALLOWED[allowed] = frozenset(allowed)
    if not names.issuperset(record):
        unknown = next(name for name in record if name not in names)
        raise RecordInvalid(unknown, _("unknown field %(name)r") % {"name": unknown})
    return record


# --- Record cleaners: a record in, a tuple for the staging table out ---------------------------


def clean_customer(record: Any, ctx: CleanContext) -> dict[str, Any]:
    record = _check_fields(record, CUSTOMER_FIELDS)
    clean: dict[str, Any] = {"external_id": _text(record, "external_id", 255, required=True)}
    for name, max_length in CUSTOMER_TEXT_FIELDS.items():
        if name in record:
            clean[name] = _text(record, name, max_length) or ""
    if clean.get("email"):
        try:
            validate_email(clean["email"])
        except ValidationError:
            raise RecordInvalid("email", _("email is not a valid address"))
    if "attributes" in record:
        clean["attributes"] = _json_object(record, "attributes", ctx) or "{}"
    for name in ("first_seen_at", "last_seen_at"):
        if record.get(name) not in (None, ""):
            clean[name] = _datetime(record, name, ctx)
    unsubscribed = _bool(record, "unsubscribed")
    if unsubscribed is not None:
        clean["unsubscribed"] = unsubscribed
    return clean


def clean_interaction(record: Any, ctx: CleanContext) -> tuple[Any, ...]:
    record = _check_fields(record, INTERACTION_FIELDS)
    return (
        _text(record, "id", 255) or None,
        _text(record, "customer_external_id", 255, required=True),
        _touchpoint(record, ctx),
        _text(record, "kind", 64) or "",
        _datetime(record, "occurred_at", ctx, required=True),
        _json_object(record, "properties", ctx) or "{}",
    )


def clean_transaction(record: Any, ctx: CleanContext) -> tuple[Any, ...]:
    record = _check_fields(record, TRANSACTION_FIELDS)
    order_id = _text(record, "order_id", 255, required=True)
    customer_external_id = _text(record, "customer_external_id", 255, required=True)
    occurred_at = _datetime(record, "occurred_at", ctx, required=True)
    raw_amount = record.get("amount")
    if raw_amount is None or raw_amount == "" or isinstance(raw_amount, bool):
        raise RecordInvalid("amount", _("amount is required"))
    try:
        amount = Decimal(str(raw_amount).strip())
    except InvalidOperation:
        raise RecordInvalid("amount", _("amount is not a number"))
    if not amount.is_finite():
        raise RecordInvalid("amount", _("amount is not a number"))
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise RecordInvalid("amount", _("amount has more than 2 decimal places"))
    if abs(amount) >= Decimal("1e12"):
        raise RecordInvalid("amount", _("amount is too large"))
    currency = (_text(record, "currency", 3) or "USD").upper()
    if not _CURRENCY.match(currency):
        raise RecordInvalid("currency", _("currency must be a 3-letter ISO 4217 code"))
    return (
        order_id,
        customer_external_id,
        occurred_at,
        amount,
        currency,
        _touchpoint(record, ctx),
        _json_object(record, "properties", ctx) or "{}",
    )


Cleaner = Callable[[Any, CleanContext], Any]


def clean_records(
    cleaner: Cleaner, records: Iterable[Any], ctx: CleanContext
) -> tuple[list[tuple[int, Any]], list[dict[str, Any]]]:
    """(index, clean row) for the valid records and {index, field, reason} for the others."""
    valid: list[tuple[int, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        try:
            valid.append((index, cleaner(record, ctx)))
        except RecordInvalid as exc:
            errors.append({"index": index, "field": exc.field, "reason": exc.reason})
    return valid, errors
