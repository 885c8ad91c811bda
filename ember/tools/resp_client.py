"""A tiny blocking RESP client for the ops tools, on top of hiredis.

The tools must work against any Redis-compatible server, so they speak plain RESP2 through a
socket rather than depending on a client library's command wrappers: `RespClient.call("INFO")`
sends one command and returns its reply; an error reply raises `ReplyError` with the server's
text, and network trouble raises `OSError` (ConnectionError, TimeoutError).
"""

from __future__ import annotations

import socket
from typing import Any

import hiredis


class ReplyError(Exception):
    """The server answered with an error reply (e.g. 'NOAUTH Authentication required.')."""


class RespClient:
    """One connection; use as a context manager, or call close()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 6379, *, timeout: float = 5.0,
                 username: str | None = None, password: str | None = None) -> None:
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = hiredis.Reader(replyError=ReplyError)
        if password is not None:
            self.call("AUTH", *((username,) if username else ()), password)

    def __enter__(self) -> RespClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(self, *args: str | bytes | int) -> Any:
        """Send one command and return its reply (bytes, int, list, None...); raise ReplyError."""
        self._sock.sendall(encode_command(args))
        reply = self._read_reply()
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def _read_reply(self) -> Any:
        while (reply := self._reader.gets()) is False:
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed by the server")
            self._reader.feed(data)
        return reply

    def close(self) -> None:
        self._sock.close()


def encode_command(args: tuple) -> bytes:
    """A command as a RESP multibulk request."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def parse_info(text: str) -> dict[str, str]:
    """INFO's 'field:value' lines as a dict (section headers and blank lines skipped)."""
    fields = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(":")
            fields[name] = value
    return fields
