"""The client's address: X-Forwarded-For believed only as far as trusted proxies wrote it."""

from __future__ import annotations

import pytest

from cxm.core.clientip import client_ip, client_ip_of


def test_without_trusted_proxies_the_peer_is_the_client(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip("203.0.113.5", "1.2.3.4") == "203.0.113.5"
    assert client_ip_of({"REMOTE_ADDR": "203.0.113.5", "HTTP_X_FORWARDED_FOR": "9.9.9.9"}) == "203.0.113.5"


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("10.0.0.2", "198.51.100.7", "198.51.100.7"),  # through our proxy
        ("10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # a client-written hop is left of the real one
        ("10.0.0.2", "198.51.100.7, 10.0.0.3", "198.51.100.7"),  # two trusted proxies
        ("10.0.0.2", "garbage, 198.51.100.7", "198.51.100.7"),
        ("10.0.0.2", "198.51.100.7, garbage", "10.0.0.2"),
        ("10.0.0.2", "", "10.0.0.2"),
        ("203.0.113.5", "198.51.100.7", "203.0.113.5"),  # an untrusted peer's header is ignored
        ("10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.0.0.2", "198.51.100.7:5000", "198.51.100.7"),
    ],
)
def test_trusted_proxies_are_walked_from_the_right(settings, peer, forwarded, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(peer, forwarded) == expected


def test_log_lines_name_the_client_address_the_throttles_count(settings, rf):
    import json
    import logging

    from django.http import HttpResponse

    from cxm.core.logging import JsonFormatter, RequestIdFilter
    from cxm.core.middleware import RequestIdMiddleware

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    lines = []

    def view(request):
        record = logging.LogRecord("cxm", logging.INFO, __file__, 1, "served", (), None)
        RequestIdFilter().filter(record)
        lines.append(json.loads(JsonFormatter().format(record)))
        return HttpResponse("ok")

    middleware = RequestIdMiddleware(view)
    middleware(rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7"))
    middleware(rf.get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.7"))
    assert [line["client_ip"] for line in lines] == ["198.51.100.7", "203.0.113.5"]
