"""keep_alive(): tcp-keepalive's timings on a real TCP socket, as Redis's anetKeepAlive sets them."""

from __future__ import annotations

import socket

import pytest

from ember.server.network import keep_alive

TIMINGS = ("TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT")


def timings(sock: socket.socket) -> tuple[int, ...]:
    return tuple(sock.getsockopt(socket.IPPROTO_TCP, getattr(socket, name)) for name in TIMINGS)


@pytest.mark.skipif(not all(hasattr(socket, name) for name in TIMINGS), reason="no keepalive timings here")
@pytest.mark.parametrize(("interval", "expected"), [(300, (300, 100, 3)), (10, (10, 3, 3)), (2, (2, 1, 3))])
def test_first_probe_after_the_interval_then_a_third_of_it_three_times(interval, expected):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        keep_alive(sock, interval)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert timings(sock) == expected


def test_a_refused_timing_leaves_keepalive_on_and_raises_nothing():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        keep_alive(sock, 40_000)  # Linux refuses an idle time over 32767 s
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
