"""Job functions the RQ tests enqueue and real `rq worker` processes run (imported by name)."""

from __future__ import annotations

import time

from rq import get_current_job


def add(x: int, y: int) -> int:
    return x + y


def boom() -> None:
    raise ValueError("boom")


def wait_for_release(key: str) -> str:
    """Runs until `key` exists on the job's server (the test sets it), so the job is seen started."""
    connection = get_current_job().connection
    while not connection.exists(key):
        time.sleep(0.02)
    return "released"


def record(tag: str) -> float:
    """Append tag to the `log:rq` list and return when the job ran (unix seconds)."""
    get_current_job().connection.rpush("log:rq", tag)
    return time.time()
