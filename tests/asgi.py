"""Drive an ASGI application in-process with Django test client style arguments.

`AsgiClient().post(path, data, content_type=..., HTTP_ORIGIN=...)` builds the ASGI scope a server
would, runs the application on an event loop, and returns a response that reads like the test
client's (`status_code`, `json()`, `content`, `response["Header"]`, `"Header" in response`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote

from asgiref.sync import async_to_sync, sync_to_async


class AsgiResponse:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.content = body
        self.header_list = [
            (name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in headers
        ]
        self._headers = dict(self.header_list)

    def json(self) -> Any:
        return json.loads(self.content)

    def __getitem__(self, name: str) -> str:
        return self._headers[name.lower()]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._headers

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._headers.get(name.lower(), default)


async def call(
    app: Any,
    method: str,
    path: str,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    *,
    chunk: int = 0,
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> AsgiResponse:
    """One request; `chunk` > 0 sends the body in pieces of that size (as a slow client would)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),  # servers decode the path (%00 arrives as a NUL)
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers or []
        ],
        "client": client,
        "server": ("testserver", 80),
    }
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] if chunk and body else [body]
    messages = [
        {"type": "http.request", "body": piece, "more_body": index < len(pieces) - 1}
        for index, piece in enumerate(pieces)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # nothing more: a real client would keep the connection open
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return AsgiResponse(start["status"], start.get("headers", []), content)


class AsgiClient:
    """The production ASGI application (`cxm.asgi`), called like Django's test client."""

    def __init__(self, app: Any = None) -> None:
        if app is None:
            from cxm.asgi import application as app
        self.app = app

    def request(
        self, method: str, path: str, body: bytes = b"", content_type: str | None = None, **extra: Any
    ) -> AsgiResponse:
        headers = [("host", "testserver")]
        if content_type:
            headers.append(("content-type", content_type))
        if body or method in {"POST", "PUT", "PATCH"}:
            headers.append(("content-length", str(len(body))))
        for key, value in extra.items():
            if key.startswith("HTTP_"):
                headers.append((key[5:].replace("_", "-").lower(), str(value)))
        # async_to_sync, like a test of an async view: code the application hands to
        # sync_to_async(thread_sensitive=True) runs back on this thread, in the test's transaction.
        return async_to_sync(call)(self.app, method, path, body, headers)

    def post(
        self, path: str, data: Any = b"", content_type: str = "application/json", **extra: Any
    ) -> AsgiResponse:
        if isinstance(data, dict | list):
            data = json.dumps(data)
        body = data.encode() if isinstance(data, str) else data
        return self.request("POST", path, body, content_type, **extra)

    def options(self, path: str, **extra: Any) -> AsgiResponse:
        return self.request("OPTIONS", path, **extra)

    def get(self, path: str, **extra: Any) -> AsgiResponse:
        return self.request("GET", path, **extra)


async def in_test_thread(function: Any, **kwargs: Any) -> Any:
    """A stand-in for `surveys.collection.asgi.in_db_thread` in tests that hold data in their transaction:
    the ORM call runs back on the test's thread (and connection) instead of the thread pool."""
    return await sync_to_async(function, thread_sensitive=True)(**kwargs)
