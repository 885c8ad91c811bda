"""Real task-queue libraries against Ember: kombu's Redis transport (priority queues consumed
with BRPOP over one key per priority, in priority order) and RQ's dequeue path (BLMOVE into an
intermediate queue for one queue, BLPOP across several), plus a whole RQ SimpleWorker.

Both libraries are optional test dependencies (`pip install kombu rq`); without them these tests
are skipped. Readiness is awaited on the server's blocked-client count, never by sleeping.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.differential.harness import RawConnection

kombu = pytest.importorskip("kombu")
rq = pytest.importorskip("rq")

from rq.exceptions import DequeueTimeout  # noqa: E402  (after the importorskip guards)

# What RQ's enqueue + worker path sends (seen with MONITOR); a full-worker test needs them all.
RQ_WORKER_COMMANDS = (
    "MULTI", "EXEC", "WATCH", "HSET", "HGET", "HGETALL", "HINCRBY", "HINCRBYFLOAT", "EXPIRE", "PERSIST",
    "EXISTS", "DEL", "SET", "SADD", "SREM", "SMEMBERS", "ZADD", "ZREM", "ZRANGE", "ZRANGEBYSCORE",
    "ZREMRANGEBYSCORE", "XADD", "XREVRANGE", "SUBSCRIBE", "UNSUBSCRIBE", "CLIENT", "INFO", "RPUSH",
    "LMOVE", "BLMOVE", "LREM", "LRANGE",
)


def missing_commands(ember, names) -> list[str]:
    """The commands the server does not know (COMMAND INFO answers nil for them)."""
    connection = RawConnection(ember.port)
    try:
        return [name for name in names if connection.call("COMMAND", "INFO", name) == b"*1\r\n$-1\r\n"]
    finally:
        connection.close()


def blocked_clients(client) -> int:
    return int(client.info("clients")["blocked_clients"])


class InThread(threading.Thread):
    def __init__(self, target, *args: Any) -> None:
        super().__init__(daemon=True)
        self.call = (target, args)
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        target, args = self.call
        try:
            self.result = target(*args)
        except BaseException as exc:  # handed to the test
            self.error = exc

    def outcome(self, timeout: float = 20.0) -> Any:
        self.join(timeout)
        assert not self.is_alive()
        if self.error is not None:
            raise self.error
        return self.result


# -- kombu ------------------------------------------------------------------------------------------

def priority_queue():
    exchange = kombu.Exchange("tasks", type="direct")
    return kombu.Queue("tasks", exchange, routing_key="tasks", queue_arguments={"x-max-priority": 10})


def kombu_connection(ember):
    return kombu.Connection(f"redis://127.0.0.1:{ember.port}",
                            transport_options={"priority_steps": list(range(10))})


def consume(connection, queue, count: int) -> list[tuple[int, int]]:
    received: list[tuple[int, int]] = []

    def on_message(body, message) -> None:
        received.append((body["priority"], body["n"]))
        message.ack()

    with connection.Consumer(queue, callbacks=[on_message], prefetch_count=1):
        while len(received) < count:
            connection.drain_events(timeout=10)
    return received


def test_kombu_priority_queue_consumed_in_priority_order(ember, r):
    queue = priority_queue()
    priorities = [9, 0, 6, 3, 0, 9, 5]
    with kombu_connection(ember) as connection:
        producer = connection.Producer()
        for n, priority in enumerate(priorities):
            producer.publish({"n": n, "priority": priority}, exchange=queue.exchange, routing_key="tasks",
                             priority=priority, declare=[queue])
        assert r.exists("tasks", "tasks\x06\x163", "tasks\x06\x169") == 3  # one list per priority step
        received = consume(connection, queue, len(priorities))
    # BRPOP takes the first non-empty key in kombu's order (priority 0 first), FIFO within one
    assert received == [(0, 1), (0, 4), (3, 3), (5, 6), (6, 2), (9, 0), (9, 5)]
    assert r.llen("tasks") == 0


def test_kombu_blocked_consumer_wakes_on_publish(ember, r):
    queue = priority_queue()
    with kombu_connection(ember) as consumer_connection, kombu_connection(ember) as producer_connection:
        queue(consumer_connection.default_channel).declare()
        consumer = InThread(consume, consumer_connection, queue, 1)
        consumer.start()
        wait_until(lambda: blocked_clients(r) >= 1, message="kombu's BRPOP to block")
        producer_connection.Producer().publish({"n": 0, "priority": 7}, exchange=queue.exchange,
                                               routing_key="tasks", priority=7)
        assert consumer.outcome() == [(7, 0)]


# -- RQ ---------------------------------------------------------------------------------------------

def test_rq_single_queue_dequeue_blocks_on_blmove(ember, r):
    queue = rq.Queue("default", connection=r)
    waiter = InThread(rq.Queue.dequeue_any, [queue], 5, r)
    waiter.start()
    wait_until(lambda: blocked_clients(r) == 1, message="RQ's BLMOVE to block")
    job = queue.enqueue(len, "hello")
    dequeued, from_queue = waiter.outcome()
    assert dequeued.id == job.id
    assert from_queue.name == "default"
    assert r.lrange("rq:queue:default", 0, -1) == []
    # RQ moves the id into an intermediate list while the job runs
    assert r.lrange("rq:queue:default:intermediate", 0, -1) == [job.id.encode()]


def test_rq_dequeue_timeout(ember, r):
    queue = rq.Queue("default", connection=r)
    with pytest.raises(DequeueTimeout):
        rq.Queue.dequeue_any([queue], 1, connection=r)


def test_rq_several_queues_dequeue_in_queue_order(ember, r):
    high = rq.Queue("high", connection=r)
    low = rq.Queue("low", connection=r)
    low_job = low.enqueue(len, "low")
    high_job = high.enqueue(len, "high")
    first, first_queue = rq.Queue.dequeue_any([high, low], 1, connection=r)
    second, second_queue = rq.Queue.dequeue_any([high, low], 1, connection=r)
    assert (first.id, first_queue.name) == (high_job.id, "high")
    assert (second.id, second_queue.name) == (low_job.id, "low")


def test_rq_blpop_across_queues_wakes_on_enqueue(ember, r):
    high = rq.Queue("high", connection=r)
    low = rq.Queue("low", connection=r)
    waiter = InThread(rq.Queue.dequeue_any, [high, low], 5, r)
    waiter.start()
    wait_until(lambda: blocked_clients(r) == 1, message="RQ's BLPOP to block")
    job = low.enqueue(len, "x")
    dequeued, from_queue = waiter.outcome()
    assert (dequeued.id, from_queue.name) == (job.id, "low")


def test_rq_simple_worker_runs_a_job(ember, r):
    missing = missing_commands(ember, RQ_WORKER_COMMANDS)
    if missing:
        pytest.skip(f"RQ's worker needs commands Ember lacks: {' '.join(missing)}")
    queue = rq.Queue("default", connection=r)
    job = queue.enqueue(len, "hello")
    worker = rq.SimpleWorker([queue], connection=r)
    assert worker.work(burst=True)
    job.refresh()
    assert job.get_status() == rq.job.JobStatus.FINISHED
    assert job.return_value() == 5


def test_rq_worker_waiting_on_blmove_picks_up_a_new_job(ember, r):
    missing = missing_commands(ember, RQ_WORKER_COMMANDS)
    if missing:
        pytest.skip(f"RQ's worker needs commands Ember lacks: {' '.join(missing)}")
    queue = rq.Queue("default", connection=r)
    worker = rq.SimpleWorker([queue], connection=r)

    def enqueue_once_the_worker_waits():
        wait_until(lambda: blocked_clients(r) == 1, message="the worker's BLMOVE to block")
        return queue.enqueue(len, "four")

    producer = InThread(enqueue_once_the_worker_waits)
    producer.start()
    worker.work(burst=False, max_jobs=1)  # RQ installs signal handlers: the main thread runs it
    job = producer.outcome()
    job.refresh()
    assert job.return_value() == 4
