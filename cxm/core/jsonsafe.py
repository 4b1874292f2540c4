"""JSON from outside, held to what the database can store: every request body is parsed here.

`json.loads` accepts what PostgreSQL refuses later (a 500 after the request has joined a batch):
NUL characters in text, lone UTF-16 surrogates, NaN and Infinity, and nesting deep enough to exhaust
the parser's recursion. `loads_strict` refuses them all with a `JsonRejected` whose message says which.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 100


class JsonRejected(ValueError):
    """A body that is not JSON, or JSON the database cannot store; the message is for the client."""


def _no_constant(name: str) -> Any:
    raise JsonRejected(f"{name} is not a JSON number; send a number or null.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected(f"{text[:20]} is out of range for a number.")
    return value


# One decoder, built once (`json.loads` with options builds one per call).
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def loads_strict(raw: bytes | str, *, check_text: bool = True) -> Any:
    """The parsed JSON; raises JsonRejected for bad JSON and for values the database cannot store.
    Bytes must be UTF-8 (RFC 8259), decoded strictly: an encoded surrogate is not UTF-8.

    `check_text=False` leaves NUL characters and lone surrogates in text to the caller (bulk imports
    reject the one record that holds them, not the whole body); the rest is refused all the same."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = _DECODER.decode(text)
    except JsonRejected:
        raise
    except RecursionError:
        raise JsonRejected(f"The JSON is nested more than {MAX_DEPTH} levels deep.") from None
    except ValueError as exc:  # includes bytes that are not UTF-8
        raise JsonRejected(f"JSON parse error - {exc}") from None
    # The usual body is proved storable by its text alone, at C speed: in strictly decoded text a
    # NUL or a lone surrogate can only come from a \\u escape, and nesting beyond MAX_DEPTH needs
    # more than MAX_DEPTH brackets.
    if check_text and "\\u" in text:
        problem = unstorable(data, check_text=True)
        if problem:
            raise JsonRejected(problem)
    elif text.count("[") + text.count("{") > MAX_DEPTH and nested_deeper_than(data, MAX_DEPTH):
        raise JsonRejected(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
    return data


_CONTAINERS = (dict, list)


def nested_deeper_than(data: Any, limit: int) -> bool:
    """Whether parsed JSON nests arrays and objects more than `limit` levels deep. Level by level, one
    comprehension each, so a bulk body of 10,000 flat records costs a few milliseconds (the general
    walk of `unstorable` visits every key and value in Python)."""
    level = [data] if type(data) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            value
            for container in level
            for value in (container.values() if type(container) is dict else container)
            if type(value) in _CONTAINERS
        ]
    return False


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored (NUL, a lone surrogate), or None."""
    if "\x00" in value:
        return "Text may not contain the NUL character (\\u0000)."
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "Text may not contain a lone surrogate (\\ud800-\\udfff)."
    return None


def unstorable(data: Any, *, check_text: bool = True) -> str | None:
    """Why parsed JSON cannot be stored (see `text_problem`, and nesting beyond MAX_DEPTH), or None.
    Iterative: a deep value cannot exhaust the stack here."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value) if check_text else None
            if problem:
                return problem
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return f"The JSON is nested more than {MAX_DEPTH} levels deep."
            if isinstance(value, dict):
                for key, item in value.items():
                    stack.append((key, depth))
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, float) and not math.isfinite(value):
            return "NaN and Infinity are not JSON numbers."
    return None
