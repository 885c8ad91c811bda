"""Differential harness: the same commands to redis-server and Ember, raw replies compared.

`RawConnection.call(*args)` sends one command and returns the exact reply bytes, so comparisons
are byte for byte, errors included. Replies that Redis documents as unordered (SMEMBERS, HKEYS on
a hash table...) can be compared with `normalize=sorted_reply`.
"""

from __future__ import annotations

import socket

import hiredis


def encode_command(args: tuple) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, (int, float)):
            arg = repr(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class RawConnection:
    """A socket speaking RESP that returns each reply as raw bytes."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def call(self, *args) -> bytes:
        self.sock.sendall(encode_command(args))
        return self.read_reply()

    def pipeline(self, commands: list[tuple]) -> list[bytes]:
        """Send commands in one write (so the server reads them as one batch), then CLIENT REPLY
        ON (which uses up a pending SKIP) and RESET, and return the raw replies before RESET's
        (some commands, e.g. under CLIENT REPLY OFF, have none). RESET also leaves the connection
        as new."""
        ending = [("CLIENT", "REPLY", "ON"), ("RESET",)]
        self.sock.sendall(b"".join(encode_command(args) for args in [*commands, *ending]))
        replies = []
        while (reply := self.read_reply()) != b"+RESET\r\n":
            replies.append(reply)
        return replies

    def read_reply(self) -> bytes:
        """Read exactly one complete reply and return its bytes."""
        while True:
            end = _reply_length(self.buffer)
            if end is not None:
                raw, self.buffer = self.buffer[:end], self.buffer[end:]
                return raw
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


_BULK_TYPES = frozenset(b"$=!")  # a length line, then that many bytes
_AGGREGATE_TYPES = frozenset(b"*~>")  # a count line, then that many replies
_PAIR_TYPES = frozenset(b"%|")  # a count line, then that many key/value pairs


def _reply_length(data: bytes) -> int | None:
    """Length of the first complete reply in data, or None when it is incomplete.

    One linear pass: `pending` counts the replies still to read (aggregates add their elements,
    an attribute '|' adds its pairs and is followed by the reply it annotates).
    """
    pos, pending = 0, 1
    while pending:
        end = data.find(b"\r\n", pos)
        if end < 0:
            return None
        kind = data[pos]
        if kind in _BULK_TYPES:
            size = int(data[pos + 1 : end])
            pos = end + 2
            if size >= 0:
                if len(data) < pos + size + 2:
                    return None
                pos += size + 2
            pending -= 1
        elif kind in _AGGREGATE_TYPES or kind in _PAIR_TYPES:
            count = int(data[pos + 1 : end])
            pos = end + 2
            elements = max(count, 0) * (2 if kind in _PAIR_TYPES else 1)
            pending += elements - (0 if kind == 0x7C else 1)  # '|' precedes the reply itself
        else:  # simple types: + - : , # _ (
            pos = end + 2
            pending -= 1
    return pos


def decode(raw: bytes):
    """The parsed form of a raw reply (errors as hiredis.ReplyError values)."""
    reader = hiredis.Reader(replyError=lambda e: e)
    reader.feed(raw)
    return reader.gets()


def sorted_reply(raw: bytes):
    """Parse an array reply and sort it, for replies whose order Redis leaves unspecified."""
    value = decode(raw)
    return sorted(value, key=repr) if isinstance(value, list) else value


class Differ:
    """Runs each command on both servers and asserts the replies match."""

    def __init__(self, redis_port: int, ember_port: int) -> None:
        self.redis = RawConnection(redis_port)
        self.ember = RawConnection(ember_port)

    def both(self, *args) -> tuple[bytes, bytes]:
        return self.redis.call(*args), self.ember.call(*args)

    def check(self, *args, normalize=None) -> bytes:
        expected, actual = self.both(*args)
        if normalize is not None:
            assert normalize(actual) == normalize(expected), f"{args!r}: redis={expected!r} ember={actual!r}"
        else:
            assert actual == expected, f"{args!r}: redis={expected!r} ember={actual!r}"
        return actual

    def check_pipeline(self, commands: list[tuple]) -> list[bytes]:
        expected, actual = self.redis.pipeline(commands), self.ember.pipeline(commands)
        assert actual == expected, f"{commands!r}: redis={expected!r} ember={actual!r}"
        return actual

    def close(self) -> None:
        self.redis.close()
        self.ember.close()
