"""Signed customer identity: how the widget and links say who the visitor is, unforgeably.

The integrator's server computes `HMAC-SHA256(widget_secret, customer_id)` (hex) and hands it to
the page with the id; cxm recomputes it and compares in constant time. Only an identity signed so
attaches an answer to a customer; a bare id or email is a claim anyone can make.
"""

from __future__ import annotations

import hashlib
import hmac


def customer_signature(*, secret: str, external_id: str) -> str:
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def customer_signature_valid(*, secret: str, external_id: str, signature: object) -> bool:
    if not secret or not external_id or not isinstance(signature, str) or len(signature) != 64:
        return False
    expected = customer_signature(secret=secret, external_id=external_id)
    return hmac.compare_digest(expected, signature.lower())
