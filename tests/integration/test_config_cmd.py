"""CONFIG GET/SET/RESETSTAT/REWRITE and ember-server's start-up, against real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, ServerProcess, free_port, wait_until

ENV = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
for variable in ("REDIS_PASSWORD", "REDIS_MAXMEMORY", "REDIS_MAXMEMORY_POLICY"):
    ENV.pop(variable, None)


def config_get(conn: redis.Redis, *patterns: str) -> dict[bytes, bytes]:
    """CONFIG GET as a dict, whichever protocol the connection speaks."""
    reply = conn.execute_command("CONFIG", "GET", *patterns)
    return reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2], strict=True))


def run_ember(*args: str, stdin: str = "", env: dict | None = None, cwd: Path | None = None):
    """Run ember-server to completion (for start-up failures and --version/--help)."""
    return subprocess.run([sys.executable, "-m", "ember", *args], input=stdin, capture_output=True, text=True,
                          timeout=30, env=env or ENV, cwd=cwd)


def start_with_file(workdir: Path, conf_text: str, *extra: str, env: dict | None = None,
                    password: str | None = None) -> ServerProcess:
    """Start ember-server with a config file (the way redis-server is usually run)."""
    port = free_port()
    conf = workdir / "ember.conf"
    conf.write_text(f"# test server\nport {port}\nbind 127.0.0.1\ndir {workdir}\nsave \"\"\n{conf_text}")
    log_path = workdir / f"ember-{port}.log"
    args = [sys.executable, "-m", "ember", str(conf), *extra]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env or ENV)
    server = ServerProcess(port, process, workdir, log_path, args)

    def ready() -> bool:
        assert process.poll() is None, f"ember exited early:\n{server.log()}"
        with server.client(password=password, socket_timeout=1) as conn:
            return conn.ping()

    try:
        wait_until(ready, timeout=15, message="ember to start")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture
def r(ember):
    """A RESP2 client (these tests need no data, so no FLUSHALL)."""
    with ember.client(protocol=2) as client:
        yield client


@pytest.fixture
def r3(ember):
    with ember.client(protocol=3) as client:
        yield client


@pytest.fixture
def file_server(tmp_path):
    servers: list[ServerProcess] = []

    def start(conf_text: str = "", *extra: str, **kwargs) -> ServerProcess:
        server = start_with_file(tmp_path, conf_text, *extra, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# -- CONFIG GET / SET -----------------------------------------------------------------------------


def test_config_get_is_a_map_in_resp3_and_flat_in_resp2(r, r3):
    assert r3.execute_command("CONFIG", "GET", "maxmemory", "timeout") == {b"maxmemory": b"0", b"timeout": b"0"}
    flat = r.execute_command("CONFIG", "GET", "maxmemory")
    assert flat == [b"maxmemory", b"0"]


def test_config_get_globs_and_aliases(r3):
    reply = r3.execute_command("CONFIG", "GET", "*read-only", "hash-max-ziplist-*")
    assert reply == {b"replica-read-only": b"yes", b"slave-read-only": b"yes",
                     b"hash-max-ziplist-entries": b"512", b"hash-max-ziplist-value": b"64"}


def test_config_set_changes_behaviour_at_once(r, ember):
    try:
        assert r.execute_command("CONFIG", "SET", "maxclients", "1", "slowlog-max-len", "3") == b"OK"
        # maxclients 1: the next connection is turned away with Redis's error.
        with pytest.raises(redis.exceptions.ConnectionError, match="max number of clients reached"), \
                ember.client(socket_timeout=2) as extra:
            extra.ping()
    finally:
        r.execute_command("CONFIG", "SET", "maxclients", "10000", "slowlog-max-len", "128")
    assert r.execute_command("CONFIG", "GET", "slowlog-max-len") == [b"slowlog-max-len", b"128"]


def test_config_set_is_atomic(r):
    with pytest.raises(redis.ResponseError) as info:
        r.execute_command("CONFIG", "SET", "timeout", "9", "maxmemory", "x")
    assert str(info.value) == \
        "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
    assert r.execute_command("CONFIG", "GET", "timeout") == [b"timeout", b"0"]


def test_config_set_errors(r):
    cases = {
        ("port", "1", "x"): "syntax error",
        ("foo", "bar"): "Unknown option or number of arguments for CONFIG SET - 'foo'",
        ("daemonize", "yes"): "CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
        ("dir", "/"): "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config",
    }
    for args, text in cases.items():
        with pytest.raises(redis.ResponseError) as info:
            r.execute_command("CONFIG", "SET", *args)
        assert str(info.value) == text


def test_password_set_by_config_set_is_redacted_from_the_slow_log(r, ember):
    r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        r.execute_command("SLOWLOG", "RESET")
        r.execute_command("CONFIG", "SET", "masterauth", "secret")
        entries = r.execute_command("SLOWLOG", "GET")
        logged = [entry[3] for entry in entries if entry[3][:2] == [b"CONFIG", b"SET"]]
        assert logged == [[b"CONFIG", b"SET", b"masterauth", b"(redacted)"]]
    finally:
        r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "10000", "masterauth", "")


def test_config_set_port_moves_the_listener(file_server):
    server = file_server()
    conn = server.client()
    new_port = free_port()
    assert conn.execute_command("CONFIG", "SET", "port", str(new_port)) == b"OK"
    assert conn.ping()  # existing connections stay
    moved = redis.Redis(host="127.0.0.1", port=new_port)
    assert wait_until(moved.ping, message="the new port")
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=2).ping()
    server.port = new_port
    # An address that cannot be bound fails and leaves the old addresses in place.
    with pytest.raises(redis.ResponseError, match="Failed to bind to specified addresses."):
        moved.execute_command("CONFIG", "SET", "bind", "192.0.2.1")
    assert config_get(moved, "bind") == {b"bind": b"127.0.0.1"}
    assert wait_until(lambda: redis.Redis(host="127.0.0.1", port=new_port).ping(), message="the port again")


def test_resetstat_resets_counters_but_not_the_slow_log(r):
    r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        r.ping()
        r.execute_command("CONFIG", "RESETSTAT")
        stats = r.info("stats")
        assert stats["total_commands_processed"] <= 1
        assert "cmdstat_ping" not in r.info("commandstats")
        assert r.execute_command("SLOWLOG", "LEN") > 0
    finally:
        r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "10000")


def test_config_help(r):
    lines = r.execute_command("CONFIG", "HELP")
    assert lines[0] == b"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == [b"HELP", b"    Prints this help."]


# -- CONFIG REWRITE with a real file ---------------------------------------------------------------


def test_rewrite_without_a_config_file(r):
    with pytest.raises(redis.ResponseError, match="^The server is running without a config file$"):
        r.execute_command("CONFIG", "REWRITE")


def test_rewrite_keeps_the_file_and_survives_a_restart(file_server, tmp_path):
    server = file_server("# keep me\nmaxmemory 1mb\nslave-read-only no\nmaxmemory 2mb\n")
    conn = server.client()
    assert conn.info("server")["config_file"] == str(tmp_path / "ember.conf")
    conn.execute_command("CONFIG", "SET", "maxmemory", "3gb", "timeout", "42", "notify-keyspace-events", "KEA")
    assert conn.execute_command("CONFIG", "REWRITE") == b"OK"
    lines = (tmp_path / "ember.conf").read_text().split("\n")
    assert lines[:9] == ["# test server", f"port {server.port}", "bind 127.0.0.1", f'dir "{tmp_path}"', 'save ""',
                         "# keep me", "maxmemory 3gb", "replica-read-only no", ""]
    signature = lines.index("# Generated by CONFIG REWRITE")
    assert {"timeout 42", 'notify-keyspace-events "AKE"'} <= set(lines[signature:])


def test_rewritten_file_starts_a_server_with_the_same_values(file_server, tmp_path):
    server = file_server()
    conn = server.client()
    conn.execute_command("CONFIG", "SET", "timeout", "42", "maxmemory-policy", "allkeys-lru",
                         "client-output-buffer-limit", "pubsub 1mb 2kb 3", "requirepass", "pw")
    conn.execute_command("AUTH", "pw")
    assert conn.execute_command("CONFIG", "REWRITE") == b"OK"
    server.stop()
    text = (tmp_path / "ember.conf").read_text()
    conf = tmp_path / "copy.conf"
    conf.write_text(text)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ember", str(conf), "--port", str(port)], cwd=tmp_path,
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, password="pw")
        wait_until(client.ping, message="restart from the rewritten file")
        assert config_get(client, "timeout", "maxmemory-policy", "client-output-buffer-limit") == {
            b"timeout": b"42", b"maxmemory-policy": b"allkeys-lru",
            b"client-output-buffer-limit": b"normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2048 3"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_rewrite_failure_is_reported(file_server, tmp_path):
    server = file_server()
    conf = tmp_path / "ember.conf"
    conf.unlink()
    conf.mkdir()  # the config file is now a directory: it cannot be read nor replaced
    with pytest.raises(redis.ResponseError, match="^Rewriting config file: Is a directory$"):
        server.client().execute_command("CONFIG", "REWRITE")


# -- start-up --------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--foo", "bar"], "at line 2\n>>> 'foo \"bar\"'\nBad directive or wrong number of arguments"),
    (["--port", "abc"], "at line 2\n>>> 'port \"abc\"'\nargument couldn't be parsed into an integer"),
    (["--port", "70000"], "argument must be between 0 and 65535 inclusive"),
    (["--loglevel", "x"], "argument(s) must be one of the following: debug, verbose, notice, warning, nothing"),
    (["--maxmemory", "1x"], "argument must be a memory value"),
    (["--appendonly", "maybe"], "argument must be 'yes' or 'no'"),
    (["--save", "1"], "Invalid save parameters"),
    (["--client-output-buffer-limit", "normal", "1", "2"], "Wrong number of arguments in buffer limit configuration."),
    (["--rename-command", "nosuch", "x"], "No such command in rename-command"),
    (["--include", "/nonexistent/x.conf"], "Fatal error, can't open config file '/nonexistent/x.conf'"),
])
def test_bad_options_stop_the_server_with_redis_messages(args, message):
    result = run_ember(*args)
    assert result.returncode == 1
    assert result.stderr.startswith("\n*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\n") or \
        result.stderr.startswith("Fatal error")
    assert message in result.stderr


def test_bad_config_file_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("port 0\n# comment\n\n  bogus 1\n")
    result = run_ember(str(conf))
    assert result.returncode == 1
    assert result.stderr == ("\n*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\nReading the configuration file, "
                             "at line 4\n>>> 'bogus 1'\nBad directive or wrong number of arguments\n")
    missing = run_ember(str(tmp_path / "missing.conf"))
    assert missing.returncode == 1
    assert f"Fatal error, can't open config file '{tmp_path / 'missing.conf'}'" in missing.stderr


def test_config_from_stdin(tmp_path):
    result = run_ember("-", "--port", "0", stdin="foo x\n")
    assert result.returncode == 1
    assert "at line 1\n>>> 'foo x'\n" in result.stderr


def test_version_and_help():
    version = run_ember("--version")
    assert version.returncode == 0 and version.stdout.startswith("Ember server v=7.2.4 ")
    help_text = run_ember("-h")
    assert help_text.returncode == 1 and help_text.stderr.startswith("Usage: ember-server")
    memory = run_ember("--test-memory", "1024")
    assert memory.returncode == 1 and "not have it" in memory.stderr


def test_environment_password(file_server):
    env = dict(ENV, REDIS_PASSWORD="from-env")
    server = file_server("", env=env, password="from-env")
    with pytest.raises(redis.exceptions.AuthenticationError), server.client() as anonymous:
        anonymous.get("x")
    assert config_get(server.client(password="from-env"), "requirepass") == {b"requirepass": b"from-env"}


def test_pidfile_rename_command_and_include(file_server, tmp_path):
    (tmp_path / "extra.conf").write_text("timeout 11\n")
    pidfile = tmp_path / "ember.pid"
    server = file_server(f"pidfile {pidfile}\nrename-command echo shout\ninclude {tmp_path / 'extra.conf'}\n")
    conn = server.client()
    assert pidfile.read_text() == f"{server.process.pid}\n"
    assert conn.execute_command("SHOUT", "hi") == b"hi"
    with pytest.raises(redis.ResponseError, match="unknown command 'ECHO'"):
        conn.execute_command("ECHO", "hi")
    assert config_get(conn, "timeout") == {b"timeout": b"11"}
    server.stop()
    assert not pidfile.exists()
