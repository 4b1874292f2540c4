"""The production entry point: `gunicorn cxm.asgi:application -k uvicorn_worker.UvicornWorker`.

One URL, the public survey submission that every widget and link page posts to, is answered by
`surveys.collection.asgi.asgi_public_responses` in the event loop. Every other request goes to the ordinary
Django WSGI application in a pool of WEB_THREADS threads (a2wsgi), exactly as a threaded WSGI server
would run it: same middleware, same views, streaming responses kept streaming.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.production")
_django = get_wsgi_application()

from typing import Any  # noqa: E402

from a2wsgi import WSGIMiddleware  # noqa: E402

from surveys.collection.asgi import asgi_public_responses  # noqa: E402  (needs the settings)
from surveys.collection.http import METHODS, PATH  # noqa: E402

_pages = WSGIMiddleware(_django, workers=int(os.environ.get("WEB_THREADS", "8")))  # type: ignore[arg-type]


def _warm_up() -> None:
    """Import every view (and with them the services that signal receivers load lazily) before the
    first request, so that neither the first page nor the first committed response pays for it."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _warm_up()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        if scope["method"] in METHODS and PATH.match(scope["path"]):
            await asgi_public_responses(scope, receive, send)
        else:
            await _pages(scope, receive, send)  # type: ignore[arg-type]
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)
    else:  # websockets: none are served
        await send({"type": "websocket.close", "code": 1000})
