"""The client's address, the one way: what every throttle counts and every log line names.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only as far as it was
added by proxies named in TRUSTED_PROXIES (CIDRs). Without trusted proxies the client is the peer
(REMOTE_ADDR, or the ASGI server's `client`). With them, the list is walked from the right (the
address the nearest proxy saw first) and the first address that is not a trusted proxy is the client.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in configured if value.strip())


def trusted_proxies() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(remote_addr: str, forwarded_for: str = "") -> str:
    """The client's address from the peer's address and the X-Forwarded-For header (see the module)."""
    networks = trusted_proxies()
    if not networks:
        return remote_addr or "unknown"  # no proxy is trusted: the peer, whatever the header says
    peer = _parse(remote_addr or "")
    if peer is None:
        return remote_addr or "unknown"
    if not forwarded_for or not _trusted(peer, networks):
        return str(peer)
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:  # garbage a client wrote: the last good address stands
            break
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


def client_ip_of(meta: Mapping[str, Any]) -> str:
    """`client_ip` of a request's META (a Django request's, or the ASGI lane's `ClientMeta.META`)."""
    return client_ip(str(meta.get("REMOTE_ADDR") or ""), str(meta.get("HTTP_X_FORWARDED_FOR") or ""))
