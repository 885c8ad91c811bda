"""The Celery application the client tests and bench/bench_celery.py run, broker and result
backend both on one server.

Worker subprocesses load it with `celery -A tests.clients.apps.celery_app worker`, so the module
configures itself from the environment: EMBER_CELERY_URL (redis://host:port/db) and
EMBER_CELERY_BACKEND ("redis": Celery's Redis backend with its native chord counter; "unlock":
the same backend, but chords joined by Celery's generic polling task celery.chord_unlock, as
backends without a counter do). `make_app` builds more apps (other servers, other backends) for
producers that refer to the tasks by name.
"""

from __future__ import annotations

import functools
import os
import time

import redis
from celery import Celery
from celery.backends.base import BaseBackend
from celery.backends.redis import RedisBackend
from kombu import Queue

TASKS = __name__  # task names are "<this module>.<function>"
QUEUES = ("celery", "vt", "unlock", "prio_high", "prio_low")


class ChordUnlockRedisBackend(RedisBackend):
    """Redis results, but chords joined by polling (celery.chord_unlock) instead of the counter."""

    apply_chord = BaseBackend.apply_chord
    on_chord_part_return = BaseBackend.on_chord_part_return
    set_chord_size = BaseBackend.set_chord_size


def make_app(url: str, backend: str = "redis") -> Celery:
    backend_url = f"{TASKS}:ChordUnlockRedisBackend+{url}" if backend == "unlock" else url
    celery = Celery("ember_tests", broker=url, backend=backend_url)
    celery.conf.update(
        broker_transport_options={
            "priority_steps": list(range(10)),  # one list per priority 0-9 (0 is served first)
            "queue_order_strategy": "priority",  # always BRPOP the queues in the order given
            "visibility_timeout": 3,  # seconds before an unacked message is given to another worker
            "unacked_restore_interval": 1,  # look for such messages every second...
            "unacked_restore_throttle": 1,  # ...on every look, not every tenth
        },
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="celery",
        result_chord_join_timeout=10,
        result_chord_retry_interval=0.2,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
    )
    return celery


app = make_app(os.environ.get("EMBER_CELERY_URL", "redis://127.0.0.1:6379/0"),
               os.environ.get("EMBER_CELERY_BACKEND", "redis"))


@functools.cache
def store() -> redis.Redis:
    """A plain client on the broker's server, for tasks to leave traces the tests read."""
    return redis.Redis.from_url(app.conf.broker_url)


@app.task
def add(x: int, y: int) -> int:
    return x + y


@app.task
def tsum(numbers: list) -> int:
    return sum(numbers)


def deep_sum(values: list) -> int:
    return sum(deep_sum(value) if isinstance(value, list) else value for value in values)


@app.task
def nested_sum(results: list) -> int:
    """Sum a chord header's results, where a header part was itself a group (a list)."""
    return deep_sum(results)


@app.task
def noop() -> None:
    return None


@app.task(bind=True, max_retries=5)
def flaky(self, fail_times: int) -> int:
    """Fails (and retries itself) fail_times times, then returns how many retries it took."""
    if self.request.retries < fail_times:
        raise self.retry(countdown=0.1, exc=RuntimeError("not yet"))
    return self.request.retries


@app.task
def stamp(tag: str) -> float:
    """Append tag to the run-order log and return when it ran (unix seconds)."""
    store().rpush("log:order", tag)
    return time.time()


@app.task(bind=True, acks_late=True)
def hang_first_time(self, token: str) -> int:
    """The first delivery marks itself started and hangs until its worker is killed; a later
    delivery of the same message returns how many deliveries there were."""
    attempt = store().incr(f"attempts:{token}")
    if attempt == 1:
        store().set(f"started:{token}", self.request.hostname)
        while True:
            time.sleep(0.05)
    return attempt
