"""Request parsing: RESP multibulk (as clients send) and inline commands (as telnet/nc users type).

`RequestParser.feed(data)` returns the complete commands in `data` plus an optional
`ProtocolError` that ends the connection. Commands before the bad bytes are still returned,
because Redis executes them before it replies with the error and closes.

Two paths, one behaviour:
- fast path: hiredis parses a read that holds only complete, well-formed multibulk requests
  (the pipelined case), which is most of the traffic;
- strict path: a Python port of Redis's request state machine (processMultibulkBuffer and
  processInlineBuffer in networking.c, sdssplitargs in sds.c) handles everything else: split
  reads, large arguments, inline commands, limits and malformed input, with Redis's errors.
hiredis is more liberal than Redis (it also accepts status, verbatim and nested replies), so
the fast path re-walks what hiredis returned against the bytes and only keeps a read that is
exactly a run of canonical multibulk requests; anything else goes to the strict path whole, so
the two paths cannot disagree.

Quirks of Redis kept on purpose, because clients can observe them: header lines end at the
first '\\r' and the byte after it is skipped unchecked, the two bytes after a bulk are skipped
unchecked, and a NUL byte before a line's end hides that end (Redis searches with strchr).
"""

from __future__ import annotations

import re

import hiredis

from .errors import ProtocolError

INLINE_MAX_SIZE = 64 * 1024  # Redis's PROTO_INLINE_MAX_SIZE
MAX_MULTIBULK_LEN = 2**31 - 1  # Redis 7 bounds the count by INT_MAX only
UNAUTH_MAX_MULTIBULK_LEN = 10  # Redis 7 limits what an unauthenticated client may send
UNAUTH_MAX_BULK_LEN = 16384
DEFAULT_MAX_BULK_LEN = 512 * 1024 * 1024  # proto-max-bulk-len

_LLONG_MIN, _LLONG_MAX = -(2**63), 2**63 - 1

# hiredis allocates a list as soon as it reads an aggregate header, before the elements arrive:
# counts of 6+ digits go to the strict path, which allocates nothing up front.
_HUGE_AGGREGATE = re.compile(rb"[*%~>|][0-9]{6}")
# For the fast path's pre-scan: digits become '0', aggregate type bytes '*', and the type bytes
# of replies hiredis returns as bytes ('+' status, '(' big number, '=' verbatim) or as a
# top-level list ('~' set; '|' attribute, which hiredis returns as the list after it) become '+'.
_SCAN_TABLE = bytes.maketrans(b"0123456789*%>|+(=~", b"0000000000***+++++")
_BULK_LEN = bytes.__len__
_JOIN = b"".join
_JOIN_CHECK_MAX = 1 << 20


def _sum_of_lengths(request: list[bytes]) -> int:
    return sum(map(_BULK_LEN, request))


_INLINE_SPECIAL = re.compile(b"[\"'*\\x00\\v\\f]")

# len(b"$%d\r\n" % n) for small n: the per-argument header size the fast path walks over.
_HEADER_LEN = [len(b"%d" % n) + 3 for n in range(10000)]


class RequestParser:
    """Incremental request parser for one connection (the query buffer of a Redis client)."""

    __slots__ = ("buffer", "_reader", "_argc", "_bulk_len", "_args", "_use_fast_path",
                 "max_bulk_len", "authenticated")

    def __init__(self, max_bulk_len: int = DEFAULT_MAX_BULK_LEN, *, use_fast_path: bool = True) -> None:
        # Bytes received but not parsed yet (the strict path's); empty while the fast path is in
        # use, so that a caller's check of the query-buffer limit is one truth test per read.
        self.buffer = bytearray()
        self._reader = hiredis.Reader()
        self._argc = 0  # arguments still expected by a multibulk request in progress
        self._bulk_len = -1  # length of the bulk being read, -1 before its '$' line
        self._args: list[bytes] = []
        self._use_fast_path = use_fast_path
        self.max_bulk_len = max_bulk_len
        # Unauthenticated clients get Redis's small limits and one command per parse, so an
        # AUTH early in a pipeline lifts the limits for the commands after it.
        self.authenticated = True

    @property
    def buffered(self) -> int:
        """Bytes received but not yet parsed into a command (for client-query-buffer-limit)."""
        return len(self.buffer)

    def peek(self, size: int = 64) -> bytes:
        """The first bytes of what is buffered (for the query-buffer-limit log line)."""
        return bytes(self.buffer[:size])

    def feed(self, data: bytes) -> tuple[list[list[bytes]], ProtocolError | None]:
        """Parse `data` (may be b"" to continue); return complete commands and a fatal error."""
        commands: list[list[bytes]] = []
        if not self.buffer and not self._argc and self.authenticated and data and self._use_fast_path:
            if data[0] != 0x2A:
                inline = _parse_plain_inline(data)
                if inline is not None:
                    return inline, None
            elif (fast := self._parse_fast(data)) is not None:
                commands, consumed = fast
                if consumed == len(data):
                    return commands, None
                data = data[consumed:]  # a request cut by the read: the strict path waits for it
        self.buffer += data
        try:
            self._parse_strict(commands)
        except ProtocolError as err:
            self._reset()
            return commands, err
        return commands, None

    def _reset(self) -> None:
        self.buffer.clear()
        self._argc = 0
        self._bulk_len = -1
        self._args = []

    # -- fast path ----------------------------------------------------------------------------

    def _parse_fast(self, data: bytes) -> tuple[list[list[bytes]], int] | None:
        """hiredis over a read of multibulk requests: (complete requests, bytes they take), or
        None to hand the whole read to the strict path.

        hiredis also reads RESP types that Redis rejects in a request. Those that come back as
        bytes or as a top-level list ('+' status, '(' big number, '=' verbatim, '~' set, '|'
        attribute) need their type byte in the data: without any, checking that every request
        is a list of bytes and that hiredis ends on a request boundary is enough. With one
        (values may contain them too), every request is walked against the bytes instead.
        """
        if len(data) > self.max_bulk_len:
            return None
        # One C pass instead of regexes: this runs per read. A byte is looked for as an int
        # (memchr, no call); a substring with find(), as `in` would first try it as an int.
        scan = data.translate(_SCAN_TABLE)
        if scan.find(b"*000000") >= 0:
            return None  # an aggregate count of 6+ digits (hiredis would allocate it up front)
        plain = 0x2B not in scan  # no '+'-class type byte anywhere
        if not plain and _HUGE_AGGREGATE.search(data):  # '~' maps to '+': check its counts too
            return None
        reader = self._reader
        reader.feed(data)
        try:
            parsed = _read_plain_requests(reader, data) if plain else _read_canonical_requests(reader, data)
        except (hiredis.ProtocolError, TypeError, IndexError, MemoryError):
            parsed = None
        if parsed is None or parsed[1] != len(data):
            self._reader = hiredis.Reader()  # it may hold part of a request: start clean
        return parsed

    # -- strict path (Redis's state machine) --------------------------------------------------

    def _parse_strict(self, commands: list[list[bytes]]) -> None:
        buf = self.buffer
        pos = 0
        try:
            while pos < len(buf):
                if not self._argc:
                    if buf[pos] == 0x2A:  # '*': multibulk; anything else is an inline command
                        new_pos = self._read_multibulk_header(buf, pos)
                    else:
                        new_pos = self._read_inline(buf, pos, commands)
                    if new_pos < 0:
                        return
                    pos = new_pos
                    if not self._argc:
                        if commands and not self.authenticated:
                            return
                        continue
                pos = self._read_bulk_args(buf, pos)
                if self._argc:
                    return  # the rest of this request has not arrived yet
                commands.append(self._args)
                self._args = []
                if not self.authenticated:
                    return
        finally:
            del buf[:pos]

    def _read_multibulk_header(self, buf: bytearray, pos: int) -> int:
        end = _line_end(buf, pos, 0x0D)
        if end < 0:
            if len(buf) - pos > INLINE_MAX_SIZE:
                raise ProtocolError("too big mbulk count string")
            return -1
        count = _string2ll(buf[pos + 1 : end])
        if count is None or count > MAX_MULTIBULK_LEN:
            raise ProtocolError("invalid multibulk length")
        if count > UNAUTH_MAX_MULTIBULK_LEN and not self.authenticated:
            raise ProtocolError("unauthenticated multibulk length")
        self._argc = max(count, 0)  # '*0' and '*-1' are skipped silently, as in Redis
        return end + 2

    def _read_bulk_args(self, buf: bytearray, pos: int) -> int:
        args = self._args
        while self._argc:
            if self._bulk_len < 0:
                end = _line_end(buf, pos, 0x0D)
                if end < 0:
                    if len(buf) - pos > INLINE_MAX_SIZE:
                        raise ProtocolError("too big bulk count string")
                    return pos
                if buf[pos] != 0x24:  # '$'
                    raise ProtocolError(f"expected '$', got '{_error_char(buf[pos])}'")
                size = _string2ll(buf[pos + 1 : end])
                if size is None or size < 0 or size > self.max_bulk_len:
                    raise ProtocolError("invalid bulk length")
                if size > UNAUTH_MAX_BULK_LEN and not self.authenticated:
                    raise ProtocolError("unauthenticated bulk length")
                self._bulk_len = size
                pos = end + 2
            size = self._bulk_len
            if len(buf) - pos < size + 2:
                return pos
            args.append(bytes(buf[pos : pos + size]))
            pos += size + 2  # the two bytes after the data are not checked, as in Redis
            self._bulk_len = -1
            self._argc -= 1
        return pos

    def _read_inline(self, buf: bytearray, pos: int, commands: list[list[bytes]]) -> int:
        end = _line_end(buf, pos, 0x0A)
        if end < 0:
            if len(buf) - pos > INLINE_MAX_SIZE:
                raise ProtocolError("too big inline request")
            return -1
        stop = end - 1 if end > pos and buf[end - 1] == 0x0D else end
        words = split_inline(bytes(buf[pos:stop]))
        if words is None:
            raise ProtocolError("unbalanced quotes in request")
        if words:
            commands.append(words)
        return end + 1


def _parse_plain_inline(data: bytes) -> list[list[bytes]] | None:
    """Complete inline lines with nothing for sdssplitargs to interpret, or None to go strict.

    Without quotes, NUL, '*' (a multibulk start), \\v or \\f, and within the inline limit, every
    line splits exactly like bytes.split() (CR/LF/space/tab separate words, empty lines vanish).
    """
    if data[-1] != 0x0A or len(data) > INLINE_MAX_SIZE or _INLINE_SPECIAL.search(data):
        return None
    return [words for words in map(bytes.split, data.split(b"\n")) if words]


def _read_plain_requests(reader: hiredis.Reader, data: bytes) -> tuple[list[list[bytes]], int] | None:
    """Requests from a read without RESP3 type bytes (lists of bytes), and the bytes they take."""
    commands = []
    # Raises TypeError unless every argument is bytes (not nested, not an integer or error):
    # joining is the cheapest check in C; a huge read is checked without copying it.
    check_arguments = _JOIN if len(data) <= _JOIN_CHECK_MAX else _sum_of_lengths
    while (request := reader.gets()) is not False:
        if request.__class__ is not list or not request:
            return None
        check_arguments(request)
        commands.append(request)
    # hiredis may hold a partial request it has not returned: after a boundary, an empty
    # multibulk reads back as exactly [] with nothing left; mid-request it reads otherwise.
    reader.feed(b"*0\r\n")
    if reader.gets() == [] and not reader.has_data():
        return commands, len(data)
    # Cut mid-request. Every complete one was '*N' and '$len' bulks (hiredis accepts no other
    # spelling of a length), so their canonical size is exactly the bytes they took.
    return commands, sum(map(_request_size, commands))


def _request_size(request: list[bytes]) -> int:
    header_len = _HEADER_LEN
    size = _header_size(len(request))
    for arg in request:
        size += len(arg) + 2 + (header_len[len(arg)] if len(arg) < 10000 else _header_size(len(arg)))
    return size


def _header_size(count: int) -> int:
    """len(b"*%d\\r\\n" % count), the same for '$'."""
    return _HEADER_LEN[count] if count < 10000 else len(b"%d" % count) + 3


def _read_canonical_requests(reader: hiredis.Reader, data: bytes) -> tuple[list[list[bytes]], int] | None:
    """Requests whose bytes are exactly '*N' then '$len' bulks, and the bytes they take."""
    commands = []
    pos = 0  # where the request hiredis returns next must start
    header_len = _HEADER_LEN
    while (request := reader.gets()) is not False:
        if request.__class__ is not list or not request or data[pos] != 0x2A:
            return None
        pos += _header_size(len(request))
        for arg in request:
            if arg.__class__ is not bytes or data[pos] != 0x24:  # '$'
                return None
            size = len(arg)
            pos += size + 2 + (header_len[size] if size < 10000 else _header_size(size))
        commands.append(request)
    return commands, pos


def _line_end(buf: bytearray, pos: int, terminator: int) -> int:
    """Index of the line end at pos as Redis's strchr finds it, or -1 when it is not there yet.

    A NUL before the terminator ends the C string first, so Redis waits for more data; a '\\r'
    ending a header must also have one more byte after it (the '\\n' Redis skips unchecked).
    """
    end = buf.find(terminator, pos)
    if end < 0 or buf.find(0, pos, end) >= 0:
        return -1
    if terminator == 0x0D and end > len(buf) - 2:
        return -1
    return end


def _string2ll(raw: bytearray) -> int | None:
    """Parse a '*'/'$' length as Redis's string2ll: '0' or an optional '-' then 1-9 and digits."""
    if raw == b"0":
        return 0
    digits = raw[1:] if raw[:1] == b"-" else raw
    if not digits.isdigit() or digits[0] == 0x30:
        return None
    value = int(raw)
    return value if _LLONG_MIN <= value <= _LLONG_MAX else None


def _error_char(byte: int) -> str:
    """The offending byte as Redis's '%c' prints it: raw (non-ASCII kept as its byte), except
    that an error reply is one line, so CR and LF become spaces (addReplyErrorFormat)."""
    if byte in (0x0D, 0x0A):
        return " "
    return chr(byte) if byte < 0x80 else bytes((byte,)).decode("utf-8", "surrogateescape")


# sdssplitargs: an unquoted word ends at one of these; between words isspace() is skipped.
_WORD_BREAKS = re.compile(rb"[ \t\r\n]+")
_ISSPACE = b" \t\r\n\v\f"
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def split_inline(line: bytes) -> list[bytes] | None:
    """Split an inline command as Redis's sdssplitargs does (quotes, escapes); None if unbalanced."""
    if b'"' not in line and b"'" not in line:
        if b"\v" not in line and b"\f" not in line:
            return line.split()  # the usual telnet line: bytes.split() breaks where Redis does
        # \v and \f do not end an unquoted word; they only vanish at a word's start.
        return [word for word in (w.lstrip(b"\v\f") for w in _WORD_BREAKS.split(line)) if word]
    words: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _ISSPACE:
            i += 1
        if i >= n:
            return words
        word = bytearray()
        while i < n and line[i] not in b" \t\r\n":
            c = line[i]
            if c == 0x22 or c == 0x27:  # a quoted section ends the word, wherever it starts
                i = _read_quoted(line, i + 1, word, c)
                if i < 0:
                    return None
                break
            word.append(c)
            i += 1
        words.append(bytes(word))


def _read_quoted(line: bytes, i: int, word: bytearray, quote: int) -> int:
    """Append a quoted section to word; return the index after it, or -1 if it is unbalanced.

    In "double quotes" \\xHH and C escapes (\\n \\r \\t \\b \\a, else the char itself) apply; in
    'single quotes' only \\' is an escape. The closing quote must be followed by a space or the end.
    """
    n = len(line)
    while i < n:
        c = line[i]
        if c == 0x5C and i + 1 < n:  # backslash
            nxt = line[i + 1]
            if quote == 0x22:
                if nxt == 0x78 and i + 3 < n and line[i + 2] in _HEX_DIGITS and line[i + 3] in _HEX_DIGITS:
                    word.append(int(line[i + 2 : i + 4], 16))
                    i += 4
                else:
                    word.append(_ESCAPES.get(nxt, nxt))
                    i += 2
                continue
            if nxt == 0x27:
                word.append(0x27)
                i += 2
                continue
        if c == quote:
            return -1 if i + 1 < n and line[i + 1] not in _ISSPACE else i + 1
        word.append(c)
        i += 1
    return -1  # unterminated
