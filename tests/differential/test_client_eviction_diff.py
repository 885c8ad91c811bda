"""maxmemory-clients (client eviction): the same scenarios against redis-server and Ember, with
the same outcome expected of both.

The servers count a connection's memory differently (Redis from its allocator, and it reserves
a large argument's whole size when its header arrives; Ember from the bytes received and the
replies pending), so the scenarios are built with margins both fit in: which connection is
disconnected, which is spared, and evicted_clients.
"""

from __future__ import annotations

import contextlib
import socket

import pytest

from tests.conftest import wait_until

ARGUMENT = 1_500_000  # a SET whose value is this long...
SENT = 1_400_000  # ...of which only this much is sent: the request stays in the query buffer


@pytest.fixture(params=["redis", "ember"])
def server(request, redis_server, ember):
    server = redis_server if request.param == "redis" else ember
    admin = server.client(protocol=2)
    admin.config_resetstat()
    yield server
    admin.config_set("maxmemory-clients", "0")
    admin.config_set("maxmemory", "0")
    admin.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")
    admin.close()


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def call(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    return sock.recv(1024)


def send_partial_request(sock: socket.socket) -> None:
    """Most of a SET's value; the server may disconnect us meanwhile."""
    with contextlib.suppress(ConnectionError):
        sock.sendall(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n" % ARGUMENT + b"x" * SENT)


def disconnected(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionError:
        return True


def evicted_clients(server) -> int:
    with server.client(protocol=2) as client:
        return int(client.info("stats")["evicted_clients"])


def test_the_largest_connection_goes_and_no_evict_ones_stay(server):
    with server.client(protocol=2) as admin:
        admin.config_set("maxmemory-clients", "2mb")
    spared, evicted = connect(server), connect(server)
    try:
        assert call(spared, b"*3\r\n$6\r\nCLIENT\r\n$8\r\nNO-EVICT\r\n$2\r\non\r\n") == b"+OK\r\n"
        send_partial_request(spared)  # within the limit alone
        send_partial_request(evicted)  # together over it: this one is the largest that may go
        assert disconnected(evicted)
        spared.sendall(b"x" * (ARGUMENT - SENT) + b"\r\n")
        assert spared.recv(1024) == b"+OK\r\n"  # its request completes
        assert evicted_clients(server) == 1
        with server.client(protocol=2) as client:
            assert client.strlen("big") == ARGUMENT
            client.delete("big")
    finally:
        spared.close()
        evicted.close()


def test_a_percentage_is_of_maxmemory(server):
    with server.client(protocol=2) as admin:
        admin.config_set("maxmemory", "100mb")
        admin.config_set("maxmemory-clients", "1%")
        assert admin.config_get("maxmemory-clients") == {"maxmemory-clients": "1%"}
    sock = connect(server)
    try:
        send_partial_request(sock)
        assert disconnected(sock)
        assert evicted_clients(server) == 1
    finally:
        sock.close()


def test_a_subscriber_falling_behind_is_evicted_for_its_pending_output(server):
    """Only the client limit applies here (the pubsub output buffer limit is off)."""
    with server.client(protocol=2) as admin:
        admin.config_set("client-output-buffer-limit", "pubsub 0 0 0")
        admin.config_set("maxmemory-clients", "2mb")
        subscriber = connect(server)
        try:
            assert call(subscriber, b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n").startswith(b"*3\r\n")
            message = b"m" * 100_000
            for _ in range(600):  # at most 60 MB: socket buffers take a few, the limit the rest
                if admin.publish("ch", message) == 0:
                    break
            wait_until(lambda: admin.pubsub_numsub("ch") == [(b"ch", 0)], message="subscriber evicted")
            assert evicted_clients(server) == 1
        finally:
            subscriber.close()
