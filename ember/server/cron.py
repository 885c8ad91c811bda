"""Periodic work, run `hz` times a second (Redis's serverCron): active expiry, ops sampling,
idle-client timeouts."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..keyspace.database import ACCESS_CLOCK
from ..persistence import aof, snapshot

if TYPE_CHECKING:
    from .app import Server

# Redis spends at most 25% of each cron period expiring keys (ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC).
EXPIRE_TIME_SHARE = 0.25


def server_cron(server: Server) -> None:
    ACCESS_CLOCK.tick()
    period_s = 1.0 / max(server.config["hz"], 1)
    if server.active_expire_enabled:
        active_expire_cycle(server, period_s)
        server.propagator.flush()  # the DELs of keys that expired
    server.stats.sample_ops()
    close_idle_clients(server)
    server.client_eviction.cron()
    snapshot.cron(server)
    aof.cron(server)


def active_expire_cycle(server: Server, period_s: float) -> None:
    start = time.perf_counter_ns()
    deadline = start + int(period_s * EXPIRE_TIME_SHARE * 1e9)
    expired_total = sampled_total = 0
    for db in server.dbs:
        if db.expires:
            expired, sampled = db.expire_due_keys(deadline)
            expired_total += expired
            sampled_total += sampled
            if time.perf_counter_ns() >= deadline:
                server.stats.expired_time_cap_reached_count += 1
                break
    stats = server.stats
    stats.expire_cycle_cpu_milliseconds += (time.perf_counter_ns() - start) // 1_000_000
    if sampled_total:
        # Share of sampled entries that were due, smoothed like Redis's expired_stale_perc.
        current = expired_total / sampled_total
        stats.expired_stale_perc = stats.expired_stale_perc * 0.95 + current * 0.05


def close_idle_clients(server: Server) -> None:
    timeout = server.config["timeout"]
    if not timeout:
        return
    now = ACCESS_CLOCK.ms
    for client in list(server.clients.values()):
        if not client.blocked and not client.monitor and now - client.last_interaction > timeout * 1000:
            client.close()
