"""Celery against Ember, with Ember as both the broker (kombu's Redis transport) and the result
backend: real `celery worker` processes run tasks sent from this process.

One prefork worker (-c 2) serves the module; the tests that need a worker of their own (priority
order, a worker killed mid-task, a chord_unlock backend) start solo workers on their own queues.
The app is tests/clients/apps/celery_app.py; its short visibility timeout (3 s) makes the
restore-after-SIGKILL path quick.
"""

from __future__ import annotations

import importlib
import signal
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.clients.conftest import app_command, command_calls, server_url, unexpected_errors
from tests.conftest import wait_until

pytest.importorskip("celery")
from celery import chord, group  # noqa: E402  (after the importorskip guard)

APP_MODULE = "tests.clients.apps.celery_app"
MAIN_NODE = "main@ember-tests"


@pytest.fixture(scope="module")
def url(ember) -> str:
    return server_url(ember)


@pytest.fixture(scope="module")
def tasks(url):
    """The app module, imported in this process with the broker URL of this module's Ember."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMBER_CELERY_URL", url)
        module = sys.modules.get(APP_MODULE)
        module = importlib.import_module(APP_MODULE) if module is None else importlib.reload(module)
        yield module
        module.app.close()


def start_worker(owner, url: str, node: str, *options: str, backend: str = "redis"):
    worker = owner.start(node.split("@")[0], app_command(
        "celery", "-A", APP_MODULE, "worker", "--loglevel=info", "-n", node, "--without-mingle",
        "--without-gossip", *options), env={"EMBER_CELERY_URL": url, "EMBER_CELERY_BACKEND": backend})
    worker.wait_for_log(f"{node} ready.")
    return worker


@pytest.fixture(scope="module")
def main_worker(module_processes, url, tasks):
    return start_worker(module_processes, url, MAIN_NODE, "--pool=prefork", "-c", "2", "-Q", "celery")


@pytest.fixture
def client(ember, main_worker):
    connection = ember.client()
    yield connection
    connection.close()


def test_task_result_comes_back_through_backend_pubsub(tasks, client):
    publishes, subscribes = command_calls(client, "publish"), command_calls(client, "subscribe")
    result = tasks.add.delay(2, 3)
    assert result.get(timeout=10) == 5
    assert result.state == "SUCCESS"
    # the worker stored the result (with the default 1 day expiry) and published it to the
    # task's channel, where this process's result consumer had subscribed
    assert 0 < client.ttl(f"celery-task-meta-{result.id}") <= 86400
    assert command_calls(client, "publish") > publishes
    assert command_calls(client, "subscribe") > subscribes


def test_many_tasks_all_return(tasks, client):
    results = [tasks.add.delay(n, n) for n in range(20)]
    assert [result.get(timeout=10) for result in results] == [2 * n for n in range(20)]


def test_retries(tasks, client):
    result = tasks.flaky.delay(2)
    assert result.get(timeout=10) == 2


def test_failure_is_reported_with_its_exception(tasks, client):
    result = tasks.add.delay(1, "x")
    with pytest.raises(TypeError):
        result.get(timeout=10)
    assert result.state == "FAILURE"


@pytest.mark.parametrize("when", ["countdown", "eta"])
def test_countdown_and_eta(tasks, client, when):
    sent = time.time()
    if when == "countdown":
        result = tasks.stamp.apply_async(("late",), countdown=1)
    else:
        result = tasks.stamp.apply_async(("late",), eta=datetime.now(timezone.utc) + timedelta(seconds=1))
    ran = result.get(timeout=10)
    assert ran >= sent + 0.99


def test_group(tasks, client):
    result = group(tasks.add.s(n, n) for n in range(6))()
    assert result.get(timeout=10) == [0, 2, 4, 6, 8, 10]


def test_chord_with_the_redis_counter(tasks, client):
    scripts = command_calls(client, "evalsha") + command_calls(client, "eval")
    result = chord(tasks.add.s(n, n) for n in range(6))(tasks.tsum.s())
    assert result.get(timeout=10) == 30
    # each header part reported through the backend's chord Lua script (ZADD into the join set)
    assert command_calls(client, "evalsha") + command_calls(client, "eval") >= scripts + 6
    assert client.keys("celery-taskset-meta-*.j") == []  # cleaned up once the body was sent


def test_chord_whose_header_holds_a_group_joins_with_the_timeout(tasks, client):
    # A nested group makes the backend save the GroupResult and join it (result_chord_join_timeout)
    header = [group(tasks.add.s(1, 1), tasks.add.s(2, 2)), tasks.add.s(3, 3)]
    result = chord(header)(tasks.nested_sum.s())
    assert result.get(timeout=10) == 12


def test_chord_joined_by_chord_unlock(tasks, url, processes, client):
    worker = start_worker(processes, url, "unlock@ember-tests", "--pool=solo", "-Q", "unlock", backend="unlock")
    unlock_app = tasks.make_app(url, backend="unlock")
    try:
        add = unlock_app.signature(f"{APP_MODULE}.add")
        body = unlock_app.signature(f"{APP_MODULE}.tsum", queue="unlock")
        result = chord(add.clone((n, n), queue="unlock") for n in range(4))(body)
        assert result.get(timeout=20) == 12
    finally:
        unlock_app.close()
    assert "celery.chord_unlock" in worker.log()  # the polling task ran (retrying until the header was done)


def test_inspect_ping_stats_active_queues(tasks, client):
    inspect = tasks.app.control.inspect(destination=[MAIN_NODE], timeout=2)
    assert inspect.ping() == {MAIN_NODE: {"ok": "pong"}}
    stats = inspect.stats()[MAIN_NODE]
    assert stats["pool"]["max-concurrency"] == 2
    assert stats["broker"]["transport"] == "redis"
    assert [queue["name"] for queue in inspect.active_queues()[MAIN_NODE]] == ["celery"]


def test_priorities_and_queue_order(tasks, url, processes, client):
    client.delete("log:order")
    sends = [("prio_low", 9), ("prio_high", 5), ("prio_low", 0), ("prio_high", 0), ("prio_high", 9),
             ("prio_low", 5), ("prio_high", 0)]
    results = [tasks.stamp.apply_async((f"{queue}:{priority}:{n}",), queue=queue, priority=priority)
               for n, (queue, priority) in enumerate(sends)]
    assert client.exists("prio_low\x06\x169", "prio_high\x06\x165") == 2  # one list per priority
    # one solo worker, prefetching one message at a time, started after everything was queued
    start_worker(processes, url, "prio@ember-tests", "--pool=solo", "-Q", "prio_high,prio_low")
    for result in results:
        result.get(timeout=10)
    order = [tag.decode() for tag in client.lrange("log:order", 0, -1)]
    # lower priority numbers first; within a priority, queues in -Q order; FIFO within one list
    assert order == ["prio_high:0:3", "prio_high:0:6", "prio_low:0:2", "prio_high:5:1", "prio_low:5:5",
                     "prio_high:9:4", "prio_low:9:0"]


def test_message_of_a_killed_worker_is_restored_after_the_visibility_timeout(tasks, url, processes, client):
    victim = start_worker(processes, url, "victim@ember-tests", "--pool=solo", "-Q", "vt")
    token = uuid.uuid4().hex
    result = tasks.hang_first_time.apply_async((token,), queue="vt")
    wait_until(lambda: client.get(f"started:{token}"), message="the task to start on the victim")
    # acks_late: the message waits, unacknowledged, in kombu's unacked hash while the task runs
    assert client.hlen("unacked") == 1
    victim.kill(signal.SIGKILL)
    victim.wait()
    # the main worker restores it to its queue once the visibility timeout passed, then serves it
    tasks.app.control.add_consumer("vt", destination=[MAIN_NODE], reply=True, timeout=5)
    try:
        assert result.get(timeout=20) == 2  # delivered a second time, nothing lost
        # acks_late: acknowledged (removed from the unacked hash) just after the result was stored
        wait_until(lambda: client.hlen("unacked") == 0, message="the redelivered message's ack")
        assert client.llen("vt") == 0
    finally:
        tasks.app.control.cancel_consumer("vt", destination=[MAIN_NODE], reply=True, timeout=5)


def test_no_command_failed_on_the_server(client):
    # Runs last: every reply Celery and kombu got from the server in this module was a success
    assert unexpected_errors(client) == {}
