"""CONFIG against redis-server: the directives it knows, their defaults, CONFIG SET's errors byte
for byte, CONFIG GET patterns, values as shown after CONFIG SET, and CONFIG REWRITE's output.

Debian's redis-server is 7.0; Ember implements 7.2, so what 7.2 changed is excluded, each with
the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, wait_until

from .harness import Differ, RawConnection, decode

# Added in 7.2: unknown to the 7.0 oracle.
NEW_IN_72 = {"locale-collate", "set-max-listpack-entries", "set-max-listpack-value", "cluster-announce-human-nodename"}
# Set differently by the test fixtures, or naming this host's paths and ports.
FIXTURE_OR_HOST = {"port", "dir", "pidfile", "logfile", "enable-debug-command"}
# Ember's built-in bind is redis.conf's "127.0.0.1 -::1" rather than redis-server's "* -::*".
EMBER_CHOICES = {"bind"}
EXCLUDED = NEW_IN_72 | FIXTURE_OR_HOST | EMBER_CHOICES
HIDDEN = ("key-load-delay", "rdb-key-save-delay", "use-exit-on-panic", "watchdog-period",
          "loading-process-events-interval-bytes", "Use-Exit-On-Panic")


@pytest.fixture
def differ(redis_server, ember):
    """Both servers, without the FLUSHALL of the shared `diff` fixture: CONFIG needs no data."""
    pair = Differ(redis_server.port, ember.port)
    yield pair
    pair.close()


def pairs(raw: bytes) -> dict[bytes, bytes]:
    reply = decode(raw)
    return dict(zip(reply[::2], reply[1::2], strict=True))


def comparable(raw: bytes) -> list[tuple[bytes, bytes]] | object:
    """A CONFIG GET reply as sorted pairs (Redis's order is its hash table's), without the
    directives excluded above; other replies unchanged."""
    reply = decode(raw)
    if not isinstance(reply, list):
        return reply
    return sorted((k, v) for k, v in zip(reply[::2], reply[1::2], strict=True) if k.decode().lower() not in EXCLUDED)


# -- names and defaults --------------------------------------------------------------------------


def test_every_directive_of_redis_is_known_to_ember(differ):
    redis_names = set(pairs(differ.redis.call("CONFIG", "GET", "*")))
    ember_names = set(pairs(differ.ember.call("CONFIG", "GET", "*")))
    assert redis_names - ember_names == set()  # 7.2 removed none of 7.0's directives
    assert {name.decode() for name in ember_names - redis_names} == NEW_IN_72


def test_defaults_are_redis_defaults(differ):
    redis_values = pairs(differ.redis.call("CONFIG", "GET", "*"))
    ember_values = pairs(differ.ember.call("CONFIG", "GET", "*"))
    different = {name: (value, ember_values[name]) for name, value in redis_values.items()
                 if name.decode() not in EXCLUDED and ember_values[name] != value}
    assert different == {}


@pytest.mark.parametrize("name", HIDDEN)
def test_hidden_directives_answer_only_to_their_exact_name(differ, name):
    differ.check("CONFIG", "GET", name)
    differ.check("CONFIG", "GET", name[:-2] + "*")


@pytest.mark.parametrize("patterns", [
    ("*",), ("*max*",), ("port",), ("PORT",), ("p*",), ("*read-only",), ("hash-max-ziplist-*",), ("[a-c]*",),
    ("nonexistent",), ("port", "tcp*", "slave-read-only", "replica-read-only"), ("PORT", "p*"), ("p*", "PORT"),
    ("*[", "port["), ("SLAVEOF",), ("save", "client-output-buffer-limit", "notify-keyspace-events"),
])
def test_config_get_patterns(differ, patterns):
    differ.check("CONFIG", "GET", *patterns, normalize=comparable)


# -- CONFIG SET errors, byte for byte ----------------------------------------------------------------

ERRORS = [
    ("port", "abc"), ("port", "70000"), ("port", ""), ("tcp-keepalive", "1.5"), ("timeout", " 5"),
    ("timeout", "+5"), ("timeout", "05"), ("timeout", "0x10"), ("timeout", "2147483648"), ("timeout", "-0"),
    ("hz", "-1"), ("slowlog-log-slower-than", "-5"), ("list-max-listpack-size", "99999999999"),
    ("maxclients", "0"), ("maxclients", "5000000000"), ("active-defrag-cycle-min", "0"), ("repl-backlog-size", "0"),
    ("maxmemory", "1x"), ("maxmemory", "-1"), ("maxmemory", " 1gb"), ("maxmemory", "1.5gb"), ("maxmemory", "+1gb"),
    ("maxmemory", "1 gb"), ("maxmemory", "-0"), ("proto-max-bulk-len", "1000"),
    ("maxmemory-clients", "200%"), ("maxmemory-clients", "abc"), ("unixsocketperm", "800"),
    ("activedefrag", "maybe"), ("activedefrag", "yes"), ("slave-read-only", "abc"), ("SLAVE-READ-ONLY", "abc"),
    ("lua-time-limit", "abc"), ("maxmemory-policy", "x"), ("appendfsync", "x"), ("shutdown-on-sigint", "foo"),
    ("shutdown-on-sigint", "nosave save"), ("shutdown-on-sigint", ""), ("shutdown-on-sigint", "save  now"),
    ("foo", "bar"), ("daemonize", "yes"), ("unixsocket", "x"), ("appendfilename", "x"), ("replicaof", "no one"),
    ("slaveof", "no one"), ("dbfilename", "a/b"), ("dir", "/nonexistent"),
    ("save", "1 2 3"), ("save", "x 1"), ("save", "0 1"), ("save", "1 2  3 4"), ("save", " 1 2"), ("save", "1 -2"),
    ("save", "3600"), ("client-output-buffer-limit", "normal 1 2"), ("client-output-buffer-limit", "master 1 2 3"),
    ("client-output-buffer-limit", "normal 1x 2 3"), ("client-output-buffer-limit", "normal 1 2 -3"),
    ("notify-keyspace-events", "Q"), ("notify-keyspace-events", "KEA "), ("oom-score-adj-values", "1 2"),
    ("oom-score-adj-values", "1 2 5000"), ("oom-score-adj-values", "0  200 800"),
    ("oom-score-adj-values", "0 200 800 "), ("latency-tracking-info-percentiles", "x"),
    ("latency-tracking-info-percentiles", "101"), ("latency-tracking-info-percentiles", "inf"),
    ("latency-tracking-info-percentiles", "  50"), ("cluster-announce-hostname", "a_b"),
    ("proc-title-template", "{foo}"), ("proc-title-template", ""),
    # Several at once: the first problem in argument order wins, nothing is changed.
    ("port", "1", "port", "2"), ("timeout", "7", "TIMEOUT", "8"), ("timeout", "5", "foo", "1", "daemonize", "yes"),
    ("daemonize", "yes", "foo", "1"), ("timeout", "9", "maxmemory", "x"), ("port", "0", "timeout", "x"),
    ("port", "1", "x"),
]


@pytest.mark.parametrize("args", ERRORS, ids=lambda args: " ".join(args))
def test_config_set_errors(differ, args):
    differ.check("CONFIG", "SET", *args)
    differ.check("CONFIG", "GET", "timeout", "port", normalize=comparable)


@pytest.mark.parametrize("args", [
    ("CONFIG",), ("CONFIG", "SET"), ("CONFIG", "SET", "port"), ("CONFIG", "GET"), ("CONFIG", "foo"),
    ("CONFIG", "RESETSTAT", "x"), ("CONFIG", "REWRITE", "x"), ("CONFIG", "REWRITE"), ("CONFIG", "HELP"),
    ("CONFIG", "HELP", "x"),
])
def test_config_command_shapes(differ, args):
    differ.check(*args)


# -- values as CONFIG GET shows them after CONFIG SET ----------------------------------------------

SETTINGS = [
    ("maxmemory", "1GB"), ("maxmemory", "1g"), ("maxmemory", "1b"), ("maxmemory", "18446744073709551615"),
    ("maxmemory-clients", "10%"), ("maxmemory-clients", "0%"), ("maxmemory-clients", "5mb"),
    ("hash-max-ziplist-value", "1kb"), ("hz", "0"), ("hz", "600"), ("list-max-listpack-size", "-6"),
    ("notify-keyspace-events", "KEA"), ("notify-keyspace-events", "$lshzxetmdn"), ("notify-keyspace-events", "Kg"),
    ("notify-keyspace-events", "An"), ("notify-keyspace-events", "Am"), ("notify-keyspace-events", "x"),
    ("save", "100 10 200 20"), ("save", ""), ("save", "+1 2"), ("save", "1 0"), ("save", "1 99999999999"),
    ("client-output-buffer-limit", "pubsub 1mb 2kb 3"), ("client-output-buffer-limit", "replica 1 2 3"),
    ("client-output-buffer-limit", "slave 1 2 3 normal 4 5 6"), ("client-output-buffer-limit", "NORMAL 1 2 3"),
    ("client-output-buffer-limit", ""),
    ("latency-tracking-info-percentiles", "50.5 99 100"), ("latency-tracking-info-percentiles", "0.001 1e1 99.99999"),
    ("latency-tracking-info-percentiles", ""), ("latency-tracking-info-percentiles", "-0"),
    ("latency-tracking-info-percentiles", "99.9999999"), ("latency-tracking-info-percentiles", "50 50"),
    ("oom-score-adj-values", "-1 +2 3"), ("maxmemory-policy", "ALLKEYS-LRU"), ("loglevel", "WARNING"),
    ("shutdown-on-sigterm", "NOW Force"), ("shutdown-on-sigterm", "now force"), ("acl-pubsub-default", "allchannels"),
    ("lazyfree-lazy-eviction", "YES"), ("masterauth", "foo"), ("cluster-announce-hostname", "ab.c-d"),
    ("slave-read-only", "no"), ("busy-reply-threshold", "6"), ("watchdog-period", "0"),
]


@pytest.mark.parametrize("name, value", SETTINGS, ids=lambda x: x)
def test_values_after_config_set(differ, name, value):
    original = pairs(differ.redis.call("CONFIG", "GET", name))[name.encode()]
    try:
        differ.check("CONFIG", "SET", name, value)
        differ.check("CONFIG", "GET", name)
    finally:
        differ.check("CONFIG", "SET", name, original)


def test_an_alias_and_its_name_are_two_parameters(differ):
    differ.check("CONFIG", "SET", "slave-read-only", "no", "replica-read-only", "yes")
    differ.check("CONFIG", "GET", "*read-only", normalize=comparable)


# -- CONFIG REWRITE ----------------------------------------------------------------------------------

CONFIG_TEXT = """# top comment
bind 127.0.0.1
include {include}
rename-command echo ""


slave-read-only no
save 100 1
save 200 2
maxmemory 1mb
loglevel notice
hash-max-ziplist-entries 100
daemonize no
"""
APPENDED_AFTER_START = 'bogus-thing yes\n"unbalanced\n   \n\n\n  # indented comment\nTimeout 7\nmaxmemory 5mb\n'


def start_from_file(command: list[str], workdir: Path) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    (workdir / "inc.conf").write_text("timeout 5\n")
    conf = workdir / "server.conf"
    conf.write_text(f"port {port}\ndir {workdir}\n" + CONFIG_TEXT.format(include=workdir / "inc.conf"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([*command, str(conf)], cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)

    def ready() -> bool:
        assert process.poll() is None, "server exited early"
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True

    wait_until(ready, timeout=15, message="server start")
    return process, port, conf


def rewrite_scenario(command: list[str], workdir: Path) -> str:
    """Start from CONFIG_TEXT, change the file and some values, CONFIG REWRITE twice; the file
    with this server's own port and directory replaced by placeholders."""
    workdir.mkdir()
    process, port, conf = start_from_file(command, workdir)
    try:
        with conf.open("a") as handle:
            handle.write(APPENDED_AFTER_START)
        conn = RawConnection(port)
        for args in (("maxmemory", "2gb"), ("timeout", "0"), ("notify-keyspace-events", "KEA"),
                     ("client-output-buffer-limit", "pubsub 1mb 2kb 3"), ("maxmemory-clients", "5%"),
                     ("save", "300 3"), ("slave-read-only", "yes")):
            assert conn.call("CONFIG", "SET", *args) == b"+OK\r\n"
        assert conn.call("CONFIG", "REWRITE") == b"+OK\r\n"
        assert conn.call("CONFIG", "SET", "requirepass", 'a b"c') == b"+OK\r\n"
        assert conn.call("CONFIG", "REWRITE") == b"+OK\r\n"
        conn.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    return conf.read_text().replace(f"port {port}", "port PORT").replace(str(workdir), "DIR")


def split_rewrite(text: str) -> tuple[list[str], list[str]]:
    """(lines before the signature, the appended lines sorted): Redis appends in its hash
    table's order."""
    head, _, appended = text.partition("# Generated by CONFIG REWRITE\n")
    return head.split("\n"), sorted(appended.split("\n"))


def test_rewrite_writes_what_redis_writes(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    redis_text = rewrite_scenario([binary], tmp_path / "redis")
    ember_text = rewrite_scenario([sys.executable, "-m", "ember"], tmp_path / "ember")
    # 7.2 describes the default user with its sanitize-payload flag; 7.0 does not.
    ember_text = ember_text.replace(" sanitize-payload ", " ")
    assert split_rewrite(ember_text) == split_rewrite(redis_text)
    assert "# ??? bogus-thing yes" in ember_text
