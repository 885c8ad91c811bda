"""MEMORY: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP.

USAGE gives the estimate maxmemory is enforced against (keyspace/memory.py): what Redis would
allocate for the key, not the Python objects Ember holds, so it compares with what MEMORY
USAGE says under Redis. STATS reports the figures of INFO memory under Redis's names. DOCTOR's
report is Ember's own (the estimate against maxmemory); PURGE runs Python's garbage collector,
where Redis asks jemalloc to return dirty pages.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from ..keyspace.memory import SAMPLES, key_size
from ..protocol.encoder import Verbatim
from ..protocol.errors import SYNTAX, CommandError
from .server_admin import declare_help, memory_section
from .table import command, container, parse_int

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "server"

container("memory", -2, group=GROUP, since="4.0.0", summary="A container for memory diagnostics commands.")


@command("memory|usage", -3, flags="readonly", keys=(2, 2, 1), acl="read", group=GROUP, since="4.0.0",
         summary="Estimates the memory usage of a key.", complexity="O(N) where N is the number of samples.")
def memory_usage(client: Client, args: list[bytes]):
    samples: int | None = SAMPLES
    position = 3
    while position < len(args):
        if args[position].lower() != b"samples" or position + 1 == len(args):
            raise CommandError(SYNTAX)
        samples = parse_int(args[position + 1])
        if samples < 0:
            raise CommandError(SYNTAX)
        samples = samples or None  # 0: every element
        position += 2
    value = client.db.read(args[2], None, False, notify_miss=False)  # as OBJECT: no LRU update, no keymiss
    return None if value is None else key_size(args[2], value, samples)


@command("memory|stats", 2, group=GROUP, since="4.0.0",
         summary="Returns details about memory usage.", complexity="O(1)")
def memory_stats(client: Client, args: list[bytes]):
    """INFO memory's figures under MEMORY STATS's names, with each non-empty database's entry."""
    server = client.server
    info = dict(memory_section(server))
    keys = sum(len(db) for db in server.dbs)
    dataset, used, peak = info["used_memory_dataset"], info["used_memory"], info["used_memory_peak"]
    stats: dict[str, object] = {
        "peak.allocated": peak,
        "total.allocated": used,
        "startup.allocated": info["used_memory_startup"],
        "replication.backlog": 0,
        "clients.slaves": 0,
        "clients.normal": info["mem_clients_normal"],
        "cluster.links": 0,
        "aof.buffer": 0,
        "lua.caches": info["used_memory_scripts_eval"],
        "functions.caches": info["used_memory_functions"],
    }
    for db in server.dbs:
        if len(db):
            stats[f"db.{db.id}"] = {"overhead.hashtable.main": 24 * len(db),
                                    "overhead.hashtable.expires": 24 * len(db.expires)}
    stats.update({
        "overhead.total": info["used_memory_overhead"],
        "keys.count": keys,
        "keys.bytes-per-key": dataset // keys if keys else 0,
        "dataset.bytes": dataset,
        "dataset.percentage": float(dataset * 100 / used if used else 0),
        "peak.percentage": float(used * 100 / peak if peak else 0),
        "allocator.allocated": used,
        "allocator.active": used,
        "allocator.resident": used,
        "allocator-fragmentation.ratio": 1.0,
        "allocator-fragmentation.bytes": 0,
        "allocator-rss.ratio": 1.0,
        "allocator-rss.bytes": 0,
        "rss-overhead.ratio": 1.0,
        "rss-overhead.bytes": 0,
        "fragmentation": 1.0,
        "fragmentation.bytes": 0,
    })
    return stats


@command("memory|doctor", 2, group=GROUP, since="4.0.0",
         summary="Outputs a memory problems report.", complexity="O(1)")
def memory_doctor(client: Client, args: list[bytes]):
    memory = client.server.memory
    if not memory.limit:
        return Verbatim(b"No memory issue found. maxmemory is not set: the dataset may grow without bound.\n")
    used, limit = memory.used(), memory.limit
    report = f"Estimated usage {used} bytes of maxmemory {limit} ({used * 100 / limit:.1f}%)."
    if memory.out_of_memory:
        report += " Memory is full and nothing can be evicted: commands that add data are refused with OOM."
    return Verbatim(report.encode() + b"\n")


@command("memory|malloc-stats", 2, group=GROUP, since="4.0.0",
         summary="Returns the allocator statistics.", complexity="Depends on how much memory is allocated, could be slow")
def memory_malloc_stats(client: Client, args: list[bytes]):
    return Verbatim(b"Stats not supported for the current allocator")  # Redis's answer without jemalloc


@command("memory|purge", 2, group=GROUP, since="4.0.0",
         summary="Asks the allocator to release memory.", complexity="Depends on how much memory is allocated, could be slow")
def memory_purge(client: Client, args: list[bytes]):
    gc.collect()  # unreachable cycles are what Python can give back
    return "OK"


declare_help("memory", (
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
), since="4.0.0", group=GROUP)
