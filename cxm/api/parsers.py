from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from cxm.core.jsonsafe import JsonRejected, loads_strict


class LimitedJSONParser(JSONParser):
    """JSON with a body-size cap: the view's `max_body_size`, else DATA_UPLOAD_MAX_MEMORY_SIZE (413 beyond),
    and only what the database can store (`cxm.core.jsonsafe`: 400 for NUL, lone surrogates, NaN, depth).

    DRF reads the request stream directly, so Django's own cap (on `request.body`) never applies here.
    """

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        from .exceptions import PayloadTooLarge  # here: exceptions imports DRF views, which load parsers

        context = parser_context or {}
        view = context.get("view")
        limit = getattr(view, "max_body_size", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = context.get("request")
        declared = int((request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0)
        if declared > limit:
            raise PayloadTooLarge(f"The request body is {declared} bytes; the limit is {limit} bytes.")
        if stream is None or not hasattr(stream, "read"):
            return super().parse(stream, media_type, parser_context)
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        encoding = context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        try:
            # NUL, lone surrogates, NaN/Infinity and deep nesting are refused here, before any query.
            return loads_strict(text)
        except JsonRejected as exc:
            raise ParseError(str(exc)) from None
