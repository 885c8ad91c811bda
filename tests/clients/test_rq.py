"""RQ against Ember: real `rq worker` processes run jobs enqueued from this process.

One forking worker (`rq worker --with-scheduler default`, a work horse per job) serves the module;
it dequeues with BLMOVE into RQ's intermediate queue, keeps results in per-job streams, moves jobs
through the started/finished/failed/deferred/scheduled registries (sorted sets) and runs the
scheduler for `enqueue_in`. A burst SimpleWorker drains another queue and exits. Job functions
live in tests/clients/apps/rq_jobs.py.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from tests.clients.conftest import app_command, command_calls, server_url, unexpected_errors
from tests.conftest import wait_until

rq = pytest.importorskip("rq")
from rq.job import JobStatus  # noqa: E402  (after the importorskip guard)
from rq.results import Result  # noqa: E402

from tests.clients.apps import rq_jobs  # noqa: E402

WORKER_NAME = "ember-rq"


@pytest.fixture(scope="module")
def worker(ember, module_processes):
    process = module_processes.start("rq-worker", app_command(
        "rq", "worker", "--url", server_url(ember), "--with-scheduler", "-n", WORKER_NAME, "default"))
    process.wait_for_log("Scheduler for default started")
    return process


@pytest.fixture
def client(ember, worker):
    connection = ember.client(protocol=2)
    yield connection
    connection.close()


@pytest.fixture
def queue(client):
    return rq.Queue("default", connection=client)


def wait_for_status(job, status: str, timeout: float = 15.0) -> None:
    wait_until(lambda: job.get_status(refresh=True) == status, timeout=timeout,
               message=f"job {job.id} to be {status} (is {job.get_status(refresh=True)})")


def test_job_result_stored_in_a_stream(client, queue):
    moves = command_calls(client, "blmove")
    job = queue.enqueue(rq_jobs.add, 2, 3)
    wait_for_status(job, JobStatus.FINISHED)
    assert job.return_value() == 5
    assert job.latest_result().type == Result.Type.SUCCESSFUL
    assert client.xlen(f"rq:results:{job.id}") == 1  # RQ keeps each result as a stream entry
    assert job.id in queue.finished_job_registry.get_job_ids()
    # the worker dequeues with BLMOVE (counted when it blocks): it is back at it after the job
    wait_until(lambda: command_calls(client, "blmove") > moves, message="the worker's next BLMOVE")


def test_several_jobs_run_in_enqueue_order(client, queue):
    client.delete("log:rq")
    jobs = [queue.enqueue(rq_jobs.record, str(n)) for n in range(5)]
    for job in jobs:
        wait_for_status(job, JobStatus.FINISHED)
    assert client.lrange("log:rq", 0, -1) == [b"0", b"1", b"2", b"3", b"4"]


def test_failed_job_lands_in_the_failed_registry(client, queue):
    job = queue.enqueue(rq_jobs.boom)
    wait_for_status(job, JobStatus.FAILED)
    assert job.id in queue.failed_job_registry.get_job_ids()
    result = job.latest_result()
    assert result.type == Result.Type.FAILED
    assert "ValueError: boom" in result.exc_string
    # requeued from the failed registry, it runs (and fails) once more
    queue.failed_job_registry.requeue(job.id)
    wait_until(lambda: len(Result.all(job, serializer=job.serializer)) == 2, message="the second run")
    assert job.get_status(refresh=True) == JobStatus.FAILED


def test_started_registry_holds_the_running_job(client, queue):
    release = f"release:{uuid.uuid4().hex}"
    job = queue.enqueue(rq_jobs.wait_for_release, release)
    wait_for_status(job, JobStatus.STARTED)
    assert job.id in queue.started_job_registry.get_job_ids()
    busy = [w for w in rq.Worker.all(connection=client) if w.name == WORKER_NAME]
    assert busy and busy[0].get_state() == "busy"
    client.set(release, 1)
    wait_for_status(job, JobStatus.FINISHED)
    assert job.return_value() == "released"
    assert job.id not in queue.started_job_registry.get_job_ids()
    assert job.id in queue.finished_job_registry.get_job_ids()


def test_scheduler_runs_enqueue_in_jobs(client, queue):
    enqueued = time.time()
    job = queue.enqueue_in(timedelta(seconds=1), rq_jobs.record, "later")
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.id in queue.scheduled_job_registry.get_job_ids()
    wait_for_status(job, JobStatus.FINISHED)
    assert job.return_value() >= int(enqueued + 1)  # RQ schedules at whole seconds (the ZSET score)
    assert job.id not in queue.scheduled_job_registry.get_job_ids()


def test_dependent_job_waits_for_its_dependency(client, queue):
    release = f"release:{uuid.uuid4().hex}"
    first = queue.enqueue(rq_jobs.wait_for_release, release)
    second = queue.enqueue(rq_jobs.add, 20, 22, depends_on=first)
    assert second.get_status() == JobStatus.DEFERRED
    assert second.id in queue.deferred_job_registry.get_job_ids()
    wait_for_status(first, JobStatus.STARTED)
    assert second.get_status(refresh=True) == JobStatus.DEFERRED
    client.set(release, 1)
    wait_for_status(second, JobStatus.FINISHED)
    assert second.return_value() == 42
    first.refresh()
    second.refresh()
    assert second.enqueued_at >= first.ended_at  # enqueued only once the first one finished
    assert second.id not in queue.deferred_job_registry.get_job_ids()


def test_queue_empty_deletes_queued_jobs(client):
    parked = rq.Queue("parked", connection=client)  # no worker listens here
    jobs = [parked.enqueue(rq_jobs.add, n, n) for n in range(3)]
    assert parked.count == 3
    parked.empty()
    assert parked.count == 0
    assert client.exists(*(job.key for job in jobs)) == 0


def test_burst_simple_worker_drains_its_queue_and_exits(ember, client, processes):
    burst = rq.Queue("burst", connection=client)
    jobs = [burst.enqueue(rq_jobs.add, n, 1) for n in range(4)]
    worker = processes.start("rq-burst", app_command(
        "rq", "worker", "--url", server_url(ember), "--burst", "-w", "rq.worker.SimpleWorker", "burst"))
    assert worker.wait(timeout=30) == 0, worker.log()
    assert [job.get_status(refresh=True) for job in jobs] == [JobStatus.FINISHED] * 4
    assert [job.return_value() for job in jobs] == [1, 2, 3, 4]
    assert burst.count == 0


def test_no_command_failed_on_the_server(client):
    # Runs last: every reply RQ got from the server in this module was a success
    assert unexpected_errors(client) == {}
