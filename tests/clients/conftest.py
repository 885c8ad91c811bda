"""Fixtures for the real-application tests: worker subprocesses that are always stopped.

A test (or a module) asks `processes`/`module_processes` to start commands such as `celery -A ...
worker` or `rq worker`; each runs in its own session (process group), so stopping it also stops the
children a prefork pool or an RQ work horse made. Everything still running is stopped at teardown,
also when the test failed. `command_calls` reads INFO commandstats, so a test can prove that the
application really sent the command path it is about (BLMOVE, EVALSHA, PUBLISH...).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, wait_until

APP_BIN = Path(sys.executable).parent  # celery / rq console scripts live beside the interpreter


@dataclass
class AppProcess:
    """One application process (a worker) and its log file."""

    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until the log shows text; fail at once, with the log, if the process exits."""
        try:
            wait_until(lambda: self.process.poll() is not None or text in self.log(), timeout=timeout,
                       interval=0.05, message=f"{self.name} to log {text!r}")
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- {self.name} log ---\n{self.log()[-4000:]}") from None
        if text not in self.log():
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log()[-4000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (the worker and the children it forked)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (a warm shutdown for Celery and RQ), then SIGKILL for whatever is left."""
        if self.process.poll() is None:
            self.kill(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):  # children can outlive their leader: ours too
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class ProcessGroup:
    """Starts application processes and stops all of them when the owning fixture ends."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: list[AppProcess] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> AppProcess:
        log_path = self.workdir / f"{name}-{len(self.running)}.log"
        full_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                        PYTHONUNBUFFERED="1", **(env or {}))
        with open(log_path, "wb") as log:
            process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=full_env,
                                       start_new_session=True)
        app_process = AppProcess(name, process, log_path)
        self.running.append(app_process)
        return app_process

    def stop_all(self) -> None:
        for app_process in reversed(self.running):
            app_process.stop()
        self.running.clear()


@pytest.fixture
def processes(tmp_path) -> Iterator[ProcessGroup]:
    group = ProcessGroup(tmp_path)
    yield group
    group.stop_all()


@pytest.fixture(scope="module")
def module_processes(tmp_path_factory) -> Iterator[ProcessGroup]:
    group = ProcessGroup(tmp_path_factory.mktemp("apps"))
    yield group
    group.stop_all()


def app_command(script: str, *args: str) -> list[str]:
    """A console script installed with this interpreter (celery, rq), as an argv list."""
    return [str(APP_BIN / script), *args]


def command_calls(client, name: str) -> int:
    """How many times the server ran `name` (INFO commandstats; 0 if never)."""
    stats = client.info("commandstats").get(f"cmdstat_{name.lower()}")
    return int(stats["calls"]) if stats else 0


def server_url(server, db: int = 0) -> str:
    return f"redis://127.0.0.1:{server.port}/{db}"


def unexpected_errors(client) -> dict[str, int]:
    """Error replies the server sent beyond the ones every healthy run has, by error prefix and by
    command: redis-py's CLIENT MAINT_NOTIFICATIONS probe on each RESP3 connection (one "ERR
    unknown subcommand" per HELLO, as Redis 7.2 answers too) and EVALSHA before SCRIPT LOAD
    (NOSCRIPT). An unknown command or a wrong reply that made the application fail shows here."""
    errors = {name.removeprefix("errorstat_"): int(stats["count"])
              for name, stats in client.info("errorstats").items()}
    noscript = errors.pop("NOSCRIPT", 0)
    errors["ERR"] = errors.get("ERR", 0) - command_calls(client, "hello")
    for name, stats in client.info("commandstats").items():
        failed = int(stats["failed_calls"]) + int(stats["rejected_calls"])
        if name == "cmdstat_evalsha":
            failed -= noscript
        errors[name] = failed
    return {name: count for name, count in errors.items() if count}
