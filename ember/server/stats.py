"""Counters behind INFO stats/errorstats, SLOWLOG and LATENCY."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from ..commands.table import TABLE


@dataclass
class SlowlogEntry:
    id: int
    timestamp: int  # unix seconds
    duration_us: int
    args: list[bytes]
    peer: str
    client_name: str


@dataclass
class Stats:
    total_connections_received: int = 0
    rejected_connections: int = 0
    expired_keys: int = 0
    expired_stale_perc: float = 0.0
    expired_time_cap_reached_count: int = 0
    expire_cycle_cpu_milliseconds: int = 0
    evicted_keys: int = 0
    evicted_clients: int = 0
    keyspace_hits: int = 0
    keyspace_misses: int = 0
    total_net_input_bytes: int = 0
    total_net_output_bytes: int = 0
    total_error_replies: int = 0
    unexpected_error_replies: int = 0
    total_reads_processed: int = 0
    total_writes_processed: int = 0
    client_query_buffer_limit_disconnections: int = 0
    client_output_buffer_limit_disconnections: int = 0
    acl_access_denied_auth: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # errorstats: code -> count
    # instantaneous_ops_per_sec: (time, total commands) samples taken by cron
    ops_samples: deque = field(default_factory=lambda: deque(maxlen=16))

    @property
    def total_commands_processed(self) -> int:
        return TABLE.total_calls()

    def count_error(self, code: str) -> None:
        self.total_error_replies += 1
        self.errors[code] = self.errors.get(code, 0) + 1

    def sample_ops(self) -> None:
        self.ops_samples.append((time.monotonic(), self.total_commands_processed))

    def instantaneous_ops_per_sec(self) -> int:
        if len(self.ops_samples) < 2:
            return 0
        (t0, c0), (t1, c1) = self.ops_samples[0], self.ops_samples[-1]
        return int((c1 - c0) / (t1 - t0)) if t1 > t0 else 0

    def reset(self) -> None:
        """CONFIG RESETSTAT: zero the counters (not the keyspace)."""
        fresh = Stats()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))
