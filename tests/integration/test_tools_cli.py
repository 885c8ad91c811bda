"""`ember health` against a real Ember and a real redis-server (the tools speak plain RESP)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from ember.tools.cli import EXIT_ERROR_REPLY, EXIT_UNREACHABLE, main
from tests.conftest import ROOT, free_port, start_ember


def health(*args: str):
    return CliRunner().invoke(main, ["health", *args])


@pytest.fixture
def populated(ember):
    client = ember.client()
    client.flushall()
    client.hset("h", "f", "v")
    client.execute_command("SELECT", 2)
    client.sadd("s1", "x")
    client.sadd("s2", "y")
    client.expire("s2", 1000)
    yield ember
    client.flushall()
    client.close()


def test_health_of_ember(populated):
    result = health("--port", str(populated.port))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"OK 127.0.0.1:{populated.port} (PING ")
    assert "role:              master" in lines
    assert "version:           7.2.4" in lines
    assert any(line.startswith("connected clients: ") and int(line.split()[-1]) >= 1 for line in lines)
    assert "keys:              db0=1 (expires 0), db2=2 (expires 1)" in lines


def test_health_json(populated):
    result = health("--port", str(populated.port), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["role"] == "master"
    assert report["keys"] == {"db0": {"keys": 1, "expires": 0}, "db2": {"keys": 2, "expires": 1}}
    assert report["used_memory"] > 0 and report["uptime_seconds"] >= 0


def test_health_of_redis_server(redis_server):
    result = health("--port", str(redis_server.port), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["role"] == "master"
    assert report["version"].startswith("7.")
    assert report["connected_clients"] >= 1


def test_unreachable_server_exits_non_zero():
    result = health("--port", str(free_port()))
    assert result.exit_code == EXIT_UNREACHABLE
    assert "UNREACHABLE 127.0.0.1:" in result.output


def test_silent_server_times_out():
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        result = health("--port", str(listener.getsockname()[1]), "--timeout", "0.2")
    assert result.exit_code == EXIT_UNREACHABLE


@pytest.fixture(scope="module")
def protected(tmp_path_factory):
    server = start_ember(tmp_path_factory.mktemp("ember-pw"), "--requirepass", "s3cret", password="s3cret")
    yield server
    server.stop()


def test_error_reply_exits_non_zero(protected):
    result = health("--port", str(protected.port))
    assert result.exit_code == EXIT_ERROR_REPLY
    assert "NOAUTH Authentication required." in result.output
    wrong = health("--port", str(protected.port), "--password", "nope")
    assert wrong.exit_code == EXIT_ERROR_REPLY
    assert "WRONGPASS" in wrong.output


def test_password_option_and_environment(protected):
    assert health("--port", str(protected.port), "-a", "s3cret").exit_code == 0
    result = CliRunner(env={"REDISCLI_AUTH": "s3cret"}).invoke(main, ["health", "--port", str(protected.port)])
    assert result.exit_code == 0, result.output


def test_runs_as_a_program(ember):
    result = subprocess.run([sys.executable, "-m", "ember.tools.cli", "health", "--port", str(ember.port)],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK ")
