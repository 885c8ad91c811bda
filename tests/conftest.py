"""Shared fixtures: real server processes on free loopback ports.

`ember` starts the real `ember-server` (python -m ember) per test module; `redis_server` starts
Debian's redis-server for differential tests (skipped when it is not installed). Readiness is
awaited by polling PING, never by sleeping a fixed time.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent

# The suite is deterministic: property tests replay the same examples on every run, so CI does
# not fail on a case nobody has seen. HYPOTHESIS_PROFILE=explore draws new ones (to hunt bugs).
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.01, message: str = "condition"):
    """Poll predicate until it returns a truthy value; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = predicate()
        except Exception:  # connection refused while starting, etc.
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


@dataclass
class ServerProcess:
    """A running server process and how to reach it."""

    port: int
    process: subprocess.Popen
    workdir: Path
    log_path: Path
    args: list[str] = field(default_factory=list)

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_ember(workdir: Path, *extra: str, password: str | None = None) -> ServerProcess:
    port = free_port()
    log_path = workdir / f"ember-{port}.log"
    args = [sys.executable, "-m", "ember", "--port", str(port), "--bind", "127.0.0.1",
            "--dir", str(workdir), "--save", "", *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env)
    server = ServerProcess(port, process, workdir, log_path, args)
    _wait_ready(server, password)
    return server


def start_redis(workdir: Path, *extra: str, password: str | None = None) -> ServerProcess:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    log_path = workdir / f"redis-{port}.log"
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", "",
            "--appendonly", "no", "--enable-debug-command", "yes", *extra]
    if password is not None:
        args += ["--requirepass", password]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = ServerProcess(port, process, workdir, log_path, args)
    _wait_ready(server, password)
    return server


def _wait_ready(server: ServerProcess, password: str | None) -> None:
    def ready() -> bool:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        with server.client(password=password, socket_timeout=1) as conn:
            return conn.ping()

    deadline = time.monotonic() + 15
    while True:
        try:
            if ready():
                return
        except RuntimeError:
            raise
        except Exception:
            if time.monotonic() > deadline:
                server.stop()
                raise AssertionError(f"server did not start:\n{server.log()}") from None
        time.sleep(0.02)


@pytest.fixture(scope="module")
def ember(tmp_path_factory):
    server = start_ember(tmp_path_factory.mktemp("ember"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def r(ember):
    """A RESP2 redis-py client on a flushed Ember."""
    client = ember.client(protocol=2)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def r3(ember):
    """A RESP3 redis-py client (what redis-py 8 does by default: HELLO 3)."""
    client = ember.client(protocol=3)
    client.flushall()
    yield client
    client.close()


def raw(client: redis.Redis, *args):
    """A command's reply as the server sent it, without redis-py's reply conversions."""
    connection = client.connection_pool.get_connection()
    try:
        connection.send_command(*args)
        return connection.read_response()
    finally:
        client.connection_pool.release(connection)


def encoding(client: redis.Redis, key: str) -> str:
    """OBJECT ENCODING of key as text."""
    value = client.object("encoding", key)
    return value.decode() if isinstance(value, bytes) else value
