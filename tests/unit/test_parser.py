"""RequestParser and split_inline against Redis 7.2's request state machine.

The examples were checked byte for byte against a real redis-server (the same inputs are replayed
against both servers in tests/integration/test_protocol.py). The properties compare the parser,
fed in arbitrary chunks and on both paths (hiredis fast path and strict path), with
`reference_parse`: a direct model of Redis's processInputBuffer over one complete buffer,
written C-style (NUL-terminated string, strchr) so it shares no code with the parser.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ember.protocol.parser import (
    INLINE_MAX_SIZE,
    UNAUTH_MAX_BULK_LEN,
    UNAUTH_MAX_MULTIBULK_LEN,
    RequestParser,
    split_inline,
)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- helpers ------------------------------------------------------------------------------------

def encode_request(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)] or [b""]


def run(parser: RequestParser, chunks: list[bytes]) -> tuple[list[list[bytes]], str | None]:
    """Feed chunks like the network layer: unauthenticated parsers are drained one command a time."""
    commands: list[list[bytes]] = []
    for chunk in chunks:
        data = chunk
        while True:
            got, error = parser.feed(data)
            data = b""
            commands.extend(got)
            if error is not None:
                return commands, error.reply.message
            assert parser.buffered <= sum(map(len, chunks))
            if parser.authenticated or not got:
                break
    return commands, None


def parse_both(chunks: list[bytes], **kwargs) -> tuple[list[list[bytes]], str | None]:
    """Run the fast-path and the strict-only parser on the same chunks; they must agree."""
    fast = run(_parser(True, **kwargs), chunks)
    strict = run(_parser(False, **kwargs), chunks)
    assert fast == strict
    return fast


def _parser(use_fast_path: bool, authenticated: bool = True, max_bulk_len: int = 512 * 1024 * 1024):
    parser = RequestParser(max_bulk_len, use_fast_path=use_fast_path)
    parser.authenticated = authenticated
    return parser


# -- the reference model --------------------------------------------------------------------------

_STRING2LL = re.compile(rb"0|-?[1-9][0-9]*")


def _ll(raw: bytes) -> int | None:
    if not _STRING2LL.fullmatch(raw):
        return None
    value = int(raw)
    return value if -(2**63) <= value < 2**63 else None


def reference_parse(data: bytes, authenticated: bool = True, max_bulk_len: int = 512 * 1024 * 1024):
    """Redis's processInputBuffer over `data` received at once: (commands, error text or None)."""
    s = data + b"\0"  # an sds string keeps a NUL after its bytes
    n = len(data)

    def strchr(ch: int, start: int) -> int:
        i = start
        while s[i] != 0 and s[i] != ch:
            i += 1
        return i if s[i] == ch else -1

    def fail(text: str):  # error replies are one line: CR and LF become spaces
        return commands, "ERR Protocol error: " + text.replace("\r", " ").replace("\n", " ")

    commands: list[list[bytes]] = []
    p = 0
    while p < n:
        if s[p] != ord("*"):  # inline
            nl = strchr(ord("\n"), p)
            if nl < 0:
                return fail("too big inline request") if n - p > INLINE_MAX_SIZE else (commands, None)
            end = nl - 1 if nl != p and s[nl - 1] == ord("\r") else nl
            words = sdssplitargs_model(s[p:end])
            if words is None:
                return fail("unbalanced quotes in request")
            p = nl + 1
            if words:
                commands.append(words)
            continue
        nl = strchr(ord("\r"), p)
        if nl < 0:
            return fail("too big mbulk count string") if n - p > INLINE_MAX_SIZE else (commands, None)
        if nl - p > n - p - 2:
            return commands, None
        count = _ll(s[p + 1 : nl])
        if count is None or count > 2**31 - 1:
            return fail("invalid multibulk length")
        if count > 10 and not authenticated:
            return fail("unauthenticated multibulk length")
        p = nl + 2
        args: list[bytes] = []
        while len(args) < count:
            nl = strchr(ord("\r"), p)
            if nl < 0:
                return fail("too big bulk count string") if n - p > INLINE_MAX_SIZE else (commands, None)
            if nl - p > n - p - 2:
                return commands, None
            if s[p] != ord("$"):
                got = s[p : p + 1].decode("utf-8", "surrogateescape")
                return fail(f"expected '$', got '{got}'")
            size = _ll(s[p + 1 : nl])
            if size is None or size < 0 or size > max_bulk_len:
                return fail("invalid bulk length")
            if size > 16384 and not authenticated:
                return fail("unauthenticated bulk length")
            if n - (nl + 2) < size + 2:
                return commands, None
            args.append(s[nl + 2 : nl + 2 + size])
            p = nl + 2 + size + 2
        if args:
            commands.append(args)
    return commands, None


def sdssplitargs_model(line: bytes) -> list[bytes] | None:
    """sds.c's sdssplitargs, transliterated with a NUL-terminated cursor."""
    s = line + b"\0"
    p = 0
    words: list[bytes] = []
    hexdigits = b"0123456789abcdefABCDEF"

    def closes(quote_at: int) -> bool:  # a closing quote must be followed by a space or nothing
        return not s[quote_at + 1] or chr(s[quote_at + 1]) in " \n\r\t\v\f"
    while True:
        while s[p] and chr(s[p]) in " \n\r\t\v\f":
            p += 1
        if not s[p]:
            return words
        inq = insq = done = False
        current = bytearray()
        while not done:
            c = s[p]
            if inq:
                if c == ord("\\") and s[p + 1] == ord("x") and s[p + 2] and s[p + 2] in hexdigits \
                        and s[p + 3] and s[p + 3] in hexdigits:
                    current.append(int(s[p + 2 : p + 4], 16))
                    p += 3
                elif c == ord("\\") and s[p + 1]:
                    p += 1
                    current.append({ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}.get(s[p], s[p]))
                elif c == ord('"') or not c:
                    if not c or not closes(p):
                        return None
                    done = True
                else:
                    current.append(c)
            elif insq:
                if c == ord("\\") and s[p + 1] == ord("'"):
                    p += 1
                    current.append(ord("'"))
                elif c == ord("'") or not c:
                    if not c or not closes(p):
                        return None
                    done = True
                else:
                    current.append(c)
            elif c in b" \n\r\t\0":
                done = True
            elif c == ord('"'):
                inq = True
            elif c == ord("'"):
                insq = True
            else:
                current.append(c)
            if s[p]:
                p += 1
        words.append(bytes(current))


# -- examples (each checked against redis-server 7.0) ---------------------------------------------

PING = [b"PING"]

EXAMPLES = [
    # multibulk framing quirks
    (b"*1\r\n$4\r\nPING\r\n", [PING], None),
    (b"*1\rX$4\r\nPING\r\n", [PING], None),  # the byte after '\r' is skipped unchecked
    (b"*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n", [PING, PING], None),  # so are the 2 after a bulk
    (b"*1\r\r\n$4\r\nPING\r\n", [], "expected '$', got ' '"),
    (b"*0\r\nPING\r\n", [PING], None),
    (b"*-1\r\nPING\r\n", [PING], None),
    (b"*-5\r\nPING\r\n", [PING], None),
    (b"*01\r\n$4\r\nPING\r\n", [], "invalid multibulk length"),
    (b"*-0\r\n", [], "invalid multibulk length"),
    (b"*+1\r\n", [], "invalid multibulk length"),
    (b"*1 \r\n", [], "invalid multibulk length"),
    (b"*\r\n", [], "invalid multibulk length"),
    (b"*2147483648\r\n", [], "invalid multibulk length"),
    (b"*9223372036854775808\r\n", [], "invalid multibulk length"),
    (b"*2147483647\r\n$4\r\nPING\r\n", [], None),  # waits for the rest
    (b"*1\r\n$-1\r\n", [], "invalid bulk length"),
    (b"*1\r\n$04\r\nPING\r\n", [], "invalid bulk length"),
    (b"*1\r\n$-0\r\n", [], "invalid bulk length"),
    (b"*1\r\n$\r\n", [], "invalid bulk length"),
    (b"*1\r\n$+4\r\nPING\r\n", [], "invalid bulk length"),
    (b"*1\r\n$9223372036854775808\r\n", [], "invalid bulk length"),
    (b"*1\r\n$536870913\r\n", [], "invalid bulk length"),
    (b"*1\r\n$536870912\r\n", [], None),
    (b"*1\r\n:1\r\n", [], "expected '$', got ':'"),
    (b"*1\r\n\r\n", [], "expected '$', got ' '"),  # the encoder turns \r into a space
    (b"*1\r\nX", [], None),  # no '\r' yet: waits before judging the byte
    (b"*1\x00\r\n", [], None),  # a NUL hides the line end (strchr)
    (b"*1\r\n$4\x00\r\n", [], None),
    (b"*1\r\n$4\r\nPING\r\n*x\r\n", [PING], "invalid multibulk length"),
    # inline
    (b"PING\r\n", [PING], None),
    (b"PING\n", [PING], None),
    (b"\r\n\r\nPING\r\n", [PING], None),
    (b"\n", [], None),
    (b" \t PING  \r\n", [PING], None),
    (b"PING\r\r\n", [PING], None),
    (b"PING\rPING\r\n", [[b"PING", b"PING"]], None),
    (b"PING\x00\r\n", [], None),
    (b'ECHO "x"\x00\r\n', [], None),
    (b'ECHO "x\r"\r\n', [[b"ECHO", b"x\r"]], None),
    (b"ECHO a\vb\r\n", [[b"ECHO", b"a\vb"]], None),  # \v does not end an unquoted word
    (b'ECHO \x0b"a"\x0c\r\n', [[b"ECHO", b"a"]], None),
    (b'ECHO "a"b\r\n', [], "unbalanced quotes in request"),
    (b"ECHO 'a'b\r\n", [], "unbalanced quotes in request"),
    (b'ECHO a"b c"d\r\n', [], "unbalanced quotes in request"),
    (b'ECHO "a\r\n', [], "unbalanced quotes in request"),
    (b'ECHO "a\\"\r\n', [], "unbalanced quotes in request"),
    (b'ECHO "a\\x41\\x4g\\n\\q"\r\n', [[b"ECHO", b"aAx4g\nq"]], None),
    (b'ECHO "\\t\\b\\a\\r"\r\n', [[b"ECHO", b"\t\b\a\r"]], None),
    (b"ECHO 'a\\'b\\n'\r\n", [[b"ECHO", b"a'b\\n"]], None),
    (b"ECHO '\\x41'\r\n", [[b"ECHO", b"\\x41"]], None),
    (b'ECHO ""\r\n', [[b"ECHO", b""]], None),
    (b'SET a "b c"\r\n', [[b"SET", b"a", b"b c"]], None),
    # RESP3 aggregates after a request are inline lines to Redis, not requests (hiredis reads them)
    *((b"*1\r\n$4\r\nPING\r\n" + kind + b"1\r\n$1\r\na\r\n$1\r\nb\r\n",
       [PING, [kind + b"1"], [b"$1"], [b"a"], [b"$1"], [b"b"]], None) for kind in (b"|", b"%", b">", b"~")),
]


@pytest.mark.parametrize(("data", "commands", "error"), EXAMPLES)
def test_examples_match_redis(data, commands, error):
    expected_error = None if error is None else "ERR Protocol error: " + error
    for cut in range(len(data) + 1):  # every single split point, on both paths
        assert parse_both(split_at(data, [cut])) == (commands, expected_error)
    assert reference_parse(data)[0] == commands


def test_error_keeps_non_ascii_byte_raw():
    _, error = parse_both([b"*1\r\n\xff\r\n"])
    assert error == "ERR Protocol error: expected '$', got '\udcff'"  # encodes back to b"\xff"
    assert error.encode("utf-8", "surrogateescape").endswith(b"'\xff'")


@pytest.mark.parametrize(("prefix", "text"), [
    (b"", "too big inline request"),
    (b"*", "too big mbulk count string"),
    (b"*1\r\n$", "too big bulk count string"),
])
def test_lines_without_end_are_bounded(prefix, text):
    for use_fast_path in (True, False):
        parser = _parser(use_fast_path)
        chunk = b"1" * 4096
        _, error = parser.feed(prefix)
        fed = len(prefix)
        while error is None:
            assert parser.buffered <= INLINE_MAX_SIZE + len(chunk) + len(prefix)
            _, error = parser.feed(chunk)
            fed += len(chunk)
            assert fed < 2 * INLINE_MAX_SIZE
        assert error.reply.message == "ERR Protocol error: " + text
        assert parser.buffered == 0


def test_line_of_exactly_inline_max_size_is_accepted():
    line = b"ECHO " + b"x" * (INLINE_MAX_SIZE - 5)
    assert parse_both([line, b"\r\n"]) == ([[b"ECHO", b"x" * (INLINE_MAX_SIZE - 5)]], None)


def test_proto_max_bulk_len_is_the_parser_setting():
    small = 1024 * 1024
    assert parse_both([b"*1\r\n$%d\r\n" % (small + 1)], max_bulk_len=small)[1] == \
        "ERR Protocol error: invalid bulk length"
    value = b"v" * small
    assert parse_both([encode_request([b"SET", b"k", value])], max_bulk_len=small) == \
        ([[b"SET", b"k", value]], None)


def test_big_argument_across_many_reads():
    value = bytes(range(256)) * 4096  # 1 MiB with every byte value, CRLFs included
    data = encode_request([b"SET", b"key", value]) + encode_request(PING)
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    for use_fast_path in (True, False):
        parser = _parser(use_fast_path)
        assert run(parser, chunks) == ([[b"SET", b"key", value], PING], None)
        assert parser.buffered == 0


def test_buffered_counts_the_unparsed_tail():
    parser = _parser(True)
    commands, error = parser.feed(encode_request(PING) + b"*2\r\n$3\r\nGET\r\n$10\r\nabc")
    assert (commands, error) == ([PING], None)
    assert parser.buffered == 3  # the header lines are consumed; the partial bulk waits
    assert parser.feed(b"defghij\r\n") == ([[b"GET", b"abcdefghij"]], None)
    assert parser.buffered == 0


class TestUnauthenticated:
    def test_limits(self):
        ok_args = [b"x"] * UNAUTH_MAX_MULTIBULK_LEN
        assert parse_both([encode_request(ok_args)], authenticated=False) == ([ok_args], None)
        assert parse_both([encode_request(ok_args + [b"x"])], authenticated=False)[1] == \
            "ERR Protocol error: unauthenticated multibulk length"
        big = b"v" * UNAUTH_MAX_BULK_LEN
        assert parse_both([encode_request([b"AUTH", big])], authenticated=False) == ([[b"AUTH", big]], None)
        assert parse_both([b"*1\r\n$%d\r\n" % (UNAUTH_MAX_BULK_LEN + 1)], authenticated=False)[1] == \
            "ERR Protocol error: unauthenticated bulk length"

    def test_invalid_length_is_reported_before_the_auth_limit(self):
        assert parse_both([b"*2147483648\r\n"], authenticated=False)[1] == \
            "ERR Protocol error: invalid multibulk length"

    def test_one_command_per_feed_so_auth_can_lift_the_limits(self):
        parser = _parser(True, authenticated=False)
        pipeline = encode_request([b"AUTH", b"pw"]) + encode_request([b"x"] * 11)
        assert parser.feed(pipeline) == ([[b"AUTH", b"pw"]], None)
        parser.authenticated = True
        assert parser.feed(b"") == ([[b"x"] * 11], None)

    def test_inline_commands_one_at_a_time_too(self):
        parser = _parser(True, authenticated=False)
        assert parser.feed(b"\r\nAUTH pw\r\nPING\r\n") == ([[b"AUTH", b"pw"]], None)
        assert parser.feed(b"") == ([PING], None)
        assert parser.feed(b"") == ([], None)


# -- properties -----------------------------------------------------------------------------------

arguments = st.binary(max_size=40) | st.sampled_from([b"", b"\r\n", b"$3\r\n", b"*1\r\n", b"+OK", b"=", b"\x00"])
requests = st.lists(st.lists(arguments, min_size=1, max_size=6), min_size=1, max_size=8)
cuts = st.lists(st.integers(min_value=0, max_value=2000), max_size=6)


@PROPERTY
@given(requests, cuts)
def test_round_trip_in_any_chunking(commands, cut_points):
    data = b"".join(encode_request(c) for c in commands)
    assert parse_both(split_at(data, cut_points)) == (commands, None)


@PROPERTY
@given(requests, cuts)
def test_round_trip_unauthenticated(commands, cut_points):
    data = b"".join(encode_request(c[:UNAUTH_MAX_MULTIBULK_LEN]) for c in commands)
    expected = [c[:UNAUTH_MAX_MULTIBULK_LEN] for c in commands]
    assert parse_both(split_at(data, cut_points), authenticated=False) == (expected, None)


TOKENS = [b"*", b"$", b"\r\n", b"\r", b"\n", b"0", b"1", b"2", b"3", b"4", b"-1", b"-", b"10", b"PING",
          b"x", b" ", b"\t", b"\v", b'"', b"'", b"\\", b"\\x4", b"1f", b"\x00", b"\xff", b"+", b"=",
          b":", b"%", b"~", b">", b"|", b"_", b",", b"(", b"#", b"!", b"999999", b"*1\r\n$4\r\nPING\r\n"]
garbage = st.binary(max_size=200) | st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join) | \
    st.tuples(requests, st.binary(max_size=20), requests).map(
        lambda t: b"".join(map(encode_request, t[0])) + t[1] + b"".join(map(encode_request, t[2])))


@PROPERTY
@given(garbage, cuts, st.booleans())
def test_any_bytes_parse_like_redis_in_any_chunking(data, cut_points, authenticated):
    result = parse_both(split_at(data, cut_points), authenticated=authenticated)
    assert result == reference_parse(data, authenticated=authenticated)


inline_lines = st.lists(st.sampled_from([b"a", b"bc", b" ", b"\t", b"\v", b"\f", b"\r", b'"', b"'", b"\\",
                                          b"x", b"4", b"1", b"F", b"g", b"n", b"\\x41", b"\xe9"]),
                        max_size=30).map(b"".join) | st.binary(max_size=60).map(lambda b: b.replace(b"\0", b""))


@PROPERTY
@given(inline_lines)
def test_split_inline_matches_sdssplitargs(line):
    assert split_inline(line) == sdssplitargs_model(line)


@PROPERTY
@given(st.lists(st.lists(st.binary(max_size=12), min_size=1, max_size=5), min_size=1, max_size=5), cuts)
def test_inline_round_trip_with_quoting(commands, cut_points):
    def quote(word: bytes) -> bytes:
        return b'"' + b"".join(b"\\x%02x" % byte for byte in word) + b'"'

    data = b"".join(b" ".join(map(quote, words)) + b"\r\n" for words in commands)
    assert parse_both(split_at(data, cut_points)) == (commands, None)


class _RecordingReader:
    """Stands in for hiredis.Reader to see what the fast path hands it."""

    def __init__(self) -> None:
        self.fed: list[bytes] = []

    def feed(self, data: bytes) -> None:
        self.fed.append(data)

    def gets(self):
        return False

    def has_data(self) -> bool:
        return False


@pytest.mark.parametrize("data", [
    b"*2147483647\r\n",
    b"*2\r\n$4\r\nECHO\r\n*2147483647\r\n",
    b"*2\r\n$4\r\nECHO\r\n%1000000\r\n",
    b"*2\r\n$4\r\nECHO\r\n~1000000\r\n",
])
def test_huge_aggregate_counts_never_reach_hiredis(data):
    # hiredis allocates a list of the announced size at once, and freeing a huge one touches
    # every slot: such reads go to the strict path, which allocates nothing up front.
    parser = _parser(True)
    parser._reader = recorder = _RecordingReader()
    assert run(parser, [data]) == reference_parse(data)
    assert recorder.fed == []
