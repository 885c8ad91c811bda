"""The wire protocol against the real process: raw sockets, redis-cli, redis-benchmark, redis-py.

Malformed input is replayed against redis-server too and the replies compared byte for byte,
including that both close the connection after a protocol error.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess

import hiredis
import pytest

from tests.conftest import start_ember, start_redis

SENTINEL = b"*2\r\n$4\r\nECHO\r\n$8\r\nSENTINEL\r\n"


def connect(server, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes the connection (timeout = test failure)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def read_until(sock: socket.socket, suffix: bytes) -> bytes:
    data = b""
    while not data.endswith(suffix):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return data


def read_replies(sock: socket.socket, count: int, resp3: bool = False) -> list:
    reader = hiredis.Reader(replyError=lambda e: ("error", str(e)))
    replies: list = []
    while len(replies) < count:
        while (reply := reader.gets()) is not False:
            replies.append(reply)
        if len(replies) < count:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed early")
            reader.feed(chunk)
    return replies


def exchange(server, data: bytes) -> tuple[bytes, bool]:
    """Send data; return what the server answered and whether it closed the connection."""
    with connect(server) as sock:
        sock.sendall(data + SENTINEL)
        try:
            reply = read_until(sock, b"$8\r\nSENTINEL\r\n")
            return reply[: -len(b"$8\r\nSENTINEL\r\n")], False
        except ConnectionError:
            pass
    with connect(server) as sock:  # it closed: read the whole answer again, to the end
        sock.sendall(data + SENTINEL)
        return read_until_closed(sock), True


@pytest.fixture(scope="module")
def has_strings(ember) -> bool:
    return b"$3\r\nset\r\n" in exchange(ember, b"COMMAND INFO set\r\n")[0]


@pytest.fixture
def strings(has_strings):
    if not has_strings:
        pytest.skip("SET/GET are not implemented yet")


# -- framing --------------------------------------------------------------------------------------

def test_pipeline_of_1000_commands_in_one_write(ember):
    payload = b"".join(b"*2\r\n$4\r\nECHO\r\n$%d\r\n%d\r\n" % (len(b"%d" % i), i) for i in range(1000))
    with connect(ember) as sock:
        sock.sendall(payload)
        assert read_replies(sock, 1000) == [b"%d" % i for i in range(1000)]


def test_pipeline_split_at_every_byte_boundary(ember):
    payload = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\nPING\r\n*1\r\n$4\r\nPING\r\n"
    with connect(ember) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in payload:
            sock.sendall(bytes((byte,)))
        assert read_replies(sock, 3) == [b"hello", b"PONG", b"PONG"]


def test_inline_commands(ember):
    with connect(ember) as sock:
        sock.sendall(b'PING\r\nECHO "b c"\r\nECHO \'x y\' \r\n\r\nPING hello\n')
        assert read_replies(sock, 4) == [b"PONG", b"b c", b"x y", b"hello"]


def test_inline_set_with_quotes(ember, strings):
    with connect(ember) as sock:
        sock.sendall(b'SET a "b c"\r\nGET a\r\n')
        assert read_replies(sock, 2) == [b"OK", b"b c"]


def test_big_argument_across_many_reads(ember):
    value = bytes(range(256)) * 20000  # ~5 MB, every byte value
    with connect(ember) as sock:
        sock.sendall(b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % len(value))
        for start in range(0, len(value), 100_000):
            sock.sendall(value[start : start + 100_000])
        sock.sendall(b"\r\n*1\r\n$4\r\nPING\r\n")
        assert read_replies(sock, 2) == [value, b"PONG"]


# -- malformed input, compared with redis-server ------------------------------------------------

MALFORMED = [
    b"*1\r\r\n$4\r\nPING\r\n",
    b"*01\r\n$4\r\nPING\r\n",
    b"*-0\r\n",
    b"*+1\r\n",
    b"*\r\n",
    b"*2147483648\r\n",
    b"*9223372036854775808\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$04\r\nPING\r\n",
    b"*1\r\n$\r\n",
    b"*1\r\n$9223372036854775808\r\n",
    b"*1\r\n$536870913\r\n",
    b"*1\r\n:1\r\n",
    b"*1\r\n\r\n",
    b"*1\r\n\xff\r\n",
    b"*1\r\n$4\r\nPING\r\n*x\r\n",
    b'ECHO "a"b\r\n',
    b"ECHO 'a'b\r\n",
    b'ECHO "a\r\n',
    b'PING\r\nECHO "a\\"\r\n',
]

WELL_FORMED_ODDITIES = [
    b"*1\rX$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n",
    b"*0\r\nPING\r\n",
    b"*-1\r\nPING\r\n",
    b"\r\n\r\nPING\r\n",
    b"PING\rPING\r\n",
    b'ECHO "a\\x41\\x4g\\n\\q"\r\n',
    b"ECHO 'a\\'b\\n'\r\n",
    b"ECHO a\vb\r\n",
    b'ECHO \x0b"a"\x0c\r\n',
    b'ECHO "x\r"\r\n',
    b"FOO a b\r\n",
    b"*3\r\n$3\r\nfoo\r\n$1\r\na\r\n$3\r\nb c\r\n",
    b"*1\r\n$4\r\nQUIT\r\n*x\r\n",
]


@pytest.mark.parametrize("data", MALFORMED + WELL_FORMED_ODDITIES, ids=repr)
def test_same_bytes_as_redis(ember, redis_server, data):
    expected = exchange(redis_server, data)
    assert exchange(ember, data) == expected
    if data in MALFORMED:
        assert expected[1] and b"-ERR Protocol error: " in expected[0]


def test_unknown_command_text(ember, redis_server):
    long_args = [b"x" * 100, b"y" * 100]
    payload = b"*3\r\n$6\r\nNOSUCH\r\n" + b"".join(b"$100\r\n%s\r\n" % a for a in long_args)
    assert exchange(ember, payload) == exchange(redis_server, payload)
    assert exchange(ember, payload)[0].startswith(b"-ERR unknown command 'NOSUCH', with args beginning with: 'xxx")


@pytest.fixture(scope="module")
def auth_servers(tmp_path_factory):
    ember_auth = start_ember(tmp_path_factory.mktemp("ember-auth"), "--requirepass", "pw", password="pw")
    try:
        redis_auth = start_redis(tmp_path_factory.mktemp("redis-auth"))
        with redis_auth.client() as conn:  # start_redis waits on a password-less PING
            conn.config_set("requirepass", "pw")
    except BaseException:
        ember_auth.stop()
        raise
    yield ember_auth, redis_auth
    ember_auth.stop()
    redis_auth.stop()


@pytest.mark.parametrize("data", [
    b"*11\r\n",
    b"*1\r\n$16385\r\n",
    b"*2\r\n$4\r\nECHO\r\n$16384\r\n" + b"x" * 16384 + b"\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*11\r\n$4\r\nECHO\r\n" + b"$1\r\nx\r\n" * 10,  # AUTH lifts limits
    b"*2\r\n$4\r\nAUTH\r\n$2\r\nno\r\n*11\r\n",
], ids=["count", "bulk", "bulk-at-limit", "auth-lifts-limits", "wrong-auth"])
def test_unauthenticated_limits_like_redis(auth_servers, data):
    ember_auth, redis_auth = auth_servers
    replies = []
    for server in (ember_auth, redis_auth):
        with connect(server) as sock:  # QUIT needs no AUTH: its +OK and the close end the answer
            sock.sendall(data + b"*1\r\n$4\r\nQUIT\r\n")
            replies.append(read_until_closed(sock))
    assert replies[0] == replies[1]


def test_query_buffer_limit_closes_the_connection(tmp_path):
    server = start_ember(tmp_path, "--client-query-buffer-limit", "1mb")
    try:
        with connect(server) as sock:
            sock.sendall(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n")
            try:
                for _ in range(40):  # the server drops us before 2 MB arrive, without a reply
                    sock.sendall(b"x" * 100_000)
                reply = read_until_closed(sock)
            except (ConnectionResetError, BrokenPipeError):
                reply = b""
            assert reply == b""
        with connect(server) as sock:  # others are unaffected, and a value under the limit passes
            value = b"v" * 900_000
            sock.sendall(b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (len(value), value))
            assert read_replies(sock, 1) == [value]
        log = server.log()
        assert "Closing client that reached max query buffer length: id=" in log
        assert '(qbuf initial bytes: "xxxxxxxx' in log  # the partial bulk, as Redis shows it
    finally:
        server.stop()


# -- real clients -------------------------------------------------------------------------------

def redis_cli(server, *args: str) -> str:
    result = subprocess.run(["redis-cli", "-p", str(server.port), *args], capture_output=True,
                            text=True, timeout=30, check=True)
    return result.stdout


needs_cli = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli not installed")


@needs_cli
def test_redis_cli(ember):
    assert redis_cli(ember, "ping") == "PONG\n"
    assert redis_cli(ember, "echo", "hello world") == "hello world\n"
    assert redis_cli(ember, "--no-raw", "echo", "hello") == '"hello"\n'
    assert redis_cli(ember, "--no-raw", "nosuchcommand") == \
        "(error) ERR unknown command 'nosuchcommand', with args beginning with: \n"


@needs_cli
def test_redis_cli_set_get(ember, strings):
    assert redis_cli(ember, "set", "cli-key", "a b") == "OK\n"
    assert redis_cli(ember, "get", "cli-key") == "a b\n"
    assert redis_cli(ember, "--no-raw", "get", "cli-key") == '"a b"\n'


@pytest.mark.skipif(shutil.which("redis-benchmark") is None, reason="redis-benchmark not installed")
def test_redis_benchmark_smoke(ember, has_strings):
    tests = "ping,set,get" if has_strings else "ping"
    result = subprocess.run(["redis-benchmark", "-p", str(ember.port), "-t", tests, "-n", "2000", "-q"],
                            capture_output=True, text=True, timeout=120, check=True)
    rates = dict(re.findall(r"^(\w+): ([\d.]+) requests per second", result.stdout.replace("\r", "\n"), re.M))
    expected = {"PING_INLINE", "PING_MBULK"} | ({"SET", "GET"} if has_strings else set())
    assert expected <= set(rates), result.stdout
    assert all(float(rates[name]) > 0 for name in expected)


def test_redis_py_resp2_and_resp3(ember, has_strings):
    for protocol in (2, 3):
        with ember.client(protocol=protocol) as conn:
            assert conn.ping() is True
            assert conn.echo(b"\x00\r\nbinary") == b"\x00\r\nbinary"
            if has_strings:
                assert conn.set("py-key", "v") is True
                assert conn.get("py-key") == b"v"
                assert conn.get("py-missing") is None
            pipe = conn.pipeline(transaction=False)
            for i in range(50):
                pipe.echo(str(i))
            assert pipe.execute() == [str(i).encode() for i in range(50)]


def test_a_lower_proto_max_bulk_len_applies_to_open_connections(ember):
    open_before = connect(ember)
    admin = ember.client()
    try:
        admin.config_set("proto-max-bulk-len", 1024 * 1024)
        open_before.sendall(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n")
        assert read_until_closed(open_before) == b"-ERR Protocol error: invalid bulk length\r\n"
    finally:
        admin.config_set("proto-max-bulk-len", 512 * 1024 * 1024)
        open_before.close()
