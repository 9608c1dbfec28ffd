"""A loopback port nothing listens on, for servers the tests start or refuse to find."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port the system just handed out on 127.0.0.1 (closed again, so free until someone binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
