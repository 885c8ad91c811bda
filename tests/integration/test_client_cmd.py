"""CLIENT subcommands against a real Ember process, through redis-py and raw sockets."""

from __future__ import annotations

import os
import socket
import time

import pytest
import redis

from tests.conftest import wait_until
from tests.differential.harness import RawConnection, decode


@pytest.fixture
def r(ember):
    """A RESP2 client. (No FLUSHALL: these tests use no keys.)"""
    client = ember.client(protocol=2, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def r3(ember):
    client = ember.client(protocol=3, decode_responses=True)
    yield client
    client.close()


def info_fields(line: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in line.strip().split(" "))


def client_line(r, client_id: int) -> dict[str, str]:
    return info_fields(r.execute_command("CLIENT", "LIST", "ID", client_id))


# -- identity ---------------------------------------------------------------------------------

def test_client_id_is_unique_and_increasing(ember, r):
    other = ember.client()
    first, second = r.client_id(), other.client_id()
    assert isinstance(first, int) and second != first
    assert ember.client().client_id() > max(first, second)
    other.close()


def test_setname_getname_and_reset_by_empty_name(r):
    assert r.client_getname() is None
    assert r.client_setname("worker-1") is True
    assert r.client_getname() == "worker-1"
    assert info_fields(r.execute_command("CLIENT", "INFO"))["name"] == "worker-1"
    r.client_setname("")
    assert r.client_getname() is None


@pytest.mark.parametrize("name", ["a b", "a\nb", "caf\xe9"])
def test_setname_rejects_spaces_and_special_characters(r, name):
    with pytest.raises(redis.ResponseError, match="Client names cannot contain spaces, newlines or special characters."):
        r.client_setname(name)


def test_redis_py_sends_setinfo_on_connect(r):
    fields = info_fields(r.execute_command("CLIENT", "INFO"))
    assert fields["lib-name"] == "redis-py"
    assert fields["lib-ver"] == redis.__version__


def test_setinfo_sets_and_clears_lib_fields(r):
    assert r.execute_command("CLIENT", "SETINFO", "LIB-NAME", "celery") == "OK"
    assert r.execute_command("CLIENT", "SETINFO", "lib-ver", "5.3") == "OK"
    fields = info_fields(r.execute_command("CLIENT", "INFO"))
    assert (fields["lib-name"], fields["lib-ver"]) == ("celery", "5.3")
    r.execute_command("CLIENT", "SETINFO", "lib-name", "")
    assert info_fields(r.execute_command("CLIENT", "INFO"))["lib-name"] == ""


def test_setinfo_errors(r):
    with pytest.raises(redis.ResponseError, match=r"^Unrecognized option 'lib-foo'$"):
        r.execute_command("CLIENT", "SETINFO", "lib-foo", "x")
    with pytest.raises(redis.ResponseError, match=r"^LIB-NAME cannot contain spaces, newlines or special characters.$"):
        r.execute_command("CLIENT", "SETINFO", "LIB-NAME", "my lib")


# -- LIST and INFO ----------------------------------------------------------------------------

CLIENT_LIST_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub",
                      "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl",
                      "oll", "omem", "tot-mem", "events", "cmd", "user", "redir", "resp", "lib-name",
                      "lib-ver"]


def test_client_list_counts_what_a_connection_holds(ember, r):
    """tot-mem is what maxmemory-clients counts: a request still arriving is in it."""
    sock = socket.create_connection(("127.0.0.1", ember.port), timeout=10)
    try:
        sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000\r\n" + b"x" * 100_000)
        lines = lambda: [info_fields(line) for line in r.execute_command("CLIENT", "LIST").splitlines()]  # noqa: E731
        wait_until(lambda: any(int(f["qbuf"]) >= 100_000 for f in lines()), message="the partial request buffered")
        holder = next(f for f in lines() if int(f["qbuf"]) >= 100_000)
        assert int(holder["tot-mem"]) >= int(holder["qbuf"]) + 20 * 1024 and holder["omem"] == "0"
        idle = info_fields(r.execute_command("CLIENT", "INFO"))
        assert int(idle["tot-mem"]) < int(holder["tot-mem"])
    finally:
        sock.close()


def test_client_info_has_redis_72_fields_in_order(r):
    line = r.execute_command("CLIENT", "INFO")
    assert line.endswith("\n") and line.count("\n") == 1
    fields = info_fields(line)
    assert list(fields) == CLIENT_LIST_FIELDS
    assert fields["id"] == str(r.client_id())
    assert fields["cmd"] == "client|info"
    assert (fields["flags"], fields["db"], fields["multi"], fields["user"], fields["resp"]) == ("N", "0", "-1", "default", "2")
    assert int(fields["fd"]) > 0


def test_client_info_is_verbatim_in_resp3(r3):
    # redis-py turns a RESP3 verbatim string into its text
    fields = info_fields(r3.execute_command("CLIENT", "INFO"))
    assert fields["resp"] == "3"


def test_client_list_shows_every_connection(ember, r):
    others = [ember.client() for _ in range(2)]
    ids = [c.client_id() for c in others]
    listed = r.client_list()
    listed_ids = {int(entry["id"]) for entry in listed}
    assert set(ids) | {r.client_id()} <= listed_ids
    own = next(entry for entry in listed if int(entry["id"]) == r.client_id())
    assert own["cmd"] == "client|list"
    for c in others:
        c.close()


def test_client_list_filters(ember, r):
    subscriber = RawConnection(ember.port)
    subscriber.sock.sendall(b"SUBSCRIBE news sport\r\nSSUBSCRIBE shard\r\n")
    for _ in range(3):
        subscriber.read_reply()
    pubsub_lines = [info_fields(line) for line in r.execute_command("CLIENT", "LIST", "TYPE", "pubsub").splitlines()]
    assert len(pubsub_lines) == 1
    line = pubsub_lines[0]
    assert (line["flags"], line["sub"], line["psub"], line["ssub"]) == ("P", "2", "0", "1")
    normal_ids = {info_fields(line)["id"] for line in r.execute_command("CLIENT", "LIST", "TYPE", "normal").splitlines()}
    assert str(r.client_id()) in normal_ids and line["id"] not in normal_ids
    assert r.execute_command("CLIENT", "LIST", "TYPE", "replica") == ""
    assert r.execute_command("CLIENT", "LIST", "TYPE", "master") == ""
    subscriber.close()


def test_client_list_by_ids_keeps_order_and_skips_unknown(ember, r):
    other = ember.client()
    own_id, other_id = r.client_id(), other.client_id()
    lines = r.execute_command("CLIENT", "LIST", "ID", other_id, 999999, own_id).splitlines()
    assert [info_fields(line)["id"] for line in lines] == [str(other_id), str(own_id)]
    with pytest.raises(redis.ResponseError, match="^Invalid client ID$"):
        r.execute_command("CLIENT", "LIST", "ID", "x")
    other.close()


def test_flags_show_no_evict_no_touch_and_multi(r):
    r.execute_command("CLIENT", "NO-EVICT", "on")
    r.execute_command("CLIENT", "NO-TOUCH", "ON")
    assert info_fields(r.execute_command("CLIENT", "INFO"))["flags"] == "eT"
    r.execute_command("CLIENT", "NO-TOUCH", "off")
    r.execute_command("CLIENT", "NO-EVICT", "off")
    assert info_fields(r.execute_command("CLIENT", "INFO"))["flags"] == "N"
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("CLIENT", "NO-TOUCH", "maybe")


def test_multi_count_in_client_list(ember, r):
    raw = RawConnection(ember.port)
    raw.call("MULTI")
    raw.call("PING")
    raw.call("PING")
    lines = [info_fields(line) for line in r.execute_command("CLIENT", "LIST").splitlines()]
    queued = [line for line in lines if line["multi"] != "-1"]
    assert len(queued) == 1 and queued[0]["multi"] == "2" and "x" in queued[0]["flags"]
    raw.close()


# -- KILL -------------------------------------------------------------------------------------

def _connection_dropped(conn: RawConnection) -> bool:
    try:
        conn.sock.sendall(b"PING\r\n")
        return conn.sock.recv(64) == b""
    except OSError:
        return True


def _raw_identity(conn: RawConnection) -> dict[str, str]:
    return info_fields(decode(conn.call("CLIENT", "INFO")).decode())


def test_kill_old_form_by_address(ember, r):
    victim = RawConnection(ember.port)
    addr = _raw_identity(victim)["addr"]
    assert r.execute_command("CLIENT", "KILL", addr) == "OK"
    wait_until(lambda: _connection_dropped(victim), message="victim disconnected")
    with pytest.raises(redis.ResponseError, match="^No such client$"):
        r.execute_command("CLIENT", "KILL", addr)


def test_kill_new_form_filters(ember, r):
    victims = [RawConnection(ember.port) for _ in range(2)]
    first = _raw_identity(victims[0])
    assert r.execute_command("CLIENT", "KILL", "ID", first["id"]) == 1
    assert r.execute_command("CLIENT", "KILL", "ID", first["id"]) == 0
    second = _raw_identity(victims[1])
    assert r.execute_command("CLIENT", "KILL", "ADDR", second["addr"], "LADDR", second["laddr"], "USER", "default") == 1
    for victim in victims:
        wait_until(lambda victim=victim: _connection_dropped(victim), message="victim disconnected")


def test_kill_skips_caller_unless_skipme_no(ember):
    conn = RawConnection(ember.port)
    me = _raw_identity(conn)
    assert conn.call("CLIENT", "KILL", "ID", me["id"]) == b":0\r\n"
    assert conn.call("CLIENT", "KILL", "ID", me["id"], "SKIPME", "no") == b":1\r\n"
    wait_until(lambda: _connection_dropped(conn), message="caller disconnected after its reply")


def test_kill_by_type_and_maxage(ember, r):
    subscriber = RawConnection(ember.port)
    subscriber.call("SUBSCRIBE", "ch")
    assert r.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
    wait_until(lambda: _connection_dropped(subscriber), message="subscriber disconnected")
    # Nobody has been connected for a day.
    assert r.execute_command("CLIENT", "KILL", "MAXAGE", 86400) == 0
    with pytest.raises(redis.ResponseError, match="^maxage should be greater than 0$"):
        r.execute_command("CLIENT", "KILL", "MAXAGE", 0)


# -- REPLY ------------------------------------------------------------------------------------

def test_reply_off_skip_on(ember):
    sock = socket.create_connection(("127.0.0.1", ember.port))
    sock.sendall(b"CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\n"
                 b"CLIENT REPLY SKIP\r\nECHO skipped\r\nECHO seen\r\n")
    data = b""
    while not data.endswith(b"$4\r\nseen\r\n"):
        chunk = sock.recv(1024)
        assert chunk, data
        data += chunk
    assert data == b"+OK\r\n$4\r\nseen\r\n"
    sock.close()


# -- PAUSE / UNPAUSE / UNBLOCK ----------------------------------------------------------------

def _flags_of(r, client_id: int) -> str:
    return client_line(r, client_id).get("flags", "")


def test_pause_all_holds_every_client_until_the_deadline(ember):
    held, controller = RawConnection(ember.port), RawConnection(ember.port)
    assert controller.call("CLIENT", "PAUSE", "300", "ALL") == b"+OK\r\n"
    paused_at = time.monotonic()
    # Every command waits for the end of the pause, CLIENT commands of the controller included.
    assert held.call("ECHO", "later") == b"$5\r\nlater\r\n"
    assert time.monotonic() - paused_at >= 0.25
    held.close()
    controller.close()


def test_unpause_releases_held_commands(ember, r):
    writer = RawConnection(ember.port)
    writer_id = decode(writer.call("CLIENT", "ID"))
    assert r.execute_command("CLIENT", "PAUSE", 60000, "WRITE") == "OK"
    writer.sock.sendall(b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$1\r\nm\r\n")  # may replicate: held
    wait_until(lambda: "b" in _flags_of(r, writer_id), message="publish held by the pause")
    assert r.execute_command("CLIENT", "UNPAUSE") == "OK"
    assert writer.read_reply() == b":0\r\n"
    writer.close()


def test_pause_write_lets_reads_through_and_expires(ember, r):
    writer, reader = RawConnection(ember.port), RawConnection(ember.port)
    writer_id = decode(writer.call("CLIENT", "ID"))
    assert r.execute_command("CLIENT", "PAUSE", 300, "WRITE") == "OK"
    writer.sock.sendall(b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$1\r\nm\r\n")  # may replicate: held
    assert reader.call("ECHO", "read") == b"$4\r\nread\r\n"
    wait_until(lambda: "b" in _flags_of(r, writer_id), message="publish held by the pause")
    assert writer.read_reply() == b":0\r\n"  # the pause ends on its own after 300 ms
    writer.close()
    reader.close()


def test_pause_errors(r):
    with pytest.raises(redis.ResponseError, match="^CLIENT PAUSE mode must be WRITE or ALL$"):
        r.execute_command("CLIENT", "PAUSE", 10, "READ")
    with pytest.raises(redis.ResponseError, match="^timeout is negative$"):
        r.execute_command("CLIENT", "PAUSE", -1)
    with pytest.raises(redis.ResponseError, match="^timeout is not an integer or out of range$"):
        r.execute_command("CLIENT", "PAUSE", "1.5")
    # A deadline past a long long is refused (Redis 7.2), not a pause that never ends
    with pytest.raises(redis.ResponseError, match="^timeout is out of range$"):
        r.execute_command("CLIENT", "PAUSE", 2**63 - 1, "ALL")
    assert r.ping()


def test_unblock_of_a_client_that_is_not_blocked(ember, r):
    other = ember.client()
    assert r.execute_command("CLIENT", "UNBLOCK", other.client_id()) == 0
    assert r.execute_command("CLIENT", "UNBLOCK", other.client_id(), "ERROR") == 0
    other.close()


def _require_command(r, name: str) -> None:
    if not r.command_list(pattern=name):
        pytest.skip(f"{name.upper()} is not implemented yet")


@pytest.mark.parametrize(("reason", "expected"), [("TIMEOUT", b"*-1\r\n"), (
    "ERROR", b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")])
def test_unblock_blocked_client(ember, r, reason, expected):
    _require_command(r, "blpop")
    blocked = RawConnection(ember.port)
    blocked_id = decode(blocked.call("CLIENT", "ID"))
    blocked.sock.sendall(b"*3\r\n$5\r\nBLPOP\r\n$8\r\nnothing1\r\n$1\r\n0\r\n")
    wait_until(lambda: "b" in _flags_of(r, blocked_id), message="client blocked")
    assert r.execute_command("CLIENT", "UNBLOCK", blocked_id, reason) == 1
    assert blocked.read_reply() == expected
    blocked.close()


# -- tracking introspection -------------------------------------------------------------------

def test_trackinginfo_and_getredir(ember, r):
    assert r.execute_command("CLIENT", "GETREDIR") == -1
    assert r.execute_command("CLIENT", "TRACKINGINFO") == ["flags", ["off"], "redirect", -1, "prefixes", []]
    target = ember.client()
    target_id = target.client_id()
    r.execute_command("CLIENT", "TRACKING", "ON", "REDIRECT", target_id, "BCAST", "PREFIX", "user:", "PREFIX", "job:")
    assert r.execute_command("CLIENT", "GETREDIR") == target_id
    info = r.execute_command("CLIENT", "TRACKINGINFO")
    assert info[:4] == ["flags", ["on", "bcast"], "redirect", target_id]
    assert sorted(info[5]) == ["job:", "user:"]
    assert "t" in info_fields(r.execute_command("CLIENT", "INFO"))["flags"]
    target.close()
    wait_until(lambda: f"id={target_id} " not in r.execute_command("CLIENT", "LIST"),
               message="the server saw the redirect target go")
    # Like Redis, a gone redirect target is only noticed when there is something to send it.
    r.set("user:1", "x")
    wait_until(lambda: "broken_redirect" in r.execute_command("CLIENT", "TRACKINGINFO")[1],
               message="redirect reported broken")
    r.execute_command("CLIENT", "TRACKING", "OFF")
    assert r.execute_command("CLIENT", "GETREDIR") == -1


@pytest.mark.parametrize(("args", "error"), [
    (("ON", "PREFIX", "a"), "PREFIX option requires BCAST mode to be enabled"),
    (("ON", "BCAST", "OPTIN"), "OPTIN and OPTOUT are not compatible with BCAST"),
    (("ON", "OPTIN", "OPTOUT"), "You can't specify both OPTIN mode and OPTOUT mode"),
    (("ON", "REDIRECT", "999999"), "The client ID you want redirect to does not exist"),
    (("ON", "BCAST", "PREFIX", "ab", "PREFIX", "a"),
     "Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap."),
    (("MAYBE",), "syntax error"),
])
def test_tracking_errors(r, args, error):
    with pytest.raises(redis.ResponseError, match=f"^{error}$"):
        r.execute_command("CLIENT", "TRACKING", *args)


def test_caching_requires_optin_or_optout(r):
    with pytest.raises(redis.ResponseError, match="^CLIENT CACHING can be called only"):
        r.execute_command("CLIENT", "CACHING", "YES")
    r.execute_command("CLIENT", "TRACKING", "ON", "OPTIN")
    assert r.execute_command("CLIENT", "CACHING", "YES") == "OK"
    assert "caching-yes" in r.execute_command("CLIENT", "TRACKINGINFO")[1]
    with pytest.raises(redis.ResponseError, match="^CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.$"):
        r.execute_command("CLIENT", "CACHING", "NO")
    r.execute_command("CLIENT", "TRACKING", "OFF")


# -- HELP -------------------------------------------------------------------------------------

def test_help_lists_72_subcommands(r):
    lines = r.execute_command("CLIENT", "HELP")
    assert lines[0] == "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "SETINFO <option> <value>" in lines and "NO-TOUCH (ON|OFF)" in lines
    assert lines[-2:] == ["HELP", "    Prints this help."]


def test_timeout_closes_idle_clients_but_not_blocked_ones(ember, r):
    """`timeout` closes a client idle for longer (checked by the cron, as Redis), never one
    waiting in BLPOP; CLIENT LIST shows how long each has been idle."""
    idle, blocked = RawConnection(ember.port), RawConnection(ember.port)
    try:
        idle.call("CLIENT", "SETNAME", "idle")
        blocked.call("CLIENT", "SETNAME", "blocked")
        blocked.sock.sendall(b"*3\r\n$5\r\nBLPOP\r\n$7\r\nnothing\r\n$1\r\n0\r\n")
        wait_until(lambda: r.info("clients")["blocked_clients"] == 1, message="BLPOP to block")
        r.config_set("timeout", 1)
        wait_until(lambda: "name=idle " not in r.execute_command("CLIENT", "LIST"), timeout=10,
                   message="the idle client to be closed")
        blocked_line = next(line for line in r.execute_command("CLIENT", "LIST").splitlines()
                            if " name=blocked " in line)
        assert int(blocked_line.split(" idle=")[1].split()[0]) >= 1
        assert idle.sock.recv(1) == b""  # closed by the server
    finally:
        r.config_set("timeout", 0)
        idle.close()
        blocked.close()


def server_side_keepalive(server_port: int, client_port: int) -> float | None:
    """Seconds until the keepalive timer of the server's end of a loopback connection fires
    (Linux's /proc/net/tcp: timer kind 2, due in clock ticks); None when no such timer runs."""
    wanted = (f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}")
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if (fields[1], fields[2]) == wanted:
                kind, due = fields[5].split(":")
                return int(due, 16) / os.sysconf("SC_CLK_TCK") if kind == "02" else None
    raise AssertionError(f"no connection from port {client_port} in /proc/net/tcp")


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads Linux's /proc/net/tcp")
@pytest.mark.parametrize("which", ["ember", "redis_server"])
def test_tcp_keepalive_probes_idle_connections_accepted_after_it_is_set(request, which):
    """Default 300 s; CONFIG SET applies to connections accepted later; 0 turns it off; a value
    the kernel refuses leaves keepalive on with its own timings. Redis gives the same answers."""
    server = request.getfixturevalue(which)
    admin = server.client(protocol=2)

    def keepalive_of_a_new_connection() -> float | None:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(64) == b"+PONG\r\n"  # accepted and set up by now
            return server_side_keepalive(server.port, sock.getsockname()[1])

    try:
        assert 290 < keepalive_of_a_new_connection() <= 300
        admin.config_set("tcp-keepalive", 20)
        assert 10 < keepalive_of_a_new_connection() <= 20
        admin.config_set("tcp-keepalive", 0)
        assert keepalive_of_a_new_connection() is None
        admin.config_set("tcp-keepalive", 40000)  # past Linux's TCP_KEEPIDLE limit: refused
        assert keepalive_of_a_new_connection() > 300  # on, with the system's idle time
    finally:
        admin.config_set("tcp-keepalive", 300)
        admin.close()
