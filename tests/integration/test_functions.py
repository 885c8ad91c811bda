"""Redis Functions against a real Ember process: FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS
through redis-py, FCALL and FCALL_RO with flags, the library load environment and its time limit,
libraries kept across a restart (RDB), and a busy function seen by FUNCTION STATS and stopped by
FUNCTION KILL."""

from __future__ import annotations

import pytest
import redis

from tests.conftest import start_ember
from tests.integration.test_scripting import error_text, start_busy

LIBRARY = """#!lua name=mylib
local function get(keys, args) return redis.call('get', keys[1]) end
redis.register_function('myget', get)
redis.register_function{function_name='myset', callback=function(keys, args)
  return redis.call('set', keys[1], args[1]) end, description='sets a key'}
redis.register_function{function_name='myro', callback=get, flags={'no-writes'}}
"""


@pytest.fixture
def lib(r3):
    """A RESP3 client (FUNCTION LIST and STATS replies are maps) with LIBRARY loaded."""
    r3.function_flush()
    assert r3.function_load(LIBRARY) == b"mylib"
    yield r3
    r3.function_flush()


def test_fcall_and_fcall_ro(lib):
    assert lib.fcall("myset", 1, "k", "v")
    assert lib.fcall("myget", 1, "k") == b"v"
    assert lib.fcall("MYGET", 1, "k") == b"v"  # function names are case-insensitive
    assert lib.fcall_ro("myro", 1, "k") == b"v"
    assert error_text(lambda: lib.fcall_ro("myget", 1, "k")) == (
        "Can not execute a script with write flag using *_ro command.")
    assert error_text(lambda: lib.fcall("nosuch", 0)) == "Function not found"


def test_function_list(lib):
    [library] = lib.function_list()
    assert library[b"library_name"] == b"mylib" and library[b"engine"] == b"LUA"
    functions = {f[b"name"]: f for f in library[b"functions"]}
    assert set(functions) == {b"myget", b"myset", b"myro"}
    assert functions[b"myset"][b"description"] == b"sets a key"
    assert functions[b"myget"][b"description"] is None
    assert list(functions[b"myro"][b"flags"]) == [b"no-writes"]
    assert lib.function_list(library="MY*", withcode=True)[0][b"library_code"] == LIBRARY.encode()
    assert lib.function_list(library="other*") == []


def test_function_replace_delete_and_flush(lib):
    with pytest.raises(redis.ResponseError, match="Library 'mylib' already exists"):
        lib.function_load(LIBRARY)
    assert lib.function_load(LIBRARY.replace("sets a key", "new description"), replace=True) == b"mylib"
    with pytest.raises(redis.ResponseError, match="Function myget already exists"):
        lib.function_load("#!lua name=other\nredis.register_function('myget', function() return 1 end)")
    assert lib.function_delete("mylib")
    with pytest.raises(redis.ResponseError, match="Function not found"):
        lib.fcall("myget", 0)
    lib.function_load("#!lua name=a\nredis.register_function('fa', function() return 'a' end)")
    assert lib.function_flush("ASYNC")
    assert lib.function_list() == []


def test_dump_and_restore_policies(lib):
    payload = lib.function_dump()
    lib.function_flush()
    assert lib.function_restore(payload)
    assert lib.fcall("myset", 1, "k", "v")
    with pytest.raises(redis.ResponseError, match="Library mylib already exists"):
        lib.function_restore(payload, "APPEND")
    assert lib.function_restore(payload, "REPLACE")
    lib.function_load("#!lua name=extra\nredis.register_function('fx', function() return 'x' end)")
    assert lib.function_restore(payload, "FLUSH")
    assert [entry[b"library_name"] for entry in lib.function_list()] == [b"mylib"]
    assert error_text(lambda: lib.function_restore(payload[:-1] + b"\x00")) == (
        "DUMP payload version or checksum are wrong")


def test_stats_when_idle(lib):
    stats = lib.function_stats()
    assert stats[b"running_script"] is None
    assert stats[b"engines"] == {b"LUA": {b"libraries_count": 1, b"functions_count": 3}}


def test_library_code_only_sees_the_library_api(r):
    for code, message in (
            ("#!lua name=x\nredis.call('ping')", "nonexistent global variable 'call'"),
            ("#!lua name=x\nlocal s = string.len", "nonexistent global variable 'string'"),
            ("#!lua name=x\nredis.register_function('f', 1)", "second argument to redis.register_function"),
            ("#!lua name=x\nreturn 1", "No functions registered")):
        assert message in error_text(lambda code=code: r.function_load(code))
    # a function stashing register_function cannot register later, outside FUNCTION LOAD
    r.function_load("#!lua name=stash\nlocal rf = redis.register_function\n"
                    "redis.register_function('late', function() rf('other', function() end) end)", replace=True)
    assert "can only be called on FUNCTION LOAD command" in error_text(lambda: r.fcall("late", 0))
    r.function_flush()


def test_library_load_time_limit(r):
    assert error_text(lambda: r.function_load("#!lua name=slow\nlocal i = 0 while true do i = i + 1 end")) == (
        "Error registering functions: ERR FUNCTION LOAD timeout")
    assert r.function_list() == []
    assert r.ping()


def test_libraries_survive_a_restart(tmp_path):
    server = start_ember(tmp_path)
    try:
        conn = server.client()
        conn.function_load(LIBRARY)
        conn.set("k", "v")
        conn.save()
    finally:
        server.stop()
    server = start_ember(tmp_path)
    try:
        conn = server.client(protocol=3)
        assert conn.fcall("myget", 1, "k") == b"v"
        assert conn.function_list(withcode=True)[0][b"library_code"] == LIBRARY.encode()
    finally:
        server.stop()


@pytest.fixture
def busy_server(tmp_path):
    server = start_ember(tmp_path, "--busy-reply-threshold", "100")
    server.client().function_load("#!lua name=spin\n"
                                  "redis.register_function('spin', function() while true do end end)\n"
                                  "redis.register_function('spinw', function(k) redis.call('set', k[1], 1) "
                                  "while true do end end)")
    yield server
    server.stop()


def test_busy_function_stats_and_kill(busy_server):
    other, runner = start_busy(busy_server, "FCALL", "spin", "1", "key", "arg", protocol=3)
    running = other.function_stats()[b"running_script"]
    assert running[b"name"] == b"spin"
    assert running[b"command"] == [b"FCALL", b"spin", b"1", b"key", b"arg"]
    assert running[b"duration_ms"] >= 0
    assert error_text(lambda: other.execute_command("SCRIPT", "KILL")) == (
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
    assert other.function_kill()
    runner.join(20)
    assert str(runner.result).startswith("Script killed by user with SCRIPT KILL... script: spin, on @user_function:")
    assert other.function_stats()[b"running_script"] is None


def test_busy_function_that_wrote_is_unkillable(busy_server):
    other, runner = start_busy(busy_server, "FCALL", "spinw", "1", "key", protocol=3)
    assert error_text(lambda: other.function_kill()).startswith("UNKILLABLE ")
    with pytest.raises(redis.ConnectionError):
        other.execute_command("SHUTDOWN", "NOSAVE")
    busy_server.process.wait(timeout=20)


def test_busy_function_reply_names_function_kill(busy_server):
    other, runner = start_busy(busy_server, "FCALL", "spin", "0", protocol=3)
    try:
        assert error_text(lambda: other.ping()) == (
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
    finally:
        other.function_kill()
        runner.join(20)


def test_eval_busy_blocks_function_stats(busy_server):
    other, runner = start_busy(busy_server, "EVAL", "while true do end", "0")
    assert error_text(lambda: other.function_stats()) == (
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
    assert other.script_kill()
    runner.join(20)
