"""Request parsing: RESP multibulk (as clients send) and inline commands (as telnet/nc users type).

`RequestParser.feed(data)` returns the complete commands in `data` plus an optional
`ProtocolError` that ends the connection. Commands before the bad bytes are still returned,
because Redis executes them before it replies with the error and closes.

Two paths, one behaviour:
- fast path: hiredis parses a read that holds only complete, well-formed multibulk requests
  (the pipelined case), which is most of the traffic;
- strict path: a Python port of Redis's multibulk/inline state machine handles everything else
  (split reads, large arguments, inline commands, limits, malformed input), with Redis's errors.
The fast path only accepts what the strict path would accept identically; anything unusual makes
it hand the whole read to the strict path, so the two can never disagree on a reply.
"""

from __future__ import annotations

import hiredis

from .errors import ProtocolError

INLINE_MAX_SIZE = 64 * 1024  # Redis's PROTO_INLINE_MAX_SIZE
MAX_MULTIBULK_LEN = 2**31 - 1  # Redis 7 bounds the count by INT_MAX only
UNAUTH_MAX_MULTIBULK_LEN = 10  # Redis 7 limits what an unauthenticated client may send
UNAUTH_MAX_BULK_LEN = 16384


class RequestParser:
    """Incremental request parser for one connection."""

    __slots__ = ("_buf", "_reader", "_argc", "_args", "max_bulk_len", "authenticated")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024) -> None:
        self._buf = bytearray()  # strict-path buffer; empty while the fast path is in use
        self._reader = hiredis.Reader()
        self._argc = 0  # arguments still expected by a multibulk request in progress
        self._args: list[bytes] = []
        self.max_bulk_len = max_bulk_len
        self.authenticated = True

    @property
    def buffered(self) -> int:
        """Bytes received but not yet parsed into a command (for client-query-buffer-limit)."""
        return len(self._buf)

    def feed(self, data: bytes) -> tuple[list[list[bytes]], ProtocolError | None]:
        if not self._buf and self._argc == 0 and self.authenticated:
            fast = self._parse_fast(data)
            if fast is not None:
                return fast, None
        self._buf += data
        commands: list[list[bytes]] = []
        try:
            self._parse_strict(commands)
        except ProtocolError as err:
            self._buf.clear()
            return commands, err
        return commands, None

    def _parse_fast(self, data: bytes) -> list[list[bytes]] | None:
        """hiredis over a read of complete multibulk requests, or None to use the strict path."""
        if data[:1] != b"*" or len(data) > self.max_bulk_len:
            return None
        if b"\r\n+" in data or b"\r\n=" in data:
            return None  # hiredis hands status/verbatim strings back as bytes; Redis rejects them
        reader = self._reader
        reader.feed(data)
        commands: list[list[bytes]] = []
        try:
            while (request := reader.gets()) is not False:
                if request.__class__ is not list or not request:
                    break  # null/empty multibulk or a non-array type: let the strict path decide
                for arg in request:
                    if arg.__class__ is not bytes:
                        break
                else:
                    commands.append(request)
                    continue
                break
            else:
                if not reader.has_data():
                    return commands
        except hiredis.ProtocolError:
            pass
        self._reader = hiredis.Reader()
        return None

    def _parse_strict(self, commands: list[list[bytes]]) -> None:
        buf = self._buf
        pos = 0
        try:
            while pos < len(buf):
                if self._argc == 0:
                    if buf[pos] == 0x2A:  # '*'
                        new_pos = self._read_multibulk_header(buf, pos)
                    else:
                        new_pos = self._read_inline(buf, pos, commands)
                    if new_pos < 0:
                        return
                    pos = new_pos
                    if self._argc == 0:
                        continue
                pos = self._read_bulk_args(buf, pos)
                if self._argc:
                    return  # the rest of this request has not arrived yet
                commands.append(self._args)
                self._args = []
        finally:
            del buf[:pos]

    def _read_line(self, buf: bytearray, pos: int, limit_error: str) -> int:
        """Index of the '\\r' ending the line at pos, or -1 when the line is incomplete."""
        end = buf.find(b"\r\n", pos)
        if end < 0 and len(buf) - pos > INLINE_MAX_SIZE:
            raise ProtocolError(limit_error)
        return end

    def _read_multibulk_header(self, buf: bytearray, pos: int) -> int:
        end = self._read_line(buf, pos, "too big mbulk count string")
        if end < 0:
            return -1
        count = _parse_length(buf[pos + 1 : end])
        if count is None or count > MAX_MULTIBULK_LEN:
            raise ProtocolError("invalid multibulk length")
        if not self.authenticated and count > UNAUTH_MAX_MULTIBULK_LEN:
            raise ProtocolError("unauthenticated multibulk length")
        self._argc = max(count, 0)  # '*0' and '*-1' are skipped silently, as in Redis
        return end + 2

    def _read_bulk_args(self, buf: bytearray, pos: int) -> int:
        args = self._args
        while self._argc:
            if pos >= len(buf):
                return pos
            if buf[pos] != 0x24:  # '$'
                got = chr(buf[pos]) if 32 <= buf[pos] < 127 else "?"
                raise ProtocolError(f"expected '$', got '{got}'")
            end = self._read_line(buf, pos, "too big bulk count string")
            if end < 0:
                return pos
            size = _parse_length(buf[pos + 1 : end])
            if size is None or size < 0 or size > self.max_bulk_len:
                raise ProtocolError("invalid bulk length")
            if not self.authenticated and size > UNAUTH_MAX_BULK_LEN:
                raise ProtocolError("unauthenticated bulk length")
            start = end + 2
            if len(buf) < start + size + 2:
                return pos
            args.append(bytes(buf[start : start + size]))
            pos = start + size + 2
            self._argc -= 1
        return pos

    def _read_inline(self, buf: bytearray, pos: int, commands: list[list[bytes]]) -> int:
        end = buf.find(b"\n", pos)
        if end < 0:
            if len(buf) - pos > INLINE_MAX_SIZE:
                raise ProtocolError("too big inline request")
            return -1
        line = bytes(buf[pos:end]).rstrip(b"\r")
        words = split_inline(line)
        if words is None:
            raise ProtocolError("unbalanced quotes in request")
        if words:
            commands.append(words)
        return end + 1


def _parse_length(raw: bytearray) -> int | None:
    """Parse a '*'/'$' length as Redis's string2ll does: optional '-', digits only."""
    text = bytes(raw)
    body = text[1:] if text[:1] == b"-" else text
    if not body.isdigit() or len(text) > 20:
        return None
    return int(text)


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def split_inline(line: bytes) -> list[bytes] | None:
    """Split an inline command as Redis's sdssplitargs does (quotes, escapes); None if unbalanced."""
    words: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \t\r\n\v\f":
            i += 1
        if i >= n:
            return words
        word = bytearray()
        quote = 0
        while True:
            if quote == 0x22:  # inside "double quotes"
                if i >= n:
                    return None
                c = line[i]
                if c == 0x5C and i + 3 < n and line[i + 1] == 0x78 and _is_hex(line[i + 2 : i + 4]):
                    word.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    word.append(_ESCAPES.get(line[i], line[i]))
                elif c == 0x22:
                    if i + 1 < n and line[i + 1] not in b" \t\r\n\v\f":
                        return None  # closing quote must be followed by a space
                    i += 1
                    break
                else:
                    word.append(c)
            elif quote == 0x27:  # inside 'single quotes'
                if i >= n:
                    return None
                c = line[i]
                if c == 0x5C and i + 1 < n and line[i + 1] == 0x27:
                    i += 1
                    word.append(0x27)
                elif c == 0x27:
                    if i + 1 < n and line[i + 1] not in b" \t\r\n\v\f":
                        return None
                    i += 1
                    break
                else:
                    word.append(c)
            else:
                if i >= n or line[i] in b" \t\r\n\v\f":
                    break
                c = line[i]
                if c in (0x22, 0x27):
                    quote = c
                else:
                    word.append(c)
            i += 1
        words.append(bytes(word))


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(ch in b"0123456789abcdefABCDEF" for ch in pair)
