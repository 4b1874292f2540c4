"""The hash chain both tables share: canonical JSON, SHA-256 of the previous hash and the row."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def jsonable(value: Any) -> Any:
    """A value as JSON stores it (dates as ISO text, decimals as text), so hashing before the
    insert and after reading it back gives the same bytes."""
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _moment(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _moment(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat()


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    ).encode()


def link(prev_hash: str, payload: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + payload).hexdigest()


def digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()
