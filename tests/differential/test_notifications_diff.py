"""Keyspace notifications, differential: every command family's events against redis-server.

Each command runs on both servers with notifications on; after each one a marker is published, so
the events are compared command by command (channel and message, in order, byte for byte). This
doubles as the audit of which commands publish Redis's event names: a family whose events do not
match yet is marked xfail (strict, so the mark must go once it is fixed) with the differences.
Commands one of the servers does not know (Redis 7.2-only, or not implemented yet) are skipped
for both.
"""

from __future__ import annotations

import pytest

from tests.conftest import start_ember

from .harness import RawConnection, decode

MARKER = b"__keyevent@99__:marker"  # matches the subscription pattern; ends each command's events
PATTERN = "__key*__:*"

# Per family: the commands whose events are compared (setup commands are compared too).
FAMILIES: dict[str, list[tuple]] = {
    "generic": [
        ("SET", "k", "v"), ("EXPIRE", "k", "100"), ("PEXPIRE", "k", "100000"), ("EXPIREAT", "k", "4102444800"),
        ("PEXPIREAT", "k", "4102444800000"), ("EXPIRE", "k", "100", "NX"), ("PERSIST", "k"), ("PERSIST", "k"),
        ("TOUCH", "k"), ("RENAME", "k", "k2"), ("SET", "k3", "x"), ("RENAMENX", "k2", "k3"),
        ("RENAMENX", "k2", "k4"), ("RENAME", "k4", "k4"), ("COPY", "k4", "k5"), ("COPY", "k4", "k5", "REPLACE"),
        ("COPY", "k4", "k6", "DB", "1"), ("MOVE", "k5", "2"), ("DEL", "k3", "k4", "missing"), ("UNLINK", "k6"),
        ("SET", "e", "v"), ("EXPIRE", "e", "-1"), ("SET", "e2", "v"), ("PEXPIREAT", "e2", "1"),
        ("RPUSH", "sortme", "3", "1", "2"), ("SORT", "sortme", "STORE", "sorted"), ("SORT", "missing", "STORE", "sorted"),
        ("SET", "old", "1"), ("SET", "new", "2"), ("RENAME", "old", "new"), ("COPY", "new", "k5"),
        ("EXPIRE", "new", "100", "GT"), ("EXPIRE", "new", "50", "LT"), ("EXPIRE", "new", "200", "XX"),
        ("PEXPIRE", "new", "-5"), ("MOVE", "missing", "1"), ("SET", "mv", "1"), ("SELECT", "1"), ("SET", "mv", "x"),
        ("SELECT", "0"), ("MOVE", "mv", "1"), ("EXPIRETIME", "k5"), ("OBJECT", "ENCODING", "k5"), ("RANDOMKEY",),
        ("FLUSHDB",),
    ],
    "strings": [
        ("SET", "s", "1"), ("SET", "s", "2", "NX"), ("SET", "s", "3", "XX", "GET"), ("SET", "s", "4", "EX", "100"),
        ("SETNX", "s", "x"), ("SETNX", "n", "x"), ("SETEX", "se", "100", "v"), ("PSETEX", "se", "100000", "v"),
        ("MSET", "a", "1", "b", "2"), ("MSETNX", "a", "1", "c", "3"), ("MSETNX", "m1", "1", "m2", "2"),
        ("GETSET", "a", "9"), ("GETDEL", "b"), ("GETDEL", "b"), ("GETEX", "a", "EX", "100"), ("GETEX", "a", "PERSIST"),
        ("GETEX", "a"), ("GETEX", "a", "PXAT", "1"), ("APPEND", "ap", "x"), ("APPEND", "ap", "y"),
        ("SETRANGE", "sr", "3", "ab"), ("SETRANGE", "sr", "0", ""), ("INCR", "i"), ("DECR", "i"), ("INCRBY", "i", "5"),
        ("DECRBY", "i", "2"), ("INCRBYFLOAT", "f", "1.5"), ("INCR", "s"), ("GET", "i"), ("STRLEN", "i"),
        ("SETBIT", "bits", "7", "1"), ("SETBIT", "bits", "7", "1"), ("BITOP", "AND", "dest", "bits", "bits"),
        ("BITOP", "OR", "dest", "nothing"), ("BITFIELD", "bf", "SET", "u8", "0", "255"), ("BITFIELD", "bf", "GET", "u8", "0"),
        ("BITFIELD", "bf", "INCRBY", "u8", "0", "1", "OVERFLOW", "FAIL"), ("BITFIELD", "bf2", "GET", "u8", "0"),
        ("SET", "kt", "v", "EX", "100"), ("SET", "kt", "w", "KEEPTTL"), ("MSET", "dup", "1", "dup", "2"),
        ("SETRANGE", "nosr", "0", ""), ("APPEND", "ap", ""), ("INCRBYFLOAT", "f", "-1.5"), ("GETRANGE", "ap", "0", "1"),
        ("SETEX", "se", "100", "again"), ("GETEX", "se", "EXAT", "1"), ("LCS", "ap", "sr"),
    ],
    "lists": [
        ("RPUSH", "l", "a", "b", "c"), ("LPUSH", "l", "z"), ("LPUSHX", "nol", "a"), ("RPUSHX", "l", "d"),
        ("LINSERT", "l", "BEFORE", "b", "x"), ("LINSERT", "l", "BEFORE", "nope", "x"), ("LSET", "l", "0", "y"),
        ("LPOP", "l"), ("RPOP", "l", "2"), ("LREM", "l", "1", "x"), ("LREM", "l", "1", "nope"), ("LTRIM", "l", "0", "0"),
        ("RPUSH", "m", "1", "2"), ("RPOPLPUSH", "m", "m2"), ("LMOVE", "m", "m2", "LEFT", "RIGHT"),
        ("RPUSH", "n", "1", "2"), ("LMPOP", "1", "n", "LEFT", "COUNT", "5"), ("RPUSH", "o", "1"), ("BLPOP", "o", "0"),
        ("RPUSH", "o", "1"), ("BRPOP", "o", "0"), ("RPUSH", "p", "1"), ("BLMOVE", "p", "p2", "LEFT", "LEFT", "0"),
        ("RPUSH", "q", "1"), ("BLMPOP", "0", "1", "q", "RIGHT"), ("RPUSH", "t", "1"), ("LTRIM", "t", "1", "0"),
        ("LPOP", "l", "0"), ("LPOP", "missing"), ("RPUSH", "rot", "1", "2", "3"), ("RPOPLPUSH", "rot", "rot"),
        ("LMOVE", "rot", "rot", "LEFT", "RIGHT"), ("LINSERT", "rot", "AFTER", "1", "x"), ("LSET", "rot", "99", "x"),
        ("LPOS", "rot", "x"), ("LMPOP", "2", "none", "rot", "RIGHT", "COUNT", "2"), ("LREM", "rot", "0", "x"),
        ("LRANGE", "rot", "0", "-1"), ("RPOP", "rot", "10"),
    ],
    "hashes": [
        ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "1"), ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "c", "3"),
        ("HMSET", "h", "d", "4"), ("HDEL", "h", "zz"), ("HDEL", "h", "a"), ("HINCRBY", "h", "n", "2"),
        ("HINCRBYFLOAT", "h", "f", "0.5"), ("HGET", "h", "b"), ("HDEL", "h", "b", "c", "d", "n", "f"),
        ("HINCRBY", "new", "f", "1"), ("HINCRBYFLOAT", "new2", "f", "1"), ("HSET", "new", "f", "1"),
        ("HRANDFIELD", "new", "2"), ("HSCAN", "new", "0"), ("HDEL", "new", "f"),
    ],
    "sets": [
        ("SADD", "s", "a", "b", "c"), ("SADD", "s", "a"), ("SREM", "s", "zz"), ("SREM", "s", "a"), ("SPOP", "s"),
        ("SADD", "t", "x", "y"), ("SMOVE", "t", "u", "x"), ("SMOVE", "t", "u", "nope"), ("SMOVE", "t", "u", "y"),
        ("SADD", "v", "1", "2"), ("SADD", "w", "2", "3"), ("SINTERSTORE", "i", "v", "w"), ("SUNIONSTORE", "un", "v", "w"),
        ("SDIFFSTORE", "df", "v", "w"), ("SINTERSTORE", "i", "v", "nothing"), ("SPOP", "v", "5"), ("SPOP", "w", "0"),
        ("SADD", "r", "1"), ("SRANDMEMBER", "r"), ("SMOVE", "r", "r", "1"), ("SADD", "big", "1", "2", "3"),
        ("SPOP", "big", "10"), ("SADD", "dst", "x"), ("SDIFFSTORE", "dst", "nothing", "r"),
        ("SUNIONSTORE", "dst2", "r"), ("SINTERCARD", "1", "r"), ("SMISMEMBER", "r", "1"), ("SREM", "r", "1"),
    ],
    "zsets": [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZADD", "z", "1", "a"), ("ZADD", "z", "INCR", "5", "a"),
        ("ZADD", "z", "NX", "1", "a"), ("ZINCRBY", "z", "1", "b"), ("ZREM", "z", "zz"), ("ZREM", "z", "c"),
        ("ZADD", "y", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZREMRANGEBYSCORE", "y", "1", "1"),
        ("ZREMRANGEBYRANK", "y", "0", "0"), ("ZREMRANGEBYLEX", "y", "-", "+"), ("ZADD", "x", "1", "a", "2", "b"),
        ("ZPOPMIN", "x"), ("ZPOPMAX", "x"), ("ZADD", "x", "1", "a"), ("BZPOPMIN", "x", "0"), ("ZADD", "x", "1", "a"),
        ("BZPOPMAX", "x", "0"), ("ZADD", "w", "1", "a", "2", "b"), ("ZMPOP", "1", "w", "MIN", "COUNT", "5"),
        ("ZADD", "p", "1", "a"), ("ZADD", "q", "2", "a", "3", "b"), ("ZUNIONSTORE", "u", "2", "p", "q"),
        ("ZINTERSTORE", "i", "2", "p", "q"), ("ZDIFFSTORE", "d", "2", "q", "p"), ("ZRANGESTORE", "rs", "q", "0", "-1"),
        ("ZINTERSTORE", "i", "2", "p", "nothing"), ("ZRANGESTORE", "rs", "q", "5", "6"), ("ZPOPMIN", "missing"),
        ("ZADD", "g", "1", "a"), ("ZADD", "g", "GT", "CH", "0", "a"), ("ZADD", "g", "XX", "1", "new"),
        ("ZADD", "g", "LT", "0", "a"), ("ZINCRBY", "fresh", "2", "m"), ("ZREMRANGEBYSCORE", "fresh", "-inf", "+inf"),
        ("ZADD", "g2", "1", "a"), ("ZUNIONSTORE", "g2", "1", "nothing"), ("ZRANDMEMBER", "g"), ("ZMSCORE", "g", "a"),
    ],
    "streams": [
        ("XADD", "x", "1-1", "f", "v"), ("XADD", "x", "2-1", "f", "v"), ("XADD", "x", "NOMKSTREAM", "3-1", "f", "v"),
        ("XADD", "nostream", "NOMKSTREAM", "*", "f", "v"), ("XDEL", "x", "1-1"), ("XDEL", "x", "9-9"),
        ("XTRIM", "x", "MAXLEN", "5"), ("XTRIM", "x", "MAXLEN", "0"), ("XADD", "x", "4-1", "f", "v"),
        ("XGROUP", "CREATE", "x", "g", "0"), ("XGROUP", "CREATE", "y", "g", "$", "MKSTREAM"),
        ("XGROUP", "SETID", "x", "g", "0"), ("XGROUP", "CREATECONSUMER", "x", "g", "c1"),
        ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "STREAMS", "x", ">"),
        # Claims that do claim: Redis 7.0 creates the consumer only then, 7.2 (and Ember) always.
        ("XCLAIM", "x", "g", "c3", "0", "4-1"), ("XAUTOCLAIM", "x", "g", "c4", "0", "0"), ("XACK", "x", "g", "4-1"),
        ("XGROUP", "DELCONSUMER", "x", "g", "c1"), ("XGROUP", "DESTROY", "x", "g"), ("XSETID", "x", "99-0"),
        ("XADD", "cap", "MAXLEN", "1", "*", "f", "v"), ("XADD", "cap", "MAXLEN", "1", "*", "f", "v"),
        ("XADD", "mid", "1-0", "f", "v"), ("XADD", "mid", "MINID", "2", "2-0", "f", "v"), ("XTRIM", "mid", "MINID", "3"),
        ("XGROUP", "CREATE", "mid", "g", "$"), ("XGROUP", "CREATE", "mid", "g", "$"), ("XADD", "mid", "5-0", "f", "v"),
        # Something to read: Redis 7.0 creates the consumer only then, 7.2 (and Ember) always.
        ("XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "mid", ">"), ("XINFO", "STREAM", "mid"),
        ("XREAD", "STREAMS", "mid", "0"), ("XLEN", "mid"), ("XGROUP", "DELCONSUMER", "mid", "g", "nobody"),
    ],
    "hyperloglog": [
        ("PFADD", "h", "a", "b"), ("PFADD", "h", "a"), ("PFADD", "h2"), ("PFCOUNT", "h"), ("PFMERGE", "h3", "h", "h2"),
        ("PFMERGE", "h4"),
    ],
    "geo": [
        ("GEOADD", "g", "13.361389", "38.115556", "a", "15.087269", "37.502669", "b"), ("GEOADD", "g", "NX", "13.3", "38.1", "a"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "st"), ("GEOSEARCHSTORE", "gs", "g", "FROMMEMBER", "a", "BYRADIUS", "500", "km"),
        ("GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"),
    ],
    "scripting": [
        ("EVAL", "redis.call('set', KEYS[1], 'v'); redis.call('lpush', KEYS[2], 'x')", "2", "a", "b"),
        ("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function(k) return redis.call('incr', k[1]) end)"),
        ("FCALL", "f", "1", "counter"), ("FUNCTION", "DELETE", "lib"),
    ],
    "transactions": [
        ("MULTI",), ("SET", "a", "1"), ("LPUSH", "l", "x"), ("INCR", "a"), ("EXEC",), ("MULTI",), ("DEL", "a"),
        ("DISCARD",),
    ],
}


@pytest.fixture(scope="module")
def ember(tmp_path_factory):
    """DEBUG SLEEP lets a key expire between two commands without a sleep in the test."""
    server = start_ember(tmp_path_factory.mktemp("ember"), "--enable-debug-command", "yes")
    yield server
    server.stop()


def _events_per_command(port: int, commands: list[tuple], flags: str) -> list[list] | None:
    """The (channel, message) events of each command, or None for a command the server lacks."""
    conn, listener = RawConnection(port), RawConnection(port)
    results: list[list] | None = []
    try:
        conn.call("FLUSHALL")
        conn.call("CONFIG", "SET", "notify-keyspace-events", flags)
        listener.call("PSUBSCRIBE", PATTERN)
        in_multi = False
        for args in commands:
            reply = conn.call(*args)
            name = str(args[0]).upper()
            in_multi = name == "MULTI" or (in_multi and name not in ("EXEC", "DISCARD"))
            if in_multi:  # a PUBLISH would be queued: the events show up at EXEC
                results.append([])
                continue
            conn.call("PUBLISH", MARKER, "x")
            events = []
            while True:
                _kind, _pattern, channel, message = decode(listener.read_reply())
                if channel == MARKER:
                    break
                events.append((channel, message))
            unknown = reply.startswith(b"-ERR unknown command") or reply.startswith(b"-ERR unknown subcommand")
            results.append(None if unknown else events)
        return results
    finally:
        conn.call("CONFIG", "SET", "notify-keyspace-events", "")
        conn.call("FLUSHALL")
        conn.close()
        listener.close()


def differences(redis_port: int, ember_port: int, commands: list[tuple], flags: str = "KEA") -> list[str]:
    """Readable lines for each command whose events differ (commands unknown to either: skipped)."""
    expected = _events_per_command(redis_port, commands, flags)
    actual = _events_per_command(ember_port, commands, flags)
    lines = []
    for args, want, got in zip(commands, expected, actual, strict=True):
        if want is None or got is None or want == got:
            continue
        lines.append(f"{' '.join(map(str, args))}: redis={want} ember={got}")
    return lines


# (family, flags) whose events differ from Redis today (owners fix them; strict, so a fix shows up).
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("flags", ["KEA", "KEAn"])  # with 'n', every key creation shows too
@pytest.mark.parametrize("family", list(FAMILIES))
def test_events_match_redis(diff, redis_server, ember, family, flags, request):
    reason = KNOWN_DIFFERENCES.get((family, flags))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    lines = differences(redis_server.port, ember.port, FAMILIES[family], flags)
    assert not lines, "\n".join(lines)


def test_new_key_events(diff, redis_server, ember):
    """'n' (new key) is not part of 'A': it has to be asked for."""
    commands = [("SET", "a", "1"), ("SET", "a", "2"), ("LPUSH", "l", "x"), ("LPUSH", "l", "y"), ("HSET", "h", "f", "v"),
                ("SADD", "s", "m"), ("ZADD", "z", "1", "m"), ("XADD", "x", "1-1", "f", "v"), ("INCR", "i"),
                ("RENAME", "a", "b"), ("COPY", "b", "c")]
    assert not differences(redis_server.port, ember.port, commands, "KEn")
    assert not differences(redis_server.port, ember.port, commands, "KEA")  # no 'new' events under A


def test_key_miss_events(diff, redis_server, ember):
    commands = [("GET", "missing"), ("SET", "k", "v"), ("GET", "k"), ("HGET", "nohash", "f"), ("LRANGE", "nol", "0", "-1"),
                ("EXISTS", "missing"), ("TYPE", "missing"), ("SMEMBERS", "noset"), ("ZSCORE", "noz", "m"),
                ("STRLEN", "missing"), ("DEL", "missing"), ("TTL", "missing")]
    lines = differences(redis_server.port, ember.port, commands, "KEm")
    assert not lines, "\n".join(lines)


@pytest.mark.parametrize("flags", ["K$", "E$", "Kg", "El", "KEx", "Eh", "Ez", "Es", "Et", "g$", "KEA", "AKE"])
def test_event_class_selection(diff, redis_server, ember, flags):
    # Active expiry off: the key expires lazily, at the GET, on both servers.
    commands = [("DEBUG", "SET-ACTIVE-EXPIRE", "0"),("SET", "a", "1"), ("DEL", "a"), ("LPUSH", "l", "x"), ("HSET", "h", "f", "v"), ("SADD", "s", "m"),
                ("ZADD", "z", "1", "m"), ("XADD", "x", "1-1", "f", "v"), ("EXPIRE", "l", "100"),
                ("SET", "gone", "v", "PX", "1"), ("DEBUG", "SLEEP", "0.01"), ("GET", "gone"),
                ("DEBUG", "SET-ACTIVE-EXPIRE", "1")]
    lines = differences(redis_server.port, ember.port, commands, flags)
    assert not lines, "\n".join(lines)


def _dump_payload(port: int) -> bytes:
    """A DUMP payload of a string, made by redis-server so both servers restore the same bytes."""
    source = RawConnection(port)
    try:
        source.call("SET", "d", "value")
        return decode(source.call("DUMP", "d"))
    finally:
        source.close()


@pytest.mark.parametrize("flags", ["KEA", "KEAn"])
def test_restore_event(diff, redis_server, ember, flags):
    payload = _dump_payload(redis_server.port)
    # REPLACE of an existing key deletes it and adds it again: 'new' precedes 'restore'.
    commands = [("RESTORE", "r", "0", payload), ("RESTORE", "r", "0", payload, "REPLACE"),
                ("RESTORE", "r", "0", payload), ("MOVE", "r", "3")]
    lines = differences(redis_server.port, ember.port, commands, flags)
    assert not lines, "\n".join(lines)


@pytest.mark.parametrize("flags", ["KEA", "KEAn", "Exn"])
def test_overwriting_expired_and_live_keys(diff, redis_server, ember, flags):
    """RENAME, COPY and RESTORE onto a key past its TTL: the lookup expires it ('expired'), then
    the key is added ('new'); a RESTORE ... REPLACE already past its TTL only deletes ('del')."""
    payload = _dump_payload(redis_server.port)
    commands = [("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("SET", "src", "v"),
                ("SET", "d1", "x", "PX", "1"), ("SET", "d2", "x", "PX", "1"), ("SET", "d3", "x", "PX", "1"),
                ("DEBUG", "SLEEP", "0.01"), ("RENAME", "src", "d1"), ("COPY", "d1", "d2", "REPLACE"),
                ("RESTORE", "d3", "0", payload), ("RESTORE", "d3", "1", payload, "REPLACE", "ABSTTL"),
                ("RESTORE", "d4", "1", payload, "REPLACE", "ABSTTL"), ("SET", "d4", "x"),
                ("RESTORE", "d4", "100000", payload, "REPLACE"), ("COPY", "d4", "d1", "DB", "1", "REPLACE"),
                ("COPY", "d4", "d1", "DB", "1", "REPLACE"), ("RENAMENX", "d2", "d4"),
                ("DEBUG", "SET-ACTIVE-EXPIRE", "1")]
    lines = differences(redis_server.port, ember.port, commands, flags)
    assert not lines, "\n".join(lines)


def test_events_carry_the_database_number(diff, redis_server, ember):
    commands = [("SELECT", "7"), ("SET", "a", "1"), ("SELECT", "15"), ("LPUSH", "l", "x"), ("SELECT", "0")]
    assert not differences(redis_server.port, ember.port, commands)
