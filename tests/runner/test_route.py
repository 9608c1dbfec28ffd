"""The address the server's workers connect back to for a weight broadcast (`weight_sync_host: null`)."""

from __future__ import annotations

import socket

import pytest

from gkd_schema.runner.generation.route import address_towards


def test_a_loopback_server_is_answered_on_loopback() -> None:
    assert address_towards("http://127.0.0.1:8000") == "127.0.0.1"
    assert address_towards("http://localhost:8000/v1") in ("127.0.0.1", "::1")


def test_an_ipv6_server_gets_an_ipv6_address() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        assert address_towards("http://[::1]:8000") == "::1"
    except OSError:
        pytest.skip("IPv6 loopback is not configured here")
