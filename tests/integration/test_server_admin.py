"""INFO, TIME, LOLWUT, DEBUG, SLOWLOG, LATENCY, MONITOR, SHUTDOWN and COMMAND against a real Ember
process, through redis-py (RESP2 and RESP3) and raw sockets."""

from __future__ import annotations

import re
import socket
import time

import pytest
import redis

from tests.conftest import start_ember, wait_until
from tests.differential.harness import RawConnection, decode


@pytest.fixture
def r(ember):
    """A RESP2 client. (No FLUSHALL: most of these tests use no keys.)"""
    client = ember.client(protocol=2)
    yield client
    client.close()


@pytest.fixture
def r3(ember):
    client = ember.client(protocol=3)
    yield client
    client.close()


@pytest.fixture(scope="module")
def debug_ember(tmp_path_factory):
    """Ember with DEBUG enabled, every command in the slow log and a 1 ms latency threshold."""
    server = start_ember(tmp_path_factory.mktemp("ember-debug"), "--enable-debug-command", "yes",
                         "--slowlog-log-slower-than", "0", "--latency-monitor-threshold", "1")
    yield server
    server.stop()


@pytest.fixture
def d(debug_ember):
    client = debug_ember.client(protocol=2)
    yield client
    client.close()


def has_command(client: redis.Redis, name: str) -> bool:
    return bool(client.command_list(pattern=name))


def require_command(client: redis.Redis, name: str) -> None:
    if not has_command(client, name):
        pytest.skip(f"{name.upper()} is not implemented yet")


def section_titles(text: str) -> list[str]:
    return re.findall(r"^# (\w+)\r$", text, re.M)


@pytest.fixture
def raw(ember):
    """A raw RESP2 connection: replies exactly as sent (redis-py reshapes INFO and COMMAND)."""
    conn = RawConnection(ember.port)
    yield conn
    conn.close()


def call(conn: RawConnection, *args):
    return decode(conn.call(*args))


def info_text(conn: RawConnection, *sections: str) -> str:
    return call(conn, "INFO", *sections).decode()


# -- INFO -------------------------------------------------------------------------------------

DEFAULT_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                    "Modules", "Errorstats", "Cluster", "Keyspace"]
ALL_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
                "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]


def test_info_default_all_and_everything(raw):
    assert section_titles(info_text(raw)) == DEFAULT_SECTIONS
    assert section_titles(info_text(raw, "default")) == DEFAULT_SECTIONS
    assert section_titles(info_text(raw, "all")) == ALL_SECTIONS
    assert section_titles(info_text(raw, "everything")) == ALL_SECTIONS


def test_info_selected_sections_keep_redis_order(raw):
    assert section_titles(info_text(raw, "KEYSPACE", "cpu", "Server", "nosuch")) == ["Server", "CPU", "Keyspace"]
    assert info_text(raw, "nosuch") == ""


def test_info_layout_is_crlf_with_blank_line_between_sections(raw):
    text = info_text(raw, "server", "clients")
    assert text.startswith("# Server\r\n") and text.endswith("\r\n")
    assert "\r\n\r\n# Clients\r\n" in text
    assert "\n" not in text.replace("\r\n", "")


def test_info_server_fields(ember, r):
    info = r.info("server")
    assert info["redis_version"] == "7.2.4"
    assert info["ember_version"] == "0.1.0"
    assert info["redis_mode"] == "standalone"
    assert info["tcp_port"] == ember.port
    assert re.fullmatch(r"[0-9a-f]{40}", info["run_id"])
    assert info["process_id"] == ember.process.pid
    assert info["io_threads_active"] == 0
    assert info["listener0"] == {"name": "tcp", "bind": "127.0.0.1", "port": ember.port}
    assert 0 <= int(time.time() * 1e6) - info["server_time_usec"] < 60e6


def test_info_counts_one_write_per_read_batch(r):
    """total_reads_processed / total_writes_processed count socket reads and reply writes: a
    client that sends a pipeline and waits gets one write per read."""
    before = r.info("stats")
    pipe = r.pipeline(transaction=False)
    for _ in range(10):
        pipe.ping()
    assert pipe.execute() == [True] * 10
    after = r.info("stats")
    reads = after["total_reads_processed"] - before["total_reads_processed"]
    writes = after["total_writes_processed"] - before["total_writes_processed"]
    assert reads >= 2  # the pipeline and the second INFO
    assert writes == reads  # the first INFO's reply, then one per read of the pipeline


def test_info_replication_is_an_idle_master(r, raw):
    info = r.info("replication")
    assert info["role"] == "master" and info["connected_slaves"] == 0
    assert re.fullmatch(r"[0-9a-f]{40}", info["master_replid"])
    assert info["master_replid"] != r.info("server")["run_id"]
    assert "\r\nmaster_replid2:" + "0" * 40 + "\r\n" in info_text(raw, "replication")
    assert (info["master_repl_offset"], info["second_repl_offset"]) == (0, -1)


def test_info_persistence_and_memory(r):
    persistence = r.info("persistence")
    assert persistence["loading"] == 0 and persistence["aof_enabled"] == 0
    assert persistence["rdb_last_bgsave_status"] == "ok"
    assert persistence["rdb_bgsave_in_progress"] == 0
    memory = r.info("memory")
    assert memory["used_memory"] > 1_000_000
    assert re.fullmatch(r"\d+\.\d\d[KMG]", memory["used_memory_human"])
    assert memory["used_memory_peak"] >= memory["used_memory_startup"] > 0
    assert (memory["maxmemory"], memory["maxmemory_policy"], memory["mem_allocator"]) == (0, "noeviction", "libc")


def test_info_clients_and_stats_counters(ember, r):
    before = r.info("stats")
    extra = [ember.client() for _ in range(3)]
    for client in extra:
        client.ping()
    clients = r.info("clients")
    assert clients["connected_clients"] >= 4
    assert clients["maxclients"] == 10000
    after = r.info("stats")
    assert after["total_connections_received"] >= before["total_connections_received"] + 3
    assert after["total_commands_processed"] >= before["total_commands_processed"] + 4
    assert after["total_net_input_bytes"] > before["total_net_input_bytes"]
    for client in extra:
        client.close()


def test_info_errorstats_and_commandstats(r):
    with pytest.raises(redis.ResponseError):
        r.execute_command("CLIENT", "KILL", "ID", "abc")
    r.execute_command("CLIENT", "ID")
    errors = r.info("errorstats")
    assert errors["errorstat_ERR"]["count"] >= 1
    stats = r.info("commandstats")
    assert stats["cmdstat_client|id"]["calls"] >= 1
    assert stats["cmdstat_client|kill"]["failed_calls"] >= 1
    assert set(stats["cmdstat_client|id"]) == {"calls", "usec", "usec_per_call", "rejected_calls", "failed_calls"}


def test_info_resp3_is_verbatim(ember):
    raw = RawConnection(ember.port)
    raw.call("HELLO", "3")
    reply = raw.call("INFO", "server")
    assert reply.startswith(b"=") and b"\r\ntxt:# Server\r\n" in reply
    raw.close()


def test_info_resp3_parsed_by_redis_py(r3):
    assert r3.info()["redis_version"] == "7.2.4"


def test_info_keyspace_counts_keys_and_expires(ember):
    client = ember.client()
    require_command(client, "set")
    client.flushall()
    client.set("a", 1)
    client.set("b", 2, ex=100)
    client.execute_command("SELECT", 3)
    client.set("c", 3)
    text = info_text(RawConnection(ember.port), "keyspace")
    assert "\r\ndb0:keys=2,expires=1,avg_ttl=" in text and "\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n" in text
    client.flushall()
    client.close()


# -- TIME, LOLWUT -----------------------------------------------------------------------------

def test_time(r):
    seconds, micros = r.time()
    assert abs(seconds + micros / 1e6 - time.time()) < 5
    assert 0 <= micros < 1_000_000


def test_lolwut_draws_art_and_names_versions(r):
    text = r.execute_command("LOLWUT").decode()
    assert text.endswith("\n\nEmber ver. 0.1.0 (Redis ver. 7.2.4)\n")
    art = text.split("\n\n")[0].split("\n")
    assert len(art) == 12 and max(len(line) for line in art) <= 60 and set("".join(art)) != {" "}
    small = r.execute_command("LOLWUT", "VERSION", "6", "20", "4").decode().split("\n\n")[0].split("\n")
    assert len(small) == 4 and max(len(line) for line in small) <= 20
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("LOLWUT", "VERSION", "x")


def test_lolwut_resp3_verbatim(ember):
    raw = RawConnection(ember.port)
    raw.call("HELLO", "3")
    assert raw.call("LOLWUT", "5", "2").startswith(b"=")
    raw.close()


# -- DEBUG ------------------------------------------------------------------------------------

DEBUG_DENIED = ('DEBUG command not allowed. If the enable-debug-command option is set to "local", you can '
                "run it from a local connection, otherwise you need to set this option in the configuration "
                "file, and then restart the server.")


def test_debug_is_off_by_default(r):
    with pytest.raises(redis.ResponseError) as err:
        r.execute_command("DEBUG", "SLEEP", "0")
    assert str(err.value) == DEBUG_DENIED


def test_debug_local_allows_loopback_clients(tmp_path):
    server = start_ember(tmp_path, "--enable-debug-command", "local")
    try:
        assert server.client().execute_command("DEBUG", "SLEEP", "0") == b"OK"
    finally:
        server.stop()


def test_debug_sleep_blocks_the_whole_server(debug_ember, d):
    other = debug_ember.client()
    sleeper = RawConnection(debug_ember.port)
    started = time.monotonic()
    sleeper.sock.sendall(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n0.3\r\n")
    wait_until(lambda: time.monotonic() - started > 0.05, message="sleep under way")
    assert other.ping()
    assert sleeper.read_reply() == b"+OK\r\n"
    assert time.monotonic() - started >= 0.3
    sleeper.close()
    other.close()


def test_debug_help_lists_registered_subcommands(d):
    lines = [line.decode() for line in d.execute_command("DEBUG", "HELP")]
    assert lines[0] == "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    for entry in ("SLEEP <seconds>", "SET-ACTIVE-EXPIRE <0|1>", "OBJECT <key>", "PROTOCOL <type>"):
        assert entry in lines
    assert lines[-2:] == ["HELP", "    Prints this help."]


def test_debug_object_reports_encoding(d):
    require_command(d, "set")
    d.set("small", "v")
    d.set("number", "123")
    d.set("long", "x" * 100)
    line = d.execute_command("DEBUG", "OBJECT", "small").decode()
    assert re.fullmatch(r"Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:2 lru:\d+ "
                        r"lru_seconds_idle:\d+", line)
    assert "refcount:2147483647 encoding:int serializedlength:2 " in d.execute_command("DEBUG", "OBJECT", "number").decode()
    # 100 bytes behind a 2-byte RDB length prefix (uncompressed: LZF sizes come with the RDB encoder)
    assert "encoding:raw serializedlength:102 " in d.execute_command("DEBUG", "OBJECT", "long").decode()
    d.delete("small", "number", "long")


def test_debug_set_active_expire_and_errors(d):
    assert d.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"OK"
    assert d.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1") == b"OK"
    with pytest.raises(redis.ResponseError, match=r"^unknown subcommand or wrong number of arguments for 'nosuch'\. Try DEBUG HELP\.$"):
        d.execute_command("DEBUG", "nosuch")
    with pytest.raises(redis.ResponseError, match="^no such key$"):
        d.execute_command("DEBUG", "OBJECT", "missing-key")
    with pytest.raises(redis.ResponseError, match="^custom failure$"):
        d.execute_command("DEBUG", "ERROR", "custom failure")


def test_debug_protocol_in_resp3(debug_ember):
    sock = socket.create_connection(("127.0.0.1", debug_ember.port))
    sock.sendall(b"HELLO 3\r\nDEBUG PROTOCOL map\r\nDEBUG PROTOCOL push\r\n")
    expected_tail = (b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"
                     b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
                     b"$40\r\nSome real reply following the push reply\r\n")
    data = b""
    while not data.endswith(b"push reply\r\n"):
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    assert data.endswith(expected_tail)
    sock.close()


# -- SLOWLOG ----------------------------------------------------------------------------------

def test_slowlog_records_commands_with_client_details(debug_ember, d):
    d.execute_command("SLOWLOG", "RESET")
    d.client_setname("slow-one")
    d.execute_command("ECHO", "x" * 200)
    entries = d.execute_command("SLOWLOG", "GET", "3")
    assert len(entries) == 3
    newest_first = [entry[0] for entry in entries]
    assert newest_first == sorted(newest_first, reverse=True)
    echo = next(entry for entry in entries if entry[3][0] == b"ECHO")
    entry_id, timestamp, duration, args, peer, name = echo
    assert abs(timestamp - time.time()) < 60 and duration >= 0
    assert args[1] == b"x" * 128 + b"... (72 more bytes)"
    own_addr = dict(pair.split("=", 1) for pair in d.execute_command("CLIENT", "INFO").decode().split())["addr"]
    assert peer.decode() == own_addr
    assert name == b"slow-one"


def test_slowlog_len_reset_and_parsing_by_redis_py(d):
    d.execute_command("SLOWLOG", "RESET")
    assert d.slowlog_len() == 1  # the RESET itself is logged once it has run
    parsed = d.slowlog_get(1)
    assert parsed[0]["command"] == b"SLOWLOG LEN"
    d.execute_command("SLOWLOG", "RESET")
    assert d.execute_command("SLOWLOG", "GET", "0") == []
    logged = [entry[3] for entry in d.execute_command("SLOWLOG", "GET", "-1")]
    assert logged[:2] == [[b"SLOWLOG", b"GET", b"0"], [b"SLOWLOG", b"RESET"]]


def test_slowlog_keeps_at_most_32_arguments(d):
    d.execute_command("SLOWLOG", "RESET")
    d.execute_command("CLIENT", "LIST", "ID", *range(1, 40))
    args = d.execute_command("SLOWLOG", "GET", "1")[0][3]
    assert len(args) == 32 and args[-1] == b"... (11 more arguments)"


# -- LATENCY ----------------------------------------------------------------------------------

def test_latency_monitor_records_slow_commands(d):
    d.execute_command("LATENCY", "RESET")
    d.execute_command("DEBUG", "SLEEP", "0.02")
    latest = d.execute_command("LATENCY", "LATEST")
    event = next(entry for entry in latest if entry[0] == b"command")
    name, when, last_ms, max_ms = event
    assert last_ms >= 20 and max_ms >= last_ms and abs(when - time.time()) < 60
    history = d.execute_command("LATENCY", "HISTORY", "command")
    assert history and history[-1][1] >= 20
    graph = d.execute_command("LATENCY", "GRAPH", "command").decode()
    assert graph.startswith("command - high ") and "#" in graph
    doctor = d.execute_command("LATENCY", "DOCTOR").decode()
    assert "command:" in doctor and "worst" in doctor
    assert d.execute_command("LATENCY", "RESET", "command", "nosuch") == 1
    assert d.execute_command("LATENCY", "HISTORY", "command") == []


def test_latency_doctor_with_monitor_off(r):
    assert b"latency-monitor-threshold" in r.execute_command("LATENCY", "DOCTOR")
    with pytest.raises(redis.ResponseError, match="^No samples available for event 'command'$"):
        r.execute_command("LATENCY", "GRAPH", "command")


def test_latency_histogram_counts_every_call_of_a_pipeline(r, r3):
    """Calls run in a row are timed in groups (dispatch.run_lean); each still counts."""
    r.config_resetstat()
    pipe = r.pipeline(transaction=False)
    for _ in range(100):
        pipe.echo("x")
    pipe.execute()
    reply = r3.execute_command("LATENCY", "HISTOGRAM", "echo")  # RESP3: maps all the way down
    assert list(reply) == [b"echo"] and reply[b"echo"][b"calls"] == 100
    steps = reply[b"echo"][b"histogram_usec"]
    assert steps and list(steps.values())[-1] == 100
    assert r.info("latencystats")["latency_percentiles_usec_echo"]["p50"] < 1000  # µs
    r.config_resetstat()
    assert r3.execute_command("LATENCY", "HISTOGRAM", "echo") == {}


def test_latencystats_percentiles_of_a_slow_command(d):
    d.config_resetstat()
    d.execute_command("DEBUG", "SLEEP", "0.003")
    stats = d.info("latencystats")["latency_percentiles_usec_debug"]  # parsed by redis-py
    assert set(stats) == {"p50", "p99", "p99.9"} and 3000 <= stats["p50"] == stats["p99.9"]
    histogram = d.execute_command("LATENCY", "HISTOGRAM", "debug")  # RESP2: flat arrays
    assert histogram[0] == b"debug" and histogram[1][:2] == [b"calls", 1]
    step, calls = histogram[1][3]
    assert step >= 4227 and calls == 1  # the power-of-two step past 3 ms (4.19 ms) or a later one


# -- MONITOR ----------------------------------------------------------------------------------

def test_monitor_is_parsed_by_redis_py(ember):
    client = ember.client()
    with client.monitor() as monitor:
        talker = ember.client()
        talker.execute_command("ECHO", "hello world")
        talker.execute_command("SELECT", "2")
        talker.execute_command("ECHO", "quote\"d")
        first = monitor.next_command()
        while first["command"] != "ECHO hello world":  # redis-py's own set-up commands come first
            first = monitor.next_command()
        assert first["db"] == 0 and first["client_address"] == "127.0.0.1"
        assert abs(first["time"] - time.time()) < 60
        assert monitor.next_command()["command"] == "SELECT 2"
        third = monitor.next_command()
        assert third["db"] == 2 and third["command"] == 'ECHO quote"d'
        talker.close()


def test_monitor_skips_admin_commands_and_stops_on_close(ember):
    watcher, talker = RawConnection(ember.port), RawConnection(ember.port)
    assert watcher.call("MONITOR") == b"+OK\r\n"
    talker.call("CLIENT", "LIST")  # admin: not shown, as in Redis
    talker.call("PING")
    assert re.fullmatch(rb'\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "PING"\r\n', watcher.read_reply())
    watcher.close()
    wait_until(lambda: b"flags=O" not in talker.call("CLIENT", "LIST"), message="monitor gone")
    talker.close()


# -- SHUTDOWN ---------------------------------------------------------------------------------

def test_shutdown_nosave_exits_cleanly(tmp_path):
    server = start_ember(tmp_path)
    client = server.client()
    with pytest.raises(redis.ConnectionError):
        client.execute_command("SHUTDOWN", "NOSAVE")
    assert server.process.wait(timeout=10) == 0
    assert "DB saved on disk" not in server.log()
    assert not (tmp_path / "dump.rdb").exists()


def test_shutdown_with_save_points_saves_the_dataset(tmp_path):
    server = start_ember(tmp_path, "--save", "900 1")
    client = server.client()
    client.set("kept", "yes")
    with pytest.raises(redis.ConnectionError):
        client.execute_command("SHUTDOWN")
    assert server.process.wait(timeout=10) == 0
    assert "DB saved on disk" in server.log()
    restarted = start_ember(tmp_path, "--save", "900 1")
    try:
        assert restarted.client().get("kept") == b"yes"
    finally:
        restarted.stop()


def test_shutdown_rejected_options_keep_running(r):
    for args in (("foo",), ("SAVE", "NOSAVE"), ("ABORT", "FORCE")):
        with pytest.raises(redis.ResponseError, match="^syntax error$"):
            r.execute_command("SHUTDOWN", *args)
    with pytest.raises(redis.ResponseError, match="^No shutdown in progress.$"):
        r.execute_command("SHUTDOWN", "ABORT")
    assert r.ping()


# -- COMMAND ----------------------------------------------------------------------------------

def test_command_count_info_and_list_agree(raw):
    count = call(raw, "COMMAND", "COUNT")
    infos = call(raw, "COMMAND", "INFO")
    names = call(raw, "COMMAND", "LIST")
    assert count == len(infos) == len([n for n in names if b"|" not in n])
    assert {b"client|list", b"command|docs", b"slowlog|get"} <= set(names)


def test_command_info_entry_shape(ember):
    raw = RawConnection(ember.port)
    raw.call("HELLO", "3")
    entry = decode(raw.call("COMMAND", "INFO", "watch"))[0]
    name, arity, flags, first, last, step, acl, tips, specs, subs = entry
    assert (name, arity, first, last, step, tips, subs) == (b"watch", -2, 1, -1, 1, [], [])
    assert set(flags) == {b"noscript", b"loading", b"stale", b"fast", b"allow_busy"}
    assert {b"@fast", b"@transaction"} <= set(acl)
    assert specs[0][b"begin_search"] == {b"type": b"index", b"spec": {b"index": 1}}
    assert specs[0][b"find_keys"] == {b"type": b"range", b"spec": {b"lastkey": -1, b"keystep": 1, b"limit": 0}}
    client_entry = decode(raw.call("COMMAND", "INFO", "client"))[0]
    assert {sub[0] for sub in client_entry[9]} >= {b"client|list", b"client|setinfo", b"client|no-touch"}
    raw.close()


def test_command_docs_shape(raw):
    call(raw, "HELLO", "3")
    docs = call(raw, "COMMAND", "DOCS", "slowlog", "nosuch", "client|list")
    assert set(docs) == {b"slowlog", b"client|list"}
    assert docs[b"client|list"][b"since"] == b"2.4.0" and docs[b"client|list"][b"group"] == b"connection"
    assert b"slowlog|get" in docs[b"slowlog"][b"subcommands"]


def test_command_getkeys(raw):
    assert call(raw, "COMMAND", "GETKEYS", "WATCH", "a", "b") == [b"a", b"b"]
    assert call(raw, "COMMAND", "GETKEYSANDFLAGS", "WATCH", "a") == [[b"a", [b"RO", b"access"]]]
    assert raw.call("COMMAND", "GETKEYS", "ECHO", "x") == b"-ERR The command has no key arguments\r\n"
    assert raw.call("COMMAND", "GETKEYS", "CLIENT", "nosuch") == b"-ERR Invalid command specified\r\n"


def test_command_getkeys_checks_the_arity_of_the_command(r, raw):
    require_command(r, "hget")
    assert raw.call("COMMAND", "GETKEYS", "HGET", "h") == b"-ERR Invalid number of arguments specified for command\r\n"


def test_command_list_filters(raw):
    assert set(call(raw, "COMMAND", "LIST", "FILTERBY", "PATTERN", "slowlog*")) == {
        b"slowlog", b"slowlog|get", b"slowlog|len", b"slowlog|reset", b"slowlog|help"}
    admin = set(call(raw, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin"))
    assert {b"monitor", b"shutdown", b"client|kill", b"debug"} <= admin and b"ping" not in admin
    assert call(raw, "COMMAND", "LIST", "FILTERBY", "MODULE", "any") == []


def test_bare_command_lists_every_command(raw):
    assert len(call(raw, "COMMAND")) == call(raw, "COMMAND", "COUNT")
