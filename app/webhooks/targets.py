"""Where webhooks may be sent: not into the service's own machine or its cloud's metadata.

A department lead chooses a subscription's URL, and the worker, inside the deployment's
network, POSTs to it and shows the lead each attempt's status: without a check, a URL could
reach the database port, the worker's loopback or the cloud's metadata service (SSRF). The
networks refused are a setting (``WHISTLE_WEBHOOK_BLOCKED_NETWORKS``, defaults in
``app.config.DEFAULT_BLOCKED_NETWORKS``): loopback, link-local (which holds the metadata
addresses), Alibaba Cloud's metadata address, the unspecified and multicast ranges.
Private ranges stay allowed — departments' systems live on government intranets — and a
deployment can add them.

A literal address is refused when the subscription is made. At delivery the host name is
resolved, every address it resolves to is checked, and the request goes to the checked
address (the name still sent as Host and TLS SNI), so that a name re-pointed between the
check and the connection (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedTarget(Exception):
    """The URL's host is, or resolves to, an address in a blocked network."""


def _blocked_by(address: IPAddress, blocked: Sequence[IPNetwork]) -> IPNetwork | None:
    # ::ffff:127.0.0.1 is 127.0.0.1.
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return next((n for n in blocked if address.version == n.version and address in n), None)


def check_address(address: IPAddress, blocked: Sequence[IPNetwork]) -> None:
    network = _blocked_by(address, blocked)
    if network is not None:
        raise BlockedTarget(f"{address} is in the blocked network {network} "
                            "(WHISTLE_WEBHOOK_BLOCKED_NETWORKS)")


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_literal(url: str, blocked: Sequence[IPNetwork]) -> None:
    """When subscribing: refuse a URL whose host is a blocked address or ``localhost``
    (names are checked at delivery, where they are resolved)."""
    if not blocked:
        return
    host = httpx.URL(url).host
    if host == "localhost" or host.endswith(".localhost"):
        check_address(ipaddress.ip_address("127.0.0.1"), blocked)
    address = _literal_address(host)
    if address is not None:
        check_address(address, blocked)


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send one request: the URL with each checked address for its host, in the
    resolver's order (tried in turn: a dual-stack name may not listen on both), and what
    to send so that the server still sees its name."""

    urls: tuple[httpx.URL, ...]
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)

    async def post(self, http: httpx.AsyncClient, **kwargs: Any) -> httpx.Response:
        """POST to the first address that accepts the connection."""
        headers = kwargs.pop("headers", {}) | self.headers
        for url in self.urls[:-1]:
            try:
                return await http.post(url, headers=headers, extensions=self.extensions,
                                       **kwargs)
            except httpx.ConnectError:
                continue
        return await http.post(self.urls[-1], headers=headers, extensions=self.extensions,
                               **kwargs)


async def resolve(url: str, blocked: Sequence[IPNetwork]) -> Target:
    """The delivery target for ``url``: unchanged when nothing is blocked, else pinned to
    the addresses its host resolves to, every one of which must be allowed."""
    parsed = httpx.URL(url)
    if not blocked:
        return Target((parsed,))
    literal = _literal_address(parsed.host)
    if literal is not None:
        check_address(literal, blocked)
        return Target((parsed,))
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(parsed.host, port,
                                                         type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    for address in addresses:
        check_address(address, blocked)
    host_header = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return Target(tuple(parsed.copy_with(host=str(a)) for a in addresses), {"Host": host_header},
                  extensions)
