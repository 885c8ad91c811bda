"""Differential tests of the server-administration commands against redis-server.

Errors of CLIENT/SLOWLOG/LATENCY/DEBUG/COMMAND/SHUTDOWN are compared byte for byte; COMMAND
INFO/DOCS metadata is compared per command for every command both servers implement; INFO is
compared by section headers and field names (values are the servers' own).

The oracle is Debian's redis-server 7.0; cases where Redis 7.2 differs are excluded with a note.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import start_ember, wait_until
from tests.differential.harness import Differ, RawConnection, decode, encode_command


@pytest.fixture(scope="module")
def ember(tmp_path_factory):
    """Ember with DEBUG enabled, as the redis_server fixture runs redis-server."""
    server = start_ember(tmp_path_factory.mktemp("ember"), "--enable-debug-command", "yes")
    yield server
    server.stop()


@pytest.fixture
def diff(redis_server, ember):
    """Fresh connections to both servers. Unlike the shared fixture this does not FLUSHALL:
    these tests use no keys (and so do not depend on the keyspace commands)."""
    differ = Differ(redis_server.port, ember.port)
    yield differ
    differ.close()


# -- errors, byte for byte --------------------------------------------------------------------

ERROR_CASES = [
    # CLIENT
    ("CLIENT",), ("CLIENT", "foo"), ("CLIENT", "ID", "x"), ("CLIENT", "SETNAME"),
    ("CLIENT", "SETNAME", "a b"), ("CLIENT", "SETNAME", "a\nb"), ("CLIENT", "GETNAME", "x"),
    ("CLIENT", "LIST", "TYPE", "foo"), ("CLIENT", "LIST", "ID", "abc"), ("CLIENT", "LIST", "ID"),
    ("CLIENT", "LIST", "foo"), ("CLIENT", "LIST", "TYPE"), ("CLIENT", "LIST", "TYPE", "normal", "x"),
    ("CLIENT", "KILL"), ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "ID", "abc"),
    ("CLIENT", "KILL", "ID", "0"), ("CLIENT", "KILL", "ID", "-3"), ("CLIENT", "KILL", "foo", "bar"),
    ("CLIENT", "KILL", "TYPE", "foo"), ("CLIENT", "KILL", "SKIPME", "maybe"),
    ("CLIENT", "KILL", "USER", "nosuch"), ("CLIENT", "KILL", "ADDR"), ("CLIENT", "KILL", "ADDR", "x", "y"),
    ("CLIENT", "REPLY"), ("CLIENT", "REPLY", "foo"), ("CLIENT", "NO-EVICT"), ("CLIENT", "NO-EVICT", "maybe"),
    ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "abc"), ("CLIENT", "PAUSE", "-1"),
    ("CLIENT", "PAUSE", "10", "foo"), ("CLIENT", "PAUSE", "abc", "foo"), ("CLIENT", "PAUSE", "1", "all", "x"),
    ("CLIENT", "UNPAUSE", "x"), ("CLIENT", "UNBLOCK"), ("CLIENT", "UNBLOCK", "abc"),
    ("CLIENT", "UNBLOCK", "abc", "foo"), ("CLIENT", "UNBLOCK", "1", "foo"),
    ("CLIENT", "UNBLOCK", "1", "timeout", "x"), ("CLIENT", "GETREDIR", "x"), ("CLIENT", "INFO", "x"),
    ("CLIENT", "HELP", "x"), ("CLIENT", "TRACKINGINFO", "x"),
    # SLOWLOG
    ("SLOWLOG",), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "abc"), ("SLOWLOG", "GET", "1", "2"),
    ("SLOWLOG", "get", "1", "2"), ("SLOWLOG", "LEN", "x"), ("SLOWLOG", "RESET", "x"), ("SLOWLOG", "foo"),
    ("SLOWLOG", "HELP", "x"),
    # LATENCY
    ("LATENCY",), ("LATENCY", "LATEST", "x"), ("LATENCY", "HISTORY"), ("LATENCY", "HISTORY", "a", "b"),
    ("LATENCY", "DOCTOR", "x"), ("LATENCY", "GRAPH"), ("LATENCY", "GRAPH", "nosuch-event"),
    ("LATENCY", "foo"), ("LATENCY", "HELP", "x"),
    # DEBUG
    ("DEBUG",), ("DEBUG", "foo"), ("DEBUG", "sleep"), ("DEBUG", "SLEEP", "1", "2"),
    ("DEBUG", "set-active-expire"), ("DEBUG", "OBJECT"), ("DEBUG", "OBJECT", "nokey"),
    ("DEBUG", "OBJECT", "k", "extra"), ("DEBUG", "HELP", "x"), ("DEBUG", "PROTOCOL", "nosuch"),
    # COMMAND
    ("COMMAND", "foo"), ("COMMAND", "COUNT", "x"), ("COMMAND", "GETKEYS"), ("COMMAND", "GETKEYS", "echo"),
    ("COMMAND", "GETKEYS", "nosuch", "a"), ("COMMAND", "GETKEYS", "echo", "x"),
    ("COMMAND", "GETKEYS", "client", "nosuch"), ("COMMAND", "GETKEYS", "client", "list"),
    ("COMMAND", "GETKEYSANDFLAGS", "ping", "x"), ("COMMAND", "LIST", "FILTERBY"),
    ("COMMAND", "LIST", "FILTERBY", "foo", "bar"), ("COMMAND", "LIST", "foo"),
    ("COMMAND", "HELP", "x"),
    # SHUTDOWN (errors only: none of these may stop the server)
    ("SHUTDOWN", "foo"), ("SHUTDOWN", "SAVE", "NOSAVE"), ("SHUTDOWN", "ABORT", "NOW"),
    ("SHUTDOWN", "ABORT"), ("SHUTDOWN", "NOW", "FORCE", "bar"),
    # LOLWUT
    ("LOLWUT", "VERSION", "abc"),
]


@pytest.mark.parametrize("args", ERROR_CASES, ids=" ".join)
def test_error_replies_match(diff, args):
    reply = diff.check(*args)
    assert reply.startswith(b"-"), reply


# Replies (not errors) that are the same on both servers.
SAME_REPLY_CASES = [
    ("CLIENT", "GETNAME"), ("CLIENT", "REPLY", "ON"), ("CLIENT", "NO-EVICT", "on"),
    ("CLIENT", "NO-EVICT", "OFF"), ("CLIENT", "UNBLOCK", "999999"), ("CLIENT", "UNBLOCK", "999999", "ERROR"),
    ("CLIENT", "GETREDIR"), ("CLIENT", "TRACKINGINFO"), ("CLIENT", "LIST", "ID", "999999"),
    ("CLIENT", "KILL", "ADDR", "1.2.3.4:5"), ("CLIENT", "KILL", "ID", "999999"),
    ("CLIENT", "KILL", "TYPE", "master"), ("CLIENT", "KILL", "LADDR", "x"),
    ("CLIENT", "PAUSE", "0", "WRITE"), ("CLIENT", "UNPAUSE"),
    ("SLOWLOG", "GET", "0"), ("SLOWLOG", "RESET"), ("SLOWLOG", "HELP"),
    ("LATENCY", "LATEST"), ("LATENCY", "HISTORY", "nosuch-event"), ("LATENCY", "RESET"),
    ("LATENCY", "RESET", "a", "b"), ("LATENCY", "HELP"), ("LATENCY", "HISTOGRAM", "nosuch"),
    ("DEBUG", "SLEEP", "0"), ("DEBUG", "SLEEP", "abc"), ("DEBUG", "SET-ACTIVE-EXPIRE", "1"),
    ("COMMAND", "HELP"), ("COMMAND", "INFO", "nosuch"), ("COMMAND", "DOCS", "nosuch"),
    ("COMMAND", "LIST", "FILTERBY", "MODULE", "foo"), ("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"),
    ("COMMAND", "GETKEYS", "watch", "a", "b"),
    ("INFO", "nosuch"), ("INFO", "cluster"), ("INFO", "modules"),
]


@pytest.mark.parametrize("args", SAME_REPLY_CASES, ids=" ".join)
def test_same_replies(diff, args):
    diff.check(*args)


def test_slowlog_len_after_reset(diff):
    diff.check("SLOWLOG", "RESET")
    diff.check("SLOWLOG", "LEN")


@pytest.mark.parametrize("kind", ["string", "integer", "double", "bignum", "null", "array", "set",
                                  "map", "verbatim", "true"])
@pytest.mark.parametrize("protocol", ["2", "3"])
def test_debug_protocol_samples(diff, kind, protocol):
    diff.check("HELLO", protocol, normalize=lambda raw: raw[:1])  # ids and versions differ
    diff.check("DEBUG", "PROTOCOL", kind)


def test_debug_protocol_false(diff):
    # The harness reads a RESP3 false as "no reply yet", so read these few bytes directly.
    diff.check("HELLO", "3", normalize=lambda raw: raw[:1])
    replies = []
    for conn in (diff.redis, diff.ember):
        conn.sock.sendall(b"*3\r\n$5\r\nDEBUG\r\n$8\r\nPROTOCOL\r\n$5\r\nfalse\r\n")
        data = b""
        while not data.endswith(b"\r\n"):
            data += conn.sock.recv(64)
        replies.append(data)
    assert replies[0] == replies[1] == b"#f\r\n"


def test_debug_protocol_push_needs_resp3(diff):
    diff.check("DEBUG", "PROTOCOL", "push")


def test_client_setname_getname_roundtrip(diff):
    diff.check("CLIENT", "SETNAME", "conn-1")
    diff.check("CLIENT", "GETNAME")
    diff.check("CLIENT", "SETNAME", "")
    diff.check("CLIENT", "GETNAME")


def test_client_reply_off_and_skip(diff):
    """OFF and SKIP send nothing back: the next reply seen is the one after them."""
    for conn in (diff.redis, diff.ember):
        conn.sock.sendall(b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n"
                          b"*2\r\n$4\r\nECHO\r\n$7\r\nskipped\r\n"
                          b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n"
                          b"*2\r\n$4\r\nECHO\r\n$6\r\nhidden\r\n"
                          b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n"
                          b"*2\r\n$4\r\nECHO\r\n$5\r\nshown\r\n")
    assert diff.redis.read_reply() == diff.ember.read_reply() == b"+OK\r\n"
    assert diff.redis.read_reply() == diff.ember.read_reply() == b"$5\r\nshown\r\n"


def _info_line_fields(raw: bytes) -> list[str]:
    line = decode(raw).decode().strip()
    return [pair.split("=", 1)[0] for pair in line.split(" ")]


def test_client_info_fields(diff):
    redis_fields, ember_fields = (_info_line_fields(raw) for raw in diff.both("CLIENT", "INFO"))
    # lib-name and lib-ver are Redis 7.2 additions (CLIENT SETINFO); 7.0 lacks them.
    assert ember_fields == redis_fields + ["lib-name", "lib-ver"]


def test_client_list_type_and_id_filters(diff):
    for conn in (diff.redis, diff.ember):
        own_id = decode(conn.call("CLIENT", "ID"))
        listed = decode(conn.call("CLIENT", "LIST", "ID", str(own_id), "999999")).decode()
        assert listed.startswith(f"id={own_id} ") and listed.count("\n") == 1
        assert decode(conn.call("CLIENT", "LIST", "TYPE", "pubsub")) == b""


# -- COMMAND metadata -------------------------------------------------------------------------

def _names(conn: RawConnection) -> set[bytes]:
    return set(decode(conn.call("COMMAND", "LIST")))


# Subcommands one side has and the other lacks, on purpose.
SUBCOMMAND_DIFFERENCES = {
    b"client|setinfo", b"client|no-touch",  # new in Redis 7.2
}


def _comparable_info(entry: list) -> tuple:
    """name, arity, flags, first/last/step, ACL categories and subcommand names.

    Tips and key specs are left out: the command table does not carry them yet (Ember reports
    no tips and key specs derived from first/last/step)."""
    name, arity, flags, first, last, step, acl, _tips, _specs, subs = entry
    sub_names = sorted(s[0] for s in subs if s[0] not in SUBCOMMAND_DIFFERENCES)
    return (name, arity, sorted(flags), first, last, step, sorted(acl), sub_names)


# ZRANK/ZREVRANK gained WITHSCORE in 7.2, so their arity went from 3 (Debian's 7.0) to -3.
ARITY_CHANGED_IN_7_2 = {b"zrank", b"zrevrank"}


def test_command_info_matches_for_shared_commands(diff):
    shared = sorted(_names(diff.redis) & _names(diff.ember))
    assert len(shared) > 20
    mismatches = {}
    for name in shared:
        if name in ARITY_CHANGED_IN_7_2:
            continue
        redis_entry, ember_entry = (decode(raw)[0] for raw in diff.both("COMMAND", "INFO", name))
        if _comparable_info(redis_entry) != _comparable_info(ember_entry):
            mismatches[name] = (_comparable_info(redis_entry), _comparable_info(ember_entry))
    assert not mismatches, "\n".join(f"{name}: redis={r} ember={e}" for name, (r, e) in mismatches.items())


def test_command_docs_since_and_group_match(diff):
    shared = sorted(_names(diff.redis) & _names(diff.ember))
    mismatches = {}
    for name in shared:
        redis_docs, ember_docs = (decode(raw) for raw in diff.both("COMMAND", "DOCS", name))
        redis_fields, ember_fields = (dict(zip(d[1][::2], d[1][1::2], strict=True)) for d in (redis_docs, ember_docs))
        # Summaries are Ember's own words; since and group are facts to agree on.
        for field in (b"since", b"group"):
            if redis_fields.get(field) != ember_fields.get(field):
                mismatches[(name, field)] = (redis_fields.get(field), ember_fields.get(field))
    assert not mismatches, mismatches


def test_command_count_is_the_number_of_top_level_commands(diff):
    count = decode(diff.ember.call("COMMAND", "COUNT"))
    listed = [name for name in decode(diff.ember.call("COMMAND", "LIST")) if b"|" not in name]
    assert count == len(listed) == len(decode(diff.ember.call("COMMAND", "INFO")))


def test_command_info_of_a_subcommand_and_unknown_names(diff):
    diff.check("COMMAND", "INFO", "client|nosuch", "nosuch")
    redis_entry, ember_entry = (decode(raw) for raw in diff.both("COMMAND", "INFO", "client|getname", "CLIENT|ID"))
    assert [_comparable_info(e) for e in redis_entry] == [_comparable_info(e) for e in ember_entry]


def test_command_list_pattern_filter(diff):
    diff.check("COMMAND", "LIST", "FILTERBY", "PATTERN", "CLIENT|GET*", normalize=sorted)
    diff.check("COMMAND", "LIST", "FILTERBY", "PATTERN", "sub?cribe", normalize=sorted)


# -- INFO -------------------------------------------------------------------------------------

def _info_sections(raw: bytes) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in decode(raw).decode().split("\r\n"):
        if line.startswith("# "):
            current = sections.setdefault(line[2:], [])
        elif line and current is not None:
            current.append(line.split(":", 1)[0])
    return sections


def test_info_everything_has_redis_sections_in_order(diff):
    redis_sections, ember_sections = (list(_info_sections(raw)) for raw in diff.both("INFO", "everything"))
    assert ember_sections == redis_sections


def test_info_default_sections_match(diff):
    redis_sections, ember_sections = (list(_info_sections(raw)) for raw in diff.both("INFO"))
    assert ember_sections == redis_sections


@pytest.mark.parametrize("section", ["server", "clients", "memory", "persistence", "stats",
                                     "replication", "cpu"])
def test_info_section_has_every_redis_field_in_order(diff, section):
    redis_fields, ember_fields = (_info_sections(raw)[section.capitalize() if section != "cpu" else "CPU"]
                                  for raw in diff.both("INFO", section))
    # No field of 7.0's sections was dropped in 7.2, so all must be there, in Redis's order;
    # Ember may add 7.2's fields (listener0, total_blocking_keys, eventloop_*, acl_access_denied_*).
    missing = [field for field in redis_fields if field not in ember_fields]
    assert not missing
    positions = [ember_fields.index(field) for field in redis_fields]
    assert positions == sorted(positions)


def test_memory_stats_has_redis_field_names_in_order(diff):
    """The names monitoring tools read (values are each server's own). No keys here, so no
    db.N entries, whose counts would differ."""
    redis_names, ember_names = (decode(raw)[::2] for raw in diff.both("MEMORY", "STATS"))
    assert ember_names == redis_names


def test_info_sections_are_case_insensitive_and_combine(diff):
    redis_sections, ember_sections = (list(_info_sections(raw)) for raw in diff.both("INFO", "CPU", "Server"))
    assert ember_sections == redis_sections == ["Server", "CPU"]


def test_errorstats_and_commandstats_lines(diff):
    diff.check("CLIENT", "KILL", "ID", "abc")
    for raw in diff.both("INFO", "errorstats"):
        assert re.search(rb"\r\nerrorstat_ERR:count=\d+\r\n", raw)
    for raw in diff.both("INFO", "commandstats"):
        assert re.search(rb"\r\ncmdstat_client\|kill:calls=\d+,usec=\d+,usec_per_call=\d+\.\d\d,"
                         rb"rejected_calls=\d+,failed_calls=[1-9]\d*\r\n", raw)


# -- latency tracking: INFO latencystats, LATENCY HISTOGRAM ------------------------------------

# LATENCY HISTOGRAM's steps: 1024 ns doubling, each labelled with the end of its HDR sub-bucket
# in whole µs (the last one, 2**30 ns, with the end of the histogram's range).
_HISTOGRAM_STEPS = {min((1024 << k) + (8 << k) - 1, 2**30 - 1) // 1000 for k in range(21)}


def _histograms(raw: bytes) -> dict[bytes, tuple[int, dict[int, int]]]:
    """LATENCY HISTOGRAM's RESP2 reply as {command: (calls, {µs step: calls up to it})}."""
    flat = decode(raw)
    result = {}
    for name, entry in zip(flat[::2], flat[1::2], strict=True):
        fields = dict(zip(entry[::2], entry[1::2], strict=True))
        steps = fields[b"histogram_usec"]
        result[name] = (fields[b"calls"], dict(zip(steps[::2], steps[1::2], strict=True)))
    return result


def _run_some_commands(conn: RawConnection) -> None:
    conn.call("CONFIG", "RESETSTAT")
    for _ in range(5):
        conn.call("ECHO", "x")
    for _ in range(3):
        conn.call("PING")
    conn.call("CONFIG", "GET", "maxmemory")
    conn.call("TIME")


def test_latency_histogram_counts_the_calls_redis_counts(diff):
    for conn in (diff.redis, diff.ember):
        _run_some_commands(conn)
    redis_reply, ember_reply = (_histograms(raw) for raw in diff.both("LATENCY", "HISTOGRAM", "echo", "nosuch",
                                                                       "ping", "config", "time"))
    assert {name: calls for name, (calls, _) in ember_reply.items()} == \
        {name: calls for name, (calls, _) in redis_reply.items()} == \
        {b"echo": 5, b"ping": 3, b"config|get": 1, b"config|resetstat": 1, b"time": 1}
    for calls, steps in ember_reply.values():
        assert set(steps) <= _HISTOGRAM_STEPS
        counts = list(steps.values())
        assert counts == sorted(set(counts)) and counts[-1] == calls


def test_info_latencystats_lines(diff):
    lines = []
    for conn in (diff.redis, diff.ember):
        _run_some_commands(conn)
        conn.call("CONFIG", "SET", "latency-tracking-info-percentiles", "0 50 99.9 100")
        lines.append(dict(line.split(":", 1) for line in _info_lines(conn.call("INFO", "latencystats"))))
        conn.call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")
    redis_lines, ember_lines = lines
    assert set(ember_lines) == set(redis_lines) == {
        f"latency_percentiles_usec_{name}"
        for name in ("echo", "ping", "config|get", "config|resetstat", "config|set", "time")}
    for value in ember_lines.values():
        assert re.fullmatch(r"p0=\d+\.\d{3},p50=\d+\.\d{3},p99\.9=\d+\.\d{3},p100=\d+\.\d{3}", value), value


def _info_lines(raw: bytes) -> list[str]:
    return [line for line in decode(raw).decode().split("\r\n") if line and not line.startswith("#")]


def test_latency_tracking_off_records_nothing(diff):
    try:
        for conn in (diff.redis, diff.ember):
            conn.call("CONFIG", "SET", "latency-tracking", "no")
            conn.call("CONFIG", "RESETSTAT")
            conn.call("ECHO", "x")
        diff.check("LATENCY", "HISTOGRAM")
        diff.check("INFO", "latencystats")
    finally:
        for conn in (diff.redis, diff.ember):
            conn.call("CONFIG", "SET", "latency-tracking", "yes")


# -- TIME, MONITOR ----------------------------------------------------------------------------

def test_time_reply_shape(diff):
    for raw in diff.both("TIME"):
        assert re.fullmatch(rb"\*2\r\n\$10\r\n\d{10}\r\n\$\d\r\n\d{1,6}\r\n", raw), raw


def test_monitor_lines_match(redis_server, ember):
    lines = []
    for port in (redis_server.port, ember.port):
        watcher, talker = RawConnection(port), RawConnection(port)
        assert watcher.call("MONITOR") == b"+OK\r\n"
        talker.call("ECHO", 'a "quoted"\n\x01 arg')
        talker.call("SELECT", "3")
        talker.call("ECHO", "in db 3")
        first, second, third = (watcher.read_reply() for _ in range(3))
        lines.append([re.sub(rb"^\+\d+\.\d{6} \[(\d+) [^\]]+\]", rb"[\1 addr]", line)
                      for line in (first, second, third)])
        watcher.close()
        talker.close()
    assert lines[0] == lines[1]
    assert lines[1][0] == b'[0 addr] "ECHO" "a \\"quoted\\"\\n\\x01 arg"\r\n'


def test_monitor_and_slowlog_never_show_credentials(diff, redis_server, ember):
    lines = []
    for port in (redis_server.port, ember.port):
        watcher, talker = RawConnection(port), RawConnection(port)
        assert watcher.call("MONITOR") == b"+OK\r\n"
        talker.call("AUTH", "s3cret")
        talker.call("AUTH", "nosuch", "s3cret")
        talker.call("HELLO", "2", "AUTH", "nosuch", "s3cret", "SETNAME", "n")
        lines.append([re.sub(rb"^\+\d+\.\d{6} \[[^\]]+\] ", b"", watcher.read_reply()) for _ in range(3)])
        watcher.close()
        talker.close()
    assert lines[1] == lines[0] == [b'"AUTH" "(redacted)"\r\n', b'"AUTH" "(redacted)" "(redacted)"\r\n',
                                    b'"HELLO" "2" "AUTH" "(redacted)" "(redacted)" "SETNAME" "n"\r\n']


def test_client_info_names_the_top_level_command(diff):
    """CLIENT LIST/INFO's cmd= is the command the client sent (Redis's lastcmd): EXEC while its
    queued commands run, EVAL while its script's calls run."""
    def cmd_field(raw: bytes) -> list[bytes]:
        return re.findall(rb"cmd=(\S+)", raw)

    transaction = [("MULTI",), ("GET", "k"), ("CLIENT", "INFO"), ("EXEC",)]
    in_exec = [cmd_field(connection.pipeline(transaction)[3]) for connection in (diff.redis, diff.ember)]
    assert in_exec[1] == in_exec[0] == [b"exec"]
    diff.check("EVAL", "redis.call('get', 'k') return redis.call('client', 'info')", 0, normalize=cmd_field)
    diff.check("CLIENT", "INFO", normalize=cmd_field)


def test_monitor_is_refused_inside_a_transaction(diff):
    diff.check_pipeline([("MULTI",), ("MONITOR",), ("EXEC",)])


def test_shutdown_abort_does_not_stop(diff, ember):
    diff.check("SHUTDOWN", "ABORT")
    wait_until(lambda: ember.client().ping(), message="ember still answering")


def test_statistics_of_a_pipelined_batch(diff, redis_server, ember):
    """The commands of one read run as a lean run (dispatch.run_lean), which does call()'s
    bookkeeping inline: calls, failures, error counts and CLIENT LIST's cmd= must still be
    what Redis reports for them."""
    batch = [("CLIENT", "SETNAME", "piped"), ("RPUSH", "l", "a"), ("GET", "l"), ("GET", "nokey"),
             ("SET", "k", "v"), ("GET", "k"), ("INCR", "k"), ("SET", "n", "1", "EX", "100"), ("INCR", "n")]
    connections = [RawConnection(redis_server.port), RawConnection(ember.port)]
    try:
        for _ in range(2):  # Ember runs a command lean from its second sending on (dispatch.LEAN)
            diff.check("FLUSHALL")
            diff.check("CONFIG", "RESETSTAT")
            for conn in connections:
                conn.sock.sendall(b"".join(encode_command(args) for args in batch))
            redis_replies, ember_replies = ([conn.read_reply() for _ in batch] for conn in connections)
            assert ember_replies == redis_replies
        redis_stats, ember_stats = (_command_counts(raw) for raw in diff.both("INFO", "commandstats"))
        assert {name: ember_stats[name] for name in ("rpush", "get", "set", "incr")} == \
            {name: redis_stats[name] for name in ("rpush", "get", "set", "incr")}
        assert ember_stats["incr"] == (2, 0, 1)  # the not-an-integer INCR failed
        redis_errors, ember_errors = (dict(re.findall(rb"errorstat_(\w+):count=(\d+)", raw))
                                      for raw in diff.both("INFO", "errorstats"))
        assert ember_errors == redis_errors == {b"WRONGTYPE": b"1", b"ERR": b"1"}
        redis_cmd, ember_cmd = (re.search(rb" name=piped .* cmd=(\S+)", raw).group(1)
                                for raw in diff.both("CLIENT", "LIST"))
        assert ember_cmd == redis_cmd == b"incr"
    finally:
        for conn in connections:
            conn.close()


def _command_counts(raw: bytes) -> dict[str, tuple[int, int, int]]:
    """INFO commandstats as {command: (calls, rejected_calls, failed_calls)}."""
    return {name.decode(): (int(calls), int(rejected), int(failed)) for name, calls, rejected, failed in re.findall(
        rb"cmdstat_(\S+?):calls=(\d+),usec=\d+,usec_per_call=[\d.]+,rejected_calls=(\d+),failed_calls=(\d+)", raw)}
