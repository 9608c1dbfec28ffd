"""The address of this machine that a peer at a given URL can reach (the route's source address).

A weight broadcast's peers connect back to this machine; the address on the route to
them is the one they can reach, whatever the hostname resolves to.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


def address_towards(url: str, *, ipv4: bool = False) -> str:
    """This machine's address on the route to the server at `url` (what the server can reach).

    Args:
        url: The server's address.
        ipv4: Only an IPv4 route (vLLM's NCCL rendezvous listens on IPv4 only).
    """
    host = urlsplit(url).hostname or "127.0.0.1"
    family = socket.AF_INET if ipv4 else socket.AF_UNSPEC
    family, kind, _, _, target = socket.getaddrinfo(host, 9, family, socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind) as probe:
        probe.connect(target)  # a datagram socket sends nothing on connect; it only picks the route
        address: str = probe.getsockname()[0]
    return address
