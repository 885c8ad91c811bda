"""EVAL/EVALSHA/SCRIPT against a real Ember process: redis-py's script helpers and Lock, RESP3
replies from scripts, error positions, isolation (SELECT, WATCH, MULTI), MONITOR and keyspace
events from script writes, the sandbox holding against escapes, the busy-script protocol
(BUSY, SCRIPT KILL, UNKILLABLE, SHUTDOWN NOSAVE) and a fuzz run that the server must survive.

Busy scripts run in a thread holding their own connection; the test's other connections are
opened beforehand (the event loop does not accept new connections while a script runs) and
everything waits on conditions with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import socket
import threading

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import start_ember, wait_until
from tests.differential.harness import RawConnection

FUNCTION_FIXTURE = [HealthCheck.function_scoped_fixture]
BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
KILLED = "Script killed by user with SCRIPT KILL..."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
              "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")


def error_text(call) -> str:
    with pytest.raises(redis.ResponseError) as info:
        call()
    return str(info.value)


# -- basics with redis-py's own helpers ------------------------------------------------------------


def test_eval_evalsha_and_script_objects(r):
    assert r.eval("return {KEYS[1], ARGV[1], #KEYS, #ARGV}", 1, "k", "a") == [b"k", b"a", 1, 1]
    sha = r.script_load("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert r.evalsha(sha, 1, "n", 5) == 5
    assert r.evalsha(sha.upper(), 1, "n", 5) == 10
    assert r.script_exists(sha, sha.upper(), "0" * 40) == [True, True, False]
    script = r.register_script("return redis.call('get', KEYS[1])")
    assert script(keys=["n"]) == b"10"
    r.script_flush()
    assert r.script_exists(sha) == [False]
    assert script(keys=["n"]) == b"10"  # redis-py reloads the script after NOSCRIPT
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha(sha, 1, "n", 1)


def test_redis_py_lock(r):
    lock = r.lock("resource", timeout=10)
    assert lock.acquire(blocking=False)
    assert not r.lock("resource").acquire(blocking=False)
    assert lock.extend(5)
    assert lock.reacquire()
    lock.release()
    assert r.get("resource") is None
    other = r.lock("resource")
    assert other.acquire(blocking=False)
    r.set("resource", "stolen")
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        other.release()


def test_errors_name_the_script_line(r):
    sha = r.script_load("return redis.call('nosuch')")
    assert error_text(lambda: r.evalsha(sha, 0)) == (
        f"Unknown Redis command called from script script: {sha}, on @user_script:1.")
    r.set("k", "x")
    text = error_text(lambda: r.eval("local a = 1\n\nreturn redis.call('incr', KEYS[1])", 1, "k"))
    assert text.endswith("on @user_script:3.") and text.startswith("value is not an integer")
    assert "on @user_script:2." in error_text(lambda: r.eval("local t = {}\nreturn cjson.decode('x')", 0))
    assert error_text(lambda: r.eval("return pairs(nil)", 0)).startswith(
        "user_script:1: bad argument #1 to 'pairs' (table expected, got nil)")


def test_script_errors_are_relayed_verbatim(r):
    assert error_text(lambda: r.eval("return redis.error_reply('MYCODE something')", 0)) == "MYCODE something"
    assert r.eval("return redis.status_reply('FINE')", 0) == b"FINE"
    assert error_text(lambda: r.eval("return redis.pcall('nosuch')", 0)) == "Unknown Redis command called from script"
    assert r.eval("local e = redis.pcall('nosuch') return e.err", 0) == b"ERR Unknown Redis command called from script"


# -- RESP3 -------------------------------------------------------------------------------------------


def test_resp3_replies(r3):
    r3.hset("h", mapping={"a": "1"})
    r3.sadd("s", "m")
    r3.zadd("z", {"m": 1.5})
    assert r3.eval("redis.setresp(3); return redis.call('hgetall', KEYS[1])", 1, "h") == {b"a": b"1"}
    # (hiredis hands RESP3 sets to redis-py as lists)
    assert list(r3.eval("redis.setresp(3); return redis.call('smembers', KEYS[1])", 1, "s")) == [b"m"]
    assert r3.eval("redis.setresp(3); return redis.call('zscore', KEYS[1], 'm')", 1, "z") == 1.5
    assert r3.eval("redis.setresp(3); return true", 0) is True
    assert r3.eval("redis.setresp(3); return false", 0) is False
    assert r3.eval("return false", 0) is None
    assert r3.eval("return {map={k={1, 2}}}", 0) == {b"k": [1, 2]}
    assert r3.eval("return {double=2.5}", 0) == 2.5
    assert int(r3.eval("return {big_number='123456789012345678901234567890'}", 0)) == 123456789012345678901234567890
    assert sorted(r3.eval("return {set={a=true, b=true}}", 0)) == [b"a", b"b"]
    assert r3.eval("local r = redis.call('hgetall', KEYS[1]) return type(r.map)", 1, "h") == b"nil"  # RESP2 inside


def test_resp2_caller_of_resp3_values(r):
    r.hset("h", mapping={"a": "1"})
    assert r.eval("redis.setresp(3); return redis.call('hgetall', KEYS[1])", 1, "h") == [b"a", b"1"]
    assert r.eval("return {map={a=1}}", 0) == [b"a", 1]
    assert r.eval("redis.setresp(3); return true", 0) == 1


# -- isolation and side effects -------------------------------------------------------------------


def test_select_inside_a_script_does_not_move_the_caller(r):
    assert r.eval("redis.call('select', 2); redis.call('set', 'where', 'db2'); return 1", 0) == 1
    assert r.get("where") is None
    r.execute_command("SELECT", 2)
    assert r.get("where") == b"db2"
    assert r.eval("return redis.call('get', 'where')", 0) == b"db2"  # scripts start in the caller's db
    r.execute_command("SELECT", 0)


def test_script_writes_invalidate_watch(ember, r):
    r.set("watched", "1")
    with ember.client() as other:
        pipe = other.pipeline()
        pipe.watch("watched")
        r.eval("redis.call('incr', KEYS[1])", 1, "watched")
        pipe.multi()
        pipe.get("watched")
        with pytest.raises(redis.WatchError):
            pipe.execute()


def test_eval_inside_multi(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("x", "1")
    pipe.eval("return redis.call('incr', KEYS[1])", 1, "x")
    pipe.eval("return redis.call('nosuch')", 0)
    results = pipe.execute(raise_on_error=False)
    assert results[:2] == [True, 2]
    assert isinstance(results[2], redis.ResponseError)


def test_monitor_shows_eval_then_its_commands(ember, r):
    with ember.client() as watcher, watcher.monitor() as monitor:
        r.eval("redis.call('set', KEYS[1], 'v')", 1, "mon")
        lines = [monitor.next_command()["command"] for _ in range(2)]
    assert lines[0].startswith("EVAL ")
    assert lines[1] == "set mon v"


def test_monitor_marks_script_commands_as_lua(ember, r):
    with ember.client() as watcher, watcher.monitor() as monitor:
        r.eval("redis.call('ping')", 0)
        monitor.next_command()
        assert monitor.next_command()["client_address"] == "lua"


def test_keyspace_events_from_script_writes(ember, r):
    r.config_set("notify-keyspace-events", "KEA")
    try:
        with ember.client() as listener:
            pubsub = listener.pubsub()
            pubsub.psubscribe("__keyevent@0__:*")
            wait_until(lambda: pubsub.get_message(timeout=0.1), message="psubscribe confirmation")
            r.eval("redis.call('set', KEYS[1], 'v') redis.call('del', KEYS[1])", 1, "evk")
            events = []
            wait_until(lambda: events.append(pubsub.get_message(timeout=0.1)) or
                       sum(1 for e in events if e) >= 2, message="two events")
            assert [e["channel"] for e in events if e] == [b"__keyevent@0__:set", b"__keyevent@0__:del"]
            pubsub.close()
    finally:
        r.config_set("notify-keyspace-events", "")


def test_redis_log_writes_the_server_log(ember, r):
    r.eval("redis.log(redis.LOG_WARNING, 'scripted', 'log', 42)", 0)
    wait_until(lambda: "scripted log 42" in ember.log(), message="log line")


def test_seeded_random_is_redis_sequence(r):
    # drand48 seeded with 42: the same numbers Redis gives on every platform
    assert r.eval("math.randomseed(42) return {tostring(math.random()), math.random(1000)}", 0) == [
        b"0.74452500033403", 343]


# -- the sandbox ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("script", [
    "return redis.call.__self__",
    "return redis.call.__globals__",
    "return cjson.encode.__closure__",
    "local f = redis.call return f.__call__",
    "return python",
    "return os.execute('true')",
    "return io.open('/etc/passwd')",
    "return require('os')",
    "return debug.getinfo(1)",
    "return loadfile('/etc/passwd')",
    "return dofile('/etc/passwd')",
    "return getfenv(1)",
    "return loadstring(string.dump(function() return 1 end))()",
])
def test_sandbox_escapes_fail(r, script):
    with pytest.raises(redis.ResponseError):
        r.eval(script, 0)
    assert r.ping()


def test_scripts_cannot_tamper_with_what_other_scripts_see(r):
    for tamper in ("string.len = nil", "redis.call = nil", "getmetatable('').__index = {}", "KEYS = {}",
                   "rawset(string, 'len', nil)", "setmetatable(_G, {})", "math.random = nil"):
        with pytest.raises(redis.ResponseError, match="readonly table|nonexistent global"):
            r.eval(tamper, 0)
    assert r.eval("return {string.len('abc'), ('x'):upper(), redis.call('ping').ok}", 0) == [3, b"X", b"PONG"]


def test_globals_chunks_and_script_flush(r):
    assert r.eval("local f = loadstring('return type(redis)') return f()", 0) == b"table"
    with pytest.raises(redis.ResponseError, match="Attempt to modify a readonly table"):
        r.eval("loadstring('x = 1')()", 0)
    r.script_flush()
    assert r.eval("return type(cjson)", 0) == b"table"


# -- busy scripts -------------------------------------------------------------------------------------


@pytest.fixture
def busy_server(tmp_path):
    server = start_ember(tmp_path, "--busy-reply-threshold", "100")
    yield server
    server.stop()


class ScriptThread(threading.Thread):
    """Runs one command on its own connection and keeps the reply or the error."""

    def __init__(self, server, *command) -> None:
        super().__init__(daemon=True)
        self.conn = server.client(socket_timeout=30)
        self.conn.ping()
        self.command = command
        self.result: object = None

    def run(self) -> None:
        try:
            self.result = self.conn.execute_command(*self.command)
        except (redis.ResponseError, redis.ConnectionError) as err:
            self.result = err


def start_busy(server, *command, protocol: int = 2):
    """Connect another client first (the loop accepts no connection during a script), then run
    command in a thread until that client is answered BUSY; returns (client, thread)."""
    other = server.client(protocol=protocol)
    other.ping()
    runner = ScriptThread(server, *command)
    runner.start()

    def busy() -> bool:
        try:
            other.ping()
        except redis.ResponseError as err:
            return str(err).startswith("BUSY ")
        return False

    try:
        wait_until(busy, timeout=20, message="BUSY from another client")
    except AssertionError as err:
        raise AssertionError(f"{err}; script reply: {runner.result!r}; server log:\n{server.log()[-3000:]}") from None
    return other, runner


def test_busy_script_then_script_kill(busy_server):
    other, runner = start_busy(busy_server, "EVAL", "local i = 0 while true do i = i + 1 end", "0")
    assert error_text(lambda: other.get("x")) == BUSY
    assert error_text(lambda: other.execute_command("FUNCTION", "KILL")) == BUSY
    assert other.execute_command("SCRIPT", "KILL") == b"OK"
    runner.join(20)
    assert str(runner.result).startswith(KILLED + " script: ")
    assert other.ping()
    assert error_text(lambda: other.execute_command("SCRIPT", "KILL")) == "NOTBUSY No scripts in execution right now."
    wait_until(lambda: "Slow script detected" in busy_server.log(), message="slow script log line")


def test_busy_detection_survives_a_kill_and_a_threshold_change(busy_server):
    """The count hook stays set between runs: after a killed script, and after busy-reply-threshold
    went to 0 (no hook) and back, the next endless script is still caught."""
    conn = busy_server.client()
    for threshold in (None, 0):
        if threshold is not None:
            conn.config_set("busy-reply-threshold", threshold)
            assert conn.eval("local n = 0 for i = 1, 300000 do n = n + 1 end return n", 0) == 300000
            conn.config_set("busy-reply-threshold", 100)
        for _ in range(2):
            other, runner = start_busy(busy_server, "EVAL", "while true do end", "0")
            assert other.execute_command("SCRIPT", "KILL") == b"OK"
            runner.join(20)
            assert str(runner.result).startswith(KILLED)
            assert conn.eval("return 'after'", 0) == b"after"


def test_pcall_cannot_swallow_script_kill(busy_server):
    other, runner = start_busy(busy_server, "EVAL",
                          "while true do pcall(function() while true do end end) end", "0")
    assert other.execute_command("SCRIPT", "KILL") == b"OK"
    runner.join(20)
    assert str(runner.result).startswith(KILLED)
    assert other.ping()


def test_unkillable_script_and_shutdown_nosave(busy_server):
    other, runner = start_busy(busy_server, "EVAL", "redis.call('set', 'k', 'v') while true do end", "0")
    assert error_text(lambda: other.execute_command("SCRIPT", "KILL")) == UNKILLABLE
    with pytest.raises(redis.ConnectionError):
        other.execute_command("SHUTDOWN", "NOSAVE")
    busy_server.process.wait(timeout=20)
    runner.join(20)
    assert not runner.is_alive()


def test_shutdown_without_nosave_is_refused_while_busy(busy_server):
    other, runner = start_busy(busy_server, "EVAL", "while true do end", "0")
    try:
        assert error_text(lambda: other.execute_command("SHUTDOWN")) == BUSY
    finally:
        if busy_server.process.poll() is None:
            other.execute_command("SCRIPT", "KILL")
            runner.join(20)


def resp_request(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(arg), arg) for arg in args)


def test_reply_held_for_the_loop_pass_leaves_when_a_script_gets_busy(busy_server):
    """A command served in the same event-loop pass as an endless script is still answered
    (its reply waits for the end of the pass, which the script interrupts)."""
    slow, other, runner = (socket.create_connection(("127.0.0.1", busy_server.port), timeout=20) for _ in range(3))
    # While a short script holds the loop, PING and the endless EVAL arrive: the next pass reads both.
    slow.sendall(resp_request(b"EVAL", b"local n = 0 for i = 1, 2000000 do n = n + i end return n", b"0"))
    other.sendall(resp_request(b"PING"))
    runner.sendall(resp_request(b"EVAL", b"while true do end", b"0"))
    reply = other.recv(4096)
    assert reply == b"+PONG\r\n" or reply.startswith(b"-BUSY ")

    def busy() -> bool:
        other.sendall(resp_request(b"PING"))
        return other.recv(4096).startswith(b"-BUSY ")

    wait_until(busy, message="BUSY")  # the endless EVAL may have been read a pass after the PING
    other.sendall(resp_request(b"SCRIPT", b"KILL"))
    assert other.recv(4096) == b"+OK\r\n"
    assert runner.recv(4096).startswith(b"-ERR " + KILLED.encode())
    for sock in (slow, other, runner):
        sock.close()


def test_scripts_under_the_threshold_never_get_busy(busy_server):
    conn = busy_server.client()
    assert conn.eval("local n = 0 for i = 1, 200000 do n = n + i end return n", 0) == 20000100000
    assert conn.ping()


# -- the server survives whatever a script does ---------------------------------------------------

_hostile = st.sampled_from([
    "local t = {} t[1] = t return t",
    "local t = {} local c = t for i = 1, 5000 do c[1] = {} c = c[1] end return t",
    "local function f() return 1 + f() end return pcall(f)",
    "local function f() f() end f()",
    "error(setmetatable({}, {__index = function() error('inner') end}))",
    "error(setmetatable({}, {__newindex = function() error('inner') end}))",
    "error(coroutine.create(function() end))",
    "error(redis.call)",
    "error(cjson.null)",
    "return setmetatable({}, {__index = function() error('x') end})",
    "return coroutine.wrap(function() redis.call('nosuch') end)()",
    "local co = coroutine.create(function() return redis.call('ping') end) return {coroutine.resume(co)}",
    "return cjson.encode(setmetatable({}, {__index = function() error('x') end}))",
    "local t = {} t.t = t return cjson.encode(t)",
    "local t = {} t[1] = t return cmsgpack.pack(t)",
    "return cmsgpack.unpack(string.rep('\\145', 3000))",
    "return cjson.decode(string.rep('[', 5000))",
    "return struct.unpack('i32', string.rep('\\255', 32))",
    "return redis.call('eval', 'return 1', 0)",
    "return redis.pcall(string.rep('x', 1000))",
    "return tostring(redis.call)",
    "return xpcall(function() error({}) end, function(e) error('again') end)",
    "return string.rep('ab', 100000):len()",
    "return select('#', unpack({}, 1, 7000))",
    "local s = '' for i = 1, 200 do s = s .. i end return s",
    "return loadstring('return ' .. string.rep('(', 300) .. '1' .. string.rep(')', 300))()",
    "return redis.sha1hex(string.rep('x', 100000))",
    "return bit.tohex(2^70)",
    "return redis.setresp(3) or {double = 0/0}",
    "return {big_number = 'not a number'}",
    "return {verbatim_string = {format = 'x', string = 'y'}}",
    "return {map = {[1] = 1, [1.5] = 2}}",
    "return {1, {map = {[{}] = 1}}}",
    "return {set = {[1] = true, [1.5] = true}}",
    "return redis.status_reply('\\255\\254')",
    "return {err = '\\255'}",
])


@settings(max_examples=60, deadline=None, suppress_health_check=FUNCTION_FIXTURE, derandomize=True)
@given(scripts=st.lists(_hostile, min_size=1, max_size=3), resp3=st.booleans())
def test_server_survives_hostile_scripts(ember, scripts, resp3):
    conn = RawConnection(ember.port, timeout=30)  # raw replies: some are maps redis-py can't key
    try:
        conn.call("HELLO", "3" if resp3 else "2")
        for script in scripts:
            assert conn.call("EVAL", script, "0")[:1] in b"$*:+-_%~#,(="  # one complete reply
        assert conn.call("PING") == b"+PONG\r\n"
    finally:
        conn.close()
