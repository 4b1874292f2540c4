"""Where a webhook may go. An endpoint that resolves to a loopback, private, link-local, reserved or
cloud-metadata address is refused (a server-side request forgery would otherwise reach the machine's own
network), unless the operator allows it (`WEBHOOKS_ALLOW_PRIVATE_ADDRESSES`). The check runs when the
endpoint is saved and again at each delivery, on the addresses the connection then uses (a DNS name
that changes its answer between the two cannot slip through)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class AddressRefused(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if ip in METADATA:
        return "metadata"
    for name in (
        "is_loopback",
        "is_link_local",
        "is_unspecified",
        "is_multicast",
        "is_reserved",
        "is_private",
    ):
        if getattr(ip, name):
            return name.removeprefix("is_").replace("_", "-")
    return None


def resolve(url: str) -> Target:
    """The URL's parts and the addresses to connect to; raises AddressRefused with a clear reason."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused(_("Use an http:// or https:// URL with a host name."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise AddressRefused(_("The port is not valid.")) from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(
            _("The host name %(host)s does not resolve.") % {"host": parts.hostname}
        ) from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False):
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise AddressRefused(
                    _(
                        "%(host)s resolves to %(address)s, a %(kind)s address: webhooks go to public addresses only."
                    )
                    % {"host": parts.hostname, "address": address, "kind": problem}
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses)
