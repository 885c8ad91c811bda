"""Server administration: INFO, TIME, LOLWUT, DEBUG, SLOWLOG, LATENCY, MONITOR, SHUTDOWN, COMMAND.

This module owns the server's self-description. INFO is assembled from per-section builders in
Redis 7.2's order and field names; values Ember has no counterpart for are reported the way an
idle Redis reports them (no replicas, no fork, no AOF...), and feature modules can supply real
values later through `info_fields()` without touching this file. COMMAND (INFO, DOCS, LIST,
COUNT, GETKEYS) is generated from the command table alone, so a new command documents itself.
DEBUG is one command whose subcommands register in a small table, as other families may add
their own (RELOAD, DIGEST...) with `debug_subcommand()`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import random
import re
import resource
import struct
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..protocol.encoder import BigNumber, Bool, Push, SetReply, Verbatim
from ..protocol.errors import NO_SUCH_KEY, SYNTAX, CommandError
from ..server.client import NO_REPLY
from ..server.latency_histogram import cumulative_distribution, percentiles_text
from ..server.memory import BASELINE
from .table import TABLE, Command, command, container, parse_int

if TYPE_CHECKING:
    from ..server.app import Server
    from ..server.client import Client

log = logging.getLogger("ember")

GROUP = "server"
ADMIN_FLAGS = "admin noscript loading stale"


# -- helpers shared by the subcommand families ------------------------------------------------


def help_reply(args: list[bytes], lines: Iterable[str]) -> list[str]:
    """A HELP reply as Redis's addReplyHelp builds it: header, the lines, then HELP itself."""
    name = args[0].decode("utf-8", "replace").upper()
    return [f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", *lines,
            "HELP", "    Prints this help."]


def subcommand_syntax_error(args: list[bytes]) -> CommandError:
    """Redis's reply to a subcommand it does not know or that got the wrong number of arguments."""
    sub = args[1].decode("utf-8", "replace")[:128]
    return CommandError(f"ERR unknown subcommand or wrong number of arguments for '{sub}'. "
                        f"Try {args[0].decode('utf-8', 'replace').upper()} HELP.")


def declare_help(container_name: str, lines: tuple[str, ...], *, since: str, group: str = GROUP,
                 acl: str = "") -> None:
    """Declare CONTAINER HELP, answering with `lines` between Redis's header and footer."""

    def container_help(client: Client, args: list[bytes]) -> list[str]:
        return help_reply(args, lines)

    command(f"{container_name}|help", 2, flags="loading stale", acl=acl, group=group, since=since,
            summary="Returns helpful text about the different subcommands.",
            complexity="O(1)")(container_help)


def human_bytes(n: int) -> str:
    """Redis's bytesToHuman: 1023B, 1.50K, 2.00M ..."""
    if n < 1024:
        return f"{n}B"
    for power, unit in enumerate("KMGTP", start=1):
        if n < 1024 ** (power + 1) or unit == "P":
            return f"{n / 1024 ** power:.2f}{unit}"
    return f"{n}B"  # unreachable; keeps type checkers content


def lru_clock(ms: int) -> int:
    """Redis's 24-bit LRU clock (seconds resolution), as INFO and DEBUG OBJECT show it."""
    return (ms // 1000) & 0xFFFFFF


def is_local_client(client: Client) -> bool:
    host = client.addr.rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


# -- INFO -------------------------------------------------------------------------------------

Fields = list[tuple[str, Any]]
FieldProvider = Callable[["Server"], dict[str, Any]]

# Feature modules contribute real values here (e.g. the persistence family for "persistence").
_FIELD_PROVIDERS: dict[str, list[FieldProvider]] = {}


def info_fields(section: str) -> Callable[[FieldProvider], FieldProvider]:
    """Register a function giving {field: value} for an INFO section; it replaces the defaults
    of fields with those names and appends any new ones, keeping Redis's field order."""

    def register(provider: FieldProvider) -> FieldProvider:
        _FIELD_PROVIDERS.setdefault(section, []).append(provider)
        return provider

    return register


def _process_rss() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return usage if sys.platform == "darwin" else usage * 1024


def _total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


_STARTUP_MEMORY = _process_rss()  # families load at start-up: this is the empty server's size
# The highest used_memory reported, by what it measures (memory_section): a peak of the process's
# size must not show as the peak of maxmemory's estimate, which is far smaller.
_peaks = {"rss": _STARTUP_MEMORY, "estimate": BASELINE}


def _server_section(server: Server) -> Fields:
    uname = platform.uname()
    uptime = server.uptime()
    config = server.config
    binds = ",".join(f"bind={address}" for address in config["bind"].split())
    return [
        ("redis_version", server.redis_version),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", hashlib.sha1(f"ember-{server.version}".encode()).hexdigest()[:16]),
        ("redis_mode", "standalone"),
        ("os", f"{uname.system} {uname.release} {uname.machine}"),
        ("arch_bits", struct.calcsize("P") * 8),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "kqueue" if sys.platform == "darwin" else "epoll"),
        ("atomicvar_api", "c11-builtin"),
        ("gcc_version", "0.0.0"),  # what Redis prints when not built by GCC
        ("process_id", os.getpid()),
        ("process_supervised", "no"),
        ("run_id", server.run_id),
        ("tcp_port", server.tcp_port),
        ("server_time_usec", time.time_ns() // 1000),
        ("uptime_in_seconds", uptime),
        ("uptime_in_days", uptime // 86400),
        ("hz", config["hz"]),
        ("configured_hz", config["hz"]),
        ("lru_clock", lru_clock(server.clock_ms())),
        ("executable", os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""),
        ("config_file", getattr(config, "config_file", "") or ""),
        ("io_threads_active", 0),
        ("listener0", f"name=tcp,{binds},port={server.tcp_port}"),
        ("ember_version", server.version),
    ]


def _clients_section(server: Server) -> Fields:
    clients = server.clients.values()
    blocking = server.blocking
    return [
        ("connected_clients", len(server.clients)),
        ("cluster_connections", 0),
        ("maxclients", server.config["maxclients"]),
        ("client_recent_max_input_buffer", max((c.query_buffer for c in clients), default=0)),
        ("client_recent_max_output_buffer", 0),
        ("blocked_clients", blocking.blocked_count),
        ("tracking_clients", server.tracking.tracking_clients),
        ("clients_in_timeout_table", sum(1 for w in blocking.waiters.values() if w.timer is not None)),
        ("total_blocking_keys", len(blocking.by_key)),
        ("total_blocking_keys_on_nokey", 0),
    ]


def memory_section(server: Server) -> Fields:
    """While maxmemory is set, used_memory is what eviction compares with it (the estimate of
    server/memory.py), so that INFO and the limit agree as in Redis; otherwise, with no estimate
    kept, it is the process's resident size. used_memory_rss is always the resident size."""
    rss = _process_rss()
    memory = server.memory
    if memory.limit:
        used, startup, measure = memory.used(), BASELINE, "estimate"
    else:
        used, startup, measure = rss, _STARTUP_MEMORY, "rss"
    peak = _peaks[measure] = max(_peaks[measure], used)
    dataset = max(used - startup, 0)
    system = _total_system_memory()
    maxmemory = server.config["maxmemory"]
    client_memory = 1024 * len(server.clients)  # what each CLIENT LIST line reports as tot-mem
    return [
        ("used_memory", used),
        ("used_memory_human", human_bytes(used)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", human_bytes(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", human_bytes(peak)),
        ("used_memory_peak_perc", f"{used * 100 / peak:.2f}%"),
        ("used_memory_overhead", startup + client_memory),
        ("used_memory_startup", startup),
        ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", f"{dataset * 100 / used if used else 0:.2f}%"),
        ("allocator_allocated", used),
        ("allocator_active", used),
        ("allocator_resident", rss),
        ("total_system_memory", system),
        ("total_system_memory_human", human_bytes(system)),
        ("used_memory_lua", 0),
        ("used_memory_vm_eval", 0),
        ("used_memory_lua_human", "0B"),
        ("used_memory_scripts_eval", 0),
        ("number_of_cached_scripts", 0),
        ("number_of_functions", 0),
        ("number_of_libraries", 0),
        ("used_memory_vm_functions", 0),
        ("used_memory_vm_total", 0),
        ("used_memory_vm_total_human", "0B"),
        ("used_memory_functions", 0),
        ("used_memory_scripts", 0),
        ("used_memory_scripts_human", "0B"),
        ("maxmemory", maxmemory),
        ("maxmemory_human", human_bytes(maxmemory)),
        ("maxmemory_policy", server.config.values.get("maxmemory-policy", "noeviction")),
        ("allocator_frag_ratio", "1.00"),
        ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", "1.00"),
        ("allocator_rss_bytes", 0),
        ("rss_overhead_ratio", "1.00"),
        ("rss_overhead_bytes", 0),
        ("mem_fragmentation_ratio", f"{rss / used:.2f}"),
        ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", 0),
        ("mem_replication_backlog", 0),
        ("mem_total_replication_buffers", 0),
        ("mem_clients_slaves", 0),
        ("mem_clients_normal", client_memory),
        ("mem_cluster_links", 0),
        ("mem_aof_buffer", 0),
        ("mem_allocator", "libc"),
        ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
    ]


def _persistence_section(server: Server) -> Fields:
    # Until the persistence family reports through info_fields("persistence"): a server that
    # has never saved, loaded at start-up, with AOF off.
    return [
        ("loading", 0),
        ("async_loading", 0),
        ("current_cow_peak", 0),
        ("current_cow_size", 0),
        ("current_cow_size_age", 0),
        ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", 0),
        ("current_save_keys_total", 0),
        ("rdb_changes_since_last_save", server.dirty),
        ("rdb_bgsave_in_progress", 0),
        ("rdb_last_save_time", int(server.start_time)),
        ("rdb_last_bgsave_status", "ok"),
        ("rdb_last_bgsave_time_sec", -1),
        ("rdb_current_bgsave_time_sec", -1),
        ("rdb_saves", 0),
        ("rdb_last_cow_size", 0),
        ("rdb_last_load_keys_expired", 0),
        ("rdb_last_load_keys_loaded", 0),
        ("aof_enabled", 0),
        ("aof_rewrite_in_progress", 0),
        ("aof_rewrite_scheduled", 0),
        ("aof_last_rewrite_time_sec", -1),
        ("aof_current_rewrite_time_sec", -1),
        ("aof_last_bgrewrite_status", "ok"),
        ("aof_rewrites", 0),
        ("aof_rewrites_consecutive_failures", 0),
        ("aof_last_write_status", "ok"),
        ("aof_last_cow_size", 0),
        ("module_fork_in_progress", 0),
        ("module_fork_last_cow_size", 0),
    ]


def _stats_section(server: Server) -> Fields:
    stats = server.stats
    pubsub = server.pubsub
    tracking = server.tracking
    exceeded_total_ms, exceeded_current_ms = server.memory.exceeded_times_ms()
    return [
        ("total_connections_received", stats.total_connections_received),
        ("total_commands_processed", stats.total_commands_processed),
        ("instantaneous_ops_per_sec", stats.instantaneous_ops_per_sec()),
        ("total_net_input_bytes", stats.total_net_input_bytes),
        ("total_net_output_bytes", stats.total_net_output_bytes),
        ("total_net_repl_input_bytes", 0),
        ("total_net_repl_output_bytes", 0),
        ("instantaneous_input_kbps", "0.00"),
        ("instantaneous_output_kbps", "0.00"),
        ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"),
        ("rejected_connections", stats.rejected_connections),
        ("sync_full", 0),
        ("sync_partial_ok", 0),
        ("sync_partial_err", 0),
        ("expired_keys", stats.expired_keys),
        ("expired_stale_perc", f"{stats.expired_stale_perc * 100:.2f}"),
        ("expired_time_cap_reached_count", stats.expired_time_cap_reached_count),
        ("expire_cycle_cpu_milliseconds", stats.expire_cycle_cpu_milliseconds),
        ("evicted_keys", stats.evicted_keys),
        ("evicted_clients", stats.evicted_clients),
        ("total_eviction_exceeded_time", exceeded_total_ms),
        ("current_eviction_exceeded_time", exceeded_current_ms),
        ("keyspace_hits", stats.keyspace_hits),
        ("keyspace_misses", stats.keyspace_misses),
        ("pubsub_channels", len(pubsub.channels)),
        ("pubsub_patterns", len(pubsub.patterns)),
        ("pubsubshard_channels", len(pubsub.shard_channels)),
        ("latest_fork_usec", 0),
        ("total_forks", 0),
        ("migrate_cached_sockets", 0),
        ("slave_expires_tracked_keys", 0),
        ("active_defrag_hits", 0),
        ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0),
        ("tracking_total_keys", len(tracking.readers)),
        ("tracking_total_items", sum(len(readers) for readers in tracking.readers.values())),
        ("tracking_total_prefixes", len(tracking.prefixes)),
        ("unexpected_error_replies", stats.unexpected_error_replies),
        ("total_error_replies", stats.total_error_replies),
        ("dump_payload_sanitizations", 0),
        ("total_reads_processed", stats.total_reads_processed),
        ("total_writes_processed", stats.total_writes_processed),
        ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0),
        ("reply_buffer_shrinks", 0),
        ("reply_buffer_expands", 0),
        ("eventloop_cycles", 0),
        ("eventloop_duration_sum", 0),
        ("eventloop_duration_cmd_sum", sum(cmd.nsec for cmd in TABLE.all()) // 1000),
        ("instantaneous_eventloop_cycles_per_sec", 0),
        ("instantaneous_eventloop_duration_usec", 0),
        ("acl_access_denied_auth", stats.acl_access_denied_auth),
        ("acl_access_denied_cmd", 0),
        ("acl_access_denied_key", 0),
        ("acl_access_denied_channel", 0),
    ]


def replication_id(server: Server) -> str:
    """The master replication ID: 40 hex digits, fixed for the life of the process."""
    return hashlib.sha1(f"replid-{server.run_id}".encode()).hexdigest()


def _replication_section(server: Server) -> Fields:
    return [
        ("role", "master"),
        ("connected_slaves", 0),
        ("master_failover_state", "no-failover"),
        ("master_replid", replication_id(server)),
        ("master_replid2", "0" * 40),
        ("master_repl_offset", 0),
        ("second_repl_offset", -1),
        ("repl_backlog_active", 0),
        ("repl_backlog_size", server.config.values.get("repl-backlog-size", 1048576)),
        ("repl_backlog_first_byte_offset", 0),
        ("repl_backlog_histlen", 0),
    ]


def _cpu_section(server: Server) -> Fields:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    fields: Fields = [
        ("used_cpu_sys", f"{own.ru_stime:.6f}"),
        ("used_cpu_user", f"{own.ru_utime:.6f}"),
        ("used_cpu_sys_children", f"{children.ru_stime:.6f}"),
        ("used_cpu_user_children", f"{children.ru_utime:.6f}"),
    ]
    thread_usage = getattr(resource, "RUSAGE_THREAD", None)
    if thread_usage is not None:  # Linux, as in Redis
        main = resource.getrusage(thread_usage)
        fields += [("used_cpu_sys_main_thread", f"{main.ru_stime:.6f}"),
                   ("used_cpu_user_main_thread", f"{main.ru_utime:.6f}")]
    return fields


def _no_fields(server: Server) -> Fields:
    return []


def _commandstats_section(server: Server) -> Fields:
    fields: Fields = []
    for cmd in TABLE.all():
        if cmd.calls or cmd.failed_calls or cmd.rejected_calls:
            usec = cmd.nsec // 1000
            per_call = cmd.nsec / 1000 / cmd.calls if cmd.calls else 0.0
            fields.append((f"cmdstat_{cmd.name}",
                           f"calls={cmd.calls},usec={usec},usec_per_call={per_call:.2f},"
                           f"rejected_calls={cmd.rejected_calls},failed_calls={cmd.failed_calls}"))
    return fields


def _latencystats_section(server: Server) -> Fields:
    percentiles = server.config["latency-tracking-info-percentiles"]
    return [(f"latency_percentiles_usec_{cmd.name}", percentiles_text(cmd.latency, percentiles))
            for cmd in TABLE.all() if cmd.latency]


def _errorstats_section(server: Server) -> Fields:
    errors = server.stats.errors
    return [(f"errorstat_{code}", f"count={errors[code]}") for code in sorted(errors)]


def _cluster_section(server: Server) -> Fields:
    return [("cluster_enabled", 0)]


def _keyspace_section(server: Server) -> Fields:
    return [(f"db{db.id}", f"keys={len(db)},expires={len(db.expires)},avg_ttl={db.avg_ttl}")
            for db in server.dbs if len(db)]


@dataclass(frozen=True)
class InfoSection:
    title: str
    build: Callable[[Server], Fields]
    aliases: tuple[str, ...]  # the names that select it


# Redis 7.2's sections, in its order.
INFO_SECTIONS: dict[str, InfoSection] = {
    "server": InfoSection("Server", _server_section, ("server",)),
    "clients": InfoSection("Clients", _clients_section, ("clients",)),
    "memory": InfoSection("Memory", memory_section, ("memory",)),
    "persistence": InfoSection("Persistence", _persistence_section, ("persistence",)),
    "stats": InfoSection("Stats", _stats_section, ("stats",)),
    "replication": InfoSection("Replication", _replication_section, ("replication",)),
    "cpu": InfoSection("CPU", _cpu_section, ("cpu",)),
    "modules": InfoSection("Modules", _no_fields, ("module_list", "modules")),
    "commandstats": InfoSection("Commandstats", _commandstats_section, ("commandstats",)),
    "errorstats": InfoSection("Errorstats", _errorstats_section, ("errorstats",)),
    "latencystats": InfoSection("Latencystats", _latencystats_section, ("latencystats",)),
    "cluster": InfoSection("Cluster", _cluster_section, ("cluster",)),
    "keyspace": InfoSection("Keyspace", _keyspace_section, ("keyspace",)),
}
DEFAULT_SECTIONS = frozenset(("server", "clients", "memory", "persistence", "stats", "replication",
                              "cpu", "module_list", "errorstats", "cluster", "keyspace"))


def requested_sections(args: list[bytes]) -> tuple[set[str], bool]:
    """The section names asked for (lower case) and whether 'all'/'everything' was among them."""
    if not args:
        return set(DEFAULT_SECTIONS), False
    names: set[str] = set()
    everything = False
    for raw in args:
        name = raw.decode("utf-8", "replace").lower()
        if name == "default":
            names |= DEFAULT_SECTIONS
        elif name in ("all", "everything"):
            everything = True
        else:
            names.add(name)
    return names, everything


def section_fields(server: Server, key: str) -> Fields:
    """A section's fields: the built-in ones, updated by any registered providers."""
    fields = INFO_SECTIONS[key].build(server)
    providers = _FIELD_PROVIDERS.get(key)
    if providers:
        values = dict(fields)
        for provider in providers:
            values.update(provider(server))
        fields = list(values.items())
    return fields


def info_text(server: Server, args: list[bytes]) -> str:
    names, everything = requested_sections(args)
    blocks = []
    for key, section in INFO_SECTIONS.items():
        if everything or any(alias in names for alias in section.aliases):
            lines = [f"# {section.title}"]
            lines.extend(f"{name}:{value}" for name, value in section_fields(server, key))
            blocks.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(blocks)


@command("info", -1, flags="loading stale", acl="dangerous", group=GROUP, since="1.0.0",
         summary="Returns information and statistics about the server.", complexity="O(1)")
def info(client: Client, args: list[bytes]):
    return Verbatim(info_text(client.server, args[1:]).encode())


# -- TIME, LOLWUT ------------------------------------------------------------------------------


@command("time", 1, flags="loading stale fast", group=GROUP, since="2.6.0",
         summary="Returns the server time.", complexity="O(1)")
def time_(client: Client, args: list[bytes]):
    now_us = time.time_ns() // 1000
    return [b"%d" % (now_us // 1_000_000), b"%d" % (now_us % 1_000_000)]


# Glow levels of an ember, from cold to white hot.
_GLOW = " .:-=+*#%@"


def ember_art(columns: int, rows: int, seed: int) -> str:
    """A bed of embers: heat rises from the bottom row and cools as it drifts upward.

    Each cell takes the heat of the three cells below it (with a random sideways drift), loses
    a random amount, and is drawn with the glyph of its heat, so every call gives a new fire.
    """
    rng = random.Random(seed)
    heat = [[0.0] * columns for _ in range(rows)]
    heat[-1] = [rng.uniform(0.55, 1.0) for _ in range(columns)]
    for row in range(rows - 2, -1, -1):
        below = heat[row + 1]
        for col in range(columns):
            left, right = below[max(col - 1, 0)], below[min(col + 1, columns - 1)]
            drift = rng.choice((left, below[col], below[col], right))
            heat[row][col] = max(0.0, (left + below[col] + right + drift) / 4 - rng.uniform(0.0, 0.11))
    top = len(_GLOW) - 1
    return "\n".join("".join(_GLOW[min(top, int(cell * top + 0.5))] for cell in line).rstrip()
                     for line in heat)


def _lolwut_size(args: list[bytes], index: int, default: int) -> int:
    """An optional size argument, clamped to 1..1000 as Redis clamps LOLWUT's."""
    if index >= len(args):
        return default
    return min(max(parse_int(args[index]), 1), 1000)


@command("lolwut", -1, flags="readonly fast", group=GROUP, since="5.0.0",
         summary="Displays computer art and the server's version.")
def lolwut(client: Client, args: list[bytes]):
    version = 0
    rest = args[1:]
    if len(args) > 2 and args[1].lower() == b"version":
        version = parse_int(args[2])
        rest = args[3:]
    columns = _lolwut_size(rest, 0, 60)
    rows = _lolwut_size(rest, 1, 12)
    art = ember_art(columns, rows, seed=random.getrandbits(32) ^ version)
    server = client.server
    return Verbatim(f"{art}\n\nEmber ver. {server.version} (Redis ver. {server.redis_version})\n".encode())


# -- DEBUG ------------------------------------------------------------------------------------

DEBUG_NOT_ALLOWED = (
    'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can '
    "run it from a local connection, otherwise you need to set this option in the configuration "
    "file, and then restart the server.")


@dataclass(frozen=True)
class DebugSubcommand:
    handler: Callable[[Client, list[bytes]], Any]
    arity: int  # as command arity, counting "DEBUG" and the subcommand name
    help: tuple[str, ...]


DEBUG_SUBCOMMANDS: dict[bytes, DebugSubcommand] = {}


def debug_subcommand(name: str, arity: int, *help_lines: str) -> Callable:
    """Register a DEBUG subcommand (lower-case name) with the HELP lines that describe it."""

    def register(handler: Callable[[Client, list[bytes]], Any]) -> Callable:
        DEBUG_SUBCOMMANDS[name.encode()] = DebugSubcommand(handler, arity, help_lines)
        return handler

    return register


def debug_allowed(client: Client) -> bool:
    setting = client.server.config["enable-debug-command"]
    return setting == "yes" or (setting == "local" and is_local_client(client))


@command("debug", -2, flags=ADMIN_FLAGS + " protected", group=GROUP, since="1.0.0",
         summary="A container for debugging commands.", complexity="Depends on subcommand.")
def debug(client: Client, args: list[bytes]):
    if not debug_allowed(client):
        raise CommandError(DEBUG_NOT_ALLOWED)
    sub = DEBUG_SUBCOMMANDS.get(args[1].lower())
    if sub is None or not (len(args) == sub.arity if sub.arity >= 0 else len(args) >= -sub.arity):
        raise subcommand_syntax_error(args)
    return sub.handler(client, args)


@debug_subcommand("help", 2)
def debug_help(client: Client, args: list[bytes]):
    lines = [line for name in sorted(DEBUG_SUBCOMMANDS) for line in DEBUG_SUBCOMMANDS[name].help]
    return help_reply(args, lines)


_LEADING_FLOAT = re.compile(rb"\s*[-+]?(?:inf(?:inity)?|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)", re.I)


def strtod_prefix(raw: bytes) -> float:
    """C's strtod as Redis uses it here: the longest numeric prefix, 0 when there is none."""
    match = _LEADING_FLOAT.match(raw)
    return float(match.group().strip()) if match else 0.0


@debug_subcommand("sleep", 3, "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.")
def debug_sleep(client: Client, args: list[bytes]):
    seconds = strtod_prefix(args[2])
    if seconds > 0 and seconds == seconds and seconds != float("inf"):
        time.sleep(seconds)  # blocks the event loop on purpose: that is what DEBUG SLEEP is for
    return "OK"


@debug_subcommand(
    "set-active-expire", 3, "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.")
def debug_set_active_expire(client: Client, args: list[bytes]):
    # Redis reads the flag with atoi: anything that is not a non-zero number turns it off.
    client.server.active_expire_enabled = bool(int(strtod_prefix(args[2])))
    return "OK"


def string_encoding(value: bytes | bytearray) -> str:
    """OBJECT ENCODING of a string: int, embstr (<= 44 bytes) or raw (bytearray is raw)."""
    if value.__class__ is bytearray:
        return "raw"
    if len(value) <= 20:
        try:
            number = parse_int(bytes(value))
        except CommandError:
            number = None
        if number is not None:
            return "int"
    return "embstr" if len(value) <= 44 else "raw"


def _rdb_length_size(length: int) -> int:
    return 1 if length < 64 else 2 if length < 16384 else 5


def _string_serialized_length(value: bytes | bytearray) -> int:
    """Bytes the RDB form of a string takes (no compression): Redis's DEBUG OBJECT figure.

    Integers that fit 8, 16 or 32 bits are stored as one type byte plus that many bytes."""
    if string_encoding(value) == "int":
        number = int(value)
        for size in (1, 2, 4):
            if -(1 << (8 * size - 1)) <= number < 1 << (8 * size - 1):
                return 1 + size
    return _rdb_length_size(len(value)) + len(value)


@debug_subcommand("object", 3, "OBJECT <key>", "    Show low level info about `key` and associated value.")
def debug_object(client: Client, args: list[bytes]):
    db = client.db
    value = db.lookup(args[2])
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    server = client.server
    if isinstance(value, (bytes, bytearray)):
        encoding = string_encoding(value)
        serialized = _string_serialized_length(value)
        shared = encoding == "int" and 0 <= int(value) < 10000  # Redis's shared integers
    else:
        encoding = value.encoding(server)
        serialized = len(value) if hasattr(value, "__len__") else 0
        shared = False
    now = server.clock_ms()
    accessed = db.lru.get(args[2], now)
    return (f"Value at:{id(value):#x} refcount:{2147483647 if shared else 1} encoding:{encoding} "
            f"serializedlength:{serialized} lru:{lru_clock(accessed)} "
            f"lru_seconds_idle:{max(now - accessed, 0) // 1000}")


@debug_subcommand("log", 3, "LOG <message>", "    Write <message> to the server log.")
def debug_log(client: Client, args: list[bytes]):
    log.warning("DEBUG LOG: %s", args[2].decode("utf-8", "replace"))
    return "OK"


@debug_subcommand(
    "error", 3, "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.")
def debug_error(client: Client, args: list[bytes]):
    return CommandError(args[2].decode("utf-8", "surrogateescape"))


def _protocol_push(client: Client) -> Any:
    if client.resp < 3:
        raise CommandError("ERR RESP2 is not supported by this command")
    client.add_reply(Push([b"server-cpu-usage", 42]))
    return b"Some real reply following the push reply"


_PROTOCOL_SAMPLES: dict[bytes, Callable[[Client], Any]] = {
    b"string": lambda client: b"Hello World",
    b"integer": lambda client: 12345,
    b"double": lambda client: 3.141,
    b"bignum": lambda client: BigNumber(1234567999999999999999999999999999999),
    b"null": lambda client: None,
    b"array": lambda client: [0, 1, 2],
    b"set": lambda client: SetReply([0, 1, 2]),
    b"map": lambda client: {0: Bool(False), 1: Bool(True), 2: Bool(False)},
    b"push": _protocol_push,
    b"verbatim": lambda client: Verbatim(b"This is a verbatim\nstring"),
    b"true": lambda client: Bool(True),
    b"false": lambda client: Bool(False),
}


@debug_subcommand(
    "protocol", 3, "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, push, verbatim, true, false.")
def debug_protocol(client: Client, args: list[bytes]):
    sample = _PROTOCOL_SAMPLES.get(args[2].lower())
    if sample is None:
        raise CommandError("ERR Wrong protocol type name. Please use one of the following: "
                           "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
    return sample(client)


# -- SLOWLOG ----------------------------------------------------------------------------------

container("slowlog", -2, group=GROUP, since="2.2.12",
          summary="A container for slow log commands.")

_SLOWLOG_FLAGS = "admin loading stale"


@command("slowlog|get", -2, flags=_SLOWLOG_FLAGS, group=GROUP, since="2.2.12",
         summary="Returns the slow log's entries.",
         complexity="O(N) where N is the number of entries returned")
def slowlog_get(client: Client, args: list[bytes]):
    if len(args) > 3:
        raise subcommand_syntax_error(args)
    count = 10
    if len(args) == 3:
        error = "ERR count should be greater than or equal to -1"
        count = parse_int(args[2], error)
        if count < -1:
            raise CommandError(error)
    entries = list(client.server.slowlog)
    if count != -1:
        entries = entries[:count]
    return [[e.id, e.timestamp, e.duration_us, list(e.args), e.peer.encode(), e.client_name.encode()]
            for e in entries]


@command("slowlog|len", 2, flags=_SLOWLOG_FLAGS, group=GROUP, since="2.2.12",
         summary="Returns the number of entries in the slow log.", complexity="O(1)")
def slowlog_len(client: Client, args: list[bytes]):
    return len(client.server.slowlog)


@command("slowlog|reset", 2, flags=_SLOWLOG_FLAGS, group=GROUP, since="2.2.12",
         summary="Clears all entries from the slow log.",
         complexity="O(N) where N is the number of entries in the slowlog")
def slowlog_reset(client: Client, args: list[bytes]):
    client.server.slowlog.clear()
    return "OK"


_SLOWLOG_HELP = (
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
)

declare_help("slowlog", _SLOWLOG_HELP, since="6.2.0")


# -- LATENCY ----------------------------------------------------------------------------------

container("latency", -2, group=GROUP, since="2.8.13",
          summary="A container for latency diagnostics commands.")


def _latency_samples(server: Server, event: bytes) -> Any:
    return server.latency_events.get(event.decode("utf-8", "replace"))


@command("latency|latest", 2, flags=ADMIN_FLAGS, group=GROUP, since="2.8.13",
         summary="Returns the latest latency samples for all events.", complexity="O(1)")
def latency_latest(client: Client, args: list[bytes]):
    return [[event.encode(), samples[-1][0], samples[-1][1], max(s[1] for s in samples)]
            for event, samples in client.server.latency_events.items() if samples]


@command("latency|history", 3, flags=ADMIN_FLAGS, group=GROUP, since="2.8.13",
         summary="Returns timestamp-latency samples for an event.", complexity="O(1)")
def latency_history(client: Client, args: list[bytes]):
    samples = _latency_samples(client.server, args[2]) or ()
    return [[when, latency] for when, latency in samples]


@command("latency|reset", -2, flags=ADMIN_FLAGS, group=GROUP, since="2.8.13",
         summary="Resets the latency data for one or more events.", complexity="O(1)")
def latency_reset(client: Client, args: list[bytes]):
    events = client.server.latency_events
    if len(args) == 2:
        count = len(events)
        events.clear()
        return count
    names = {arg.decode("utf-8", "replace") for arg in args[2:]}
    return sum(1 for name in names if events.pop(name, None) is not None)


def latency_graph_text(event: str, samples: list[tuple[int, int]], now: int, height: int = 8) -> str:
    """A bar chart of an event's samples, oldest on the left, with each bar's age below it."""
    values = [latency for _, latency in samples]
    high, low = max(values), min(values)
    lines = [f"{event} - high {high} ms, low {low} ms (all time high {high} ms)",
             "-" * 80]
    for level in range(height, 0, -1):
        threshold = high * (level - 0.5) / height
        lines.append("".join("#" if value >= threshold else " " for value in values).rstrip())
    lines.append("".join("_" for _ in values))
    ages = [_short_age(now - when) for when, _ in samples]
    width = max(len(age) for age in ages)
    for position in range(width):  # ages written vertically, one character per row
        lines.append("".join(age[position] if position < len(age) else " " for age in ages).rstrip())
    return "\n".join(lines) + "\n"


def _short_age(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@command("latency|graph", 3, flags=ADMIN_FLAGS, group=GROUP, since="2.8.13",
         summary="Returns a latency graph for an event.", complexity="O(1)")
def latency_graph(client: Client, args: list[bytes]):
    samples = _latency_samples(client.server, args[2])
    if not samples:
        raise CommandError(f"ERR No samples available for event '{args[2].decode('utf-8', 'replace')}'")
    text = latency_graph_text(args[2].decode("utf-8", "replace"), list(samples), int(time.time()))
    return Verbatim(text.encode())


def latency_report(server: Server) -> str:
    """LATENCY DOCTOR: what was measured, and what to look at next."""
    threshold = server.latency_threshold_ms
    events = {name: list(samples) for name, samples in server.latency_events.items() if samples}
    if not events:
        if not threshold:
            return ("The latency monitor is off (latency-monitor-threshold is 0), so there is "
                    "nothing to report. Turn it on with CONFIG SET latency-monitor-threshold "
                    "<milliseconds>.\n")
        return (f"No event took {threshold} ms or longer since the server started or since the "
                "last LATENCY RESET. Nothing to worry about.\n")
    lines = [f"Latency report (events slower than {threshold} ms):", ""]
    for number, (name, samples) in enumerate(sorted(events.items()), start=1):
        values = [latency for _, latency in samples]
        lines.append(f"{number}. {name}: {len(values)} spikes, latest {values[-1]} ms, "
                     f"worst {max(values)} ms, average {sum(values) // len(values)} ms.")
    lines += ["", "Next steps:",
              "- SLOWLOG GET lists the slowest commands and their arguments.",
              "- Commands that scan whole collections (KEYS, SMEMBERS, HGETALL, LRANGE 0 -1 ...) "
              "grow with the data; SCAN and friends do the same work in small steps.",
              "- DEBUG SLEEP and large DEL/FLUSHALL calls also stall the server while they run."]
    return "\n".join(lines) + "\n"


@command("latency|doctor", 2, flags=ADMIN_FLAGS, group=GROUP, since="2.8.13",
         summary="Returns a human-readable latency analysis report.", complexity="O(1)")
def latency_doctor(client: Client, args: list[bytes]):
    return Verbatim(latency_report(client.server).encode())


@command("latency|histogram", -2, flags=ADMIN_FLAGS, group=GROUP, since="7.0.0",
         summary="Returns the cumulative distribution of latencies of a subset or all commands.",
         complexity="O(N) where N is the number of commands with latency information being retrieved.")
def latency_histogram(client: Client, args: list[bytes]):
    """Each named command (a container brings its subcommands) or, with no names, every
    command with calls recorded: its calls and their power-of-two CDF. Unknown names are
    skipped, as in Redis."""
    if len(args) == 2:
        commands = TABLE.all()
    else:
        commands = []
        for name in args[2:]:
            cmd = find_command(name)
            if cmd is not None:
                commands.append(cmd)
                commands.extend(cmd.subcommands.values())
    return {cmd.name.encode(): {b"calls": sum(cmd.latency.values()),
                                b"histogram_usec": cumulative_distribution(cmd.latency)}
            for cmd in commands if cmd.latency}


_LATENCY_HELP = (
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
)

declare_help("latency", _LATENCY_HELP, since="2.8.13")


# -- MONITOR, SHUTDOWN ------------------------------------------------------------------------


@command("monitor", 1, flags=ADMIN_FLAGS, group=GROUP, since="1.0.0",
         summary="Listens for all requests received by the server in real-time.")
def monitor(client: Client, args: list[bytes]):
    if client.in_exec:  # a transaction may not block or stream (Redis's DENY BLOCKING clients)
        raise CommandError("ERR MONITOR isn't allowed for DENY BLOCKING client")
    if client.monitor:
        return NO_REPLY  # Redis ignores MONITOR from a client that already monitors
    client.server.add_monitor(client)
    return "OK"


SHUTDOWN_OPTIONS = frozenset((b"nosave", b"save", b"now", b"force", b"abort"))


@command("shutdown", -1, flags=ADMIN_FLAGS + " no_multi allow_busy", group=GROUP, since="1.0.0",
         summary="Synchronously saves the database(s) to disk and shuts down the server.",
         complexity="O(N) when saving, where N is the total number of keys in all databases "
                    "when saving data, otherwise O(1)")
def shutdown(client: Client, args: list[bytes]):
    options = set()
    for arg in args[1:]:
        option = arg.lower()
        if option not in SHUTDOWN_OPTIONS:
            raise CommandError(SYNTAX)
        options.add(option)
    if (b"abort" in options and len(options) > 1) or {b"save", b"nosave"} <= options:
        raise CommandError(SYNTAX)
    if b"abort" in options:
        # Ember shuts down at once (no replicas to wait for), so nothing is ever in progress.
        raise CommandError("ERR No shutdown in progress.")
    server = client.server
    log.warning("User requested shutdown...")
    from ..persistence.snapshot import prepare_for_shutdown  # persistence builds on this module

    if not prepare_for_shutdown(server, save_flag=b"save" in options, nosave=b"nosave" in options,
                                force=b"force" in options):
        raise CommandError("ERR Errors trying to SHUTDOWN. Check logs.")
    server.request_shutdown(0)
    return NO_REPLY


# -- COMMAND ----------------------------------------------------------------------------------

# The flags COMMAND INFO shows, in Redis's order (may_replicate, sentinel, protected and
# touches_arbitrary_keys are internal and never shown).
VISIBLE_FLAGS = ("write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
                 "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
                 "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys", "allow_busy")


def key_spec_flags(cmd: Command) -> list[str]:
    """Key access flags derived from the command flags (the table has no per-key flags)."""
    return ["RW", "update"] if "write" in cmd.flags else ["RO", "access"]


def key_specs(cmd: Command) -> list[dict]:
    """The command's key specs, built from its (first, last, step) or movable-key declaration."""
    flags = SetReply(key_spec_flags(cmd))
    if cmd.get_keys is not None:
        unknown = {b"type": b"unknown", b"spec": {}}
        return [{b"flags": flags, b"begin_search": unknown, b"find_keys": dict(unknown)}]
    if cmd.first_key == 0:
        return []
    last = cmd.last_key - cmd.first_key if cmd.last_key >= 0 else cmd.last_key
    return [{
        b"flags": flags,
        b"begin_search": {b"type": b"index", b"spec": {b"index": cmd.first_key}},
        b"find_keys": {b"type": b"range",
                       b"spec": {b"lastkey": last, b"keystep": cmd.key_step, b"limit": 0}},
    }]


def command_info(cmd: Command) -> list:
    """One COMMAND INFO entry: Redis 7's ten fields."""
    return [
        cmd.name.encode(),
        cmd.arity,
        SetReply(flag for flag in VISIBLE_FLAGS if flag in cmd.flags),
        cmd.first_key,
        cmd.last_key,
        cmd.key_step,
        SetReply(f"@{category}" for category in cmd.acl_categories),
        [],  # tips: the table has none yet
        key_specs(cmd),
        [command_info(sub) for sub in cmd.subcommands.values()],
    ]


def command_docs(cmd: Command) -> dict:
    docs: dict[bytes, Any] = {b"summary": cmd.summary.encode(), b"since": cmd.since.encode(),
                              b"group": cmd.group.encode()}
    if cmd.complexity:
        docs[b"complexity"] = cmd.complexity.encode()
    if cmd.subcommands:
        docs[b"subcommands"] = {sub.name.encode(): command_docs(sub) for sub in cmd.subcommands.values()}
    return docs


def find_command(name: bytes) -> Command | None:
    """A command by name, or a subcommand by 'parent|sub' (Redis's lookupCommandBySds)."""
    parent_name, bar, sub_name = name.lower().partition(b"|")
    cmd = TABLE.lookup(parent_name)
    if cmd is None or not bar:
        return cmd
    return cmd.subcommands.get(sub_name)


def command_default(client: Client, args: list[bytes]):
    """COMMAND with no subcommand: every command's info."""
    return [command_info(cmd) for cmd in TABLE.commands.values()]


container("command", -1, acl="connection", flags="loading stale", group=GROUP, since="2.8.13",
          summary="Returns detailed information about all commands.", handler=command_default)

_COMMAND_FLAGS = "loading stale"


@command("command|count", 2, flags=_COMMAND_FLAGS, acl="connection", group=GROUP, since="2.8.13",
         summary="Returns a count of commands.", complexity="O(1)")
def command_count(client: Client, args: list[bytes]):
    return len(TABLE.commands)


@command("command|info", -2, flags=_COMMAND_FLAGS, acl="connection", group=GROUP, since="2.8.13",
         summary="Returns information about one, multiple or all commands.",
         complexity="O(N) where N is the number of commands to look up")
def command_info_cmd(client: Client, args: list[bytes]):
    if len(args) == 2:
        return command_default(client, args)
    found = (find_command(name) for name in args[2:])
    return [command_info(cmd) if cmd is not None else None for cmd in found]


@command("command|docs", -2, flags=_COMMAND_FLAGS, acl="connection", group=GROUP, since="7.0.0",
         summary="Returns documentary information about one, multiple or all commands.",
         complexity="O(N) where N is the number of commands to look up")
def command_docs_cmd(client: Client, args: list[bytes]):
    if len(args) == 2:
        commands: Iterable[Command] = TABLE.commands.values()
    else:
        commands = (cmd for cmd in (find_command(name) for name in args[2:]) if cmd is not None)
    return {cmd.name.encode(): command_docs(cmd) for cmd in commands}


def _glob_to_regex(pattern: bytes) -> re.Pattern[bytes]:
    """Redis's stringmatch glob (*, ?, [a-z], [^x], backslash escapes) as a regex."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        ch = pattern[i:i + 1]
        if ch == b"*":
            out.append(b".*")
        elif ch == b"?":
            out.append(b".")
        elif ch == b"\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i:i + 1]))
        elif ch == b"[":
            end = pattern.find(b"]", i + 2 if pattern[i + 1:i + 2] in (b"^", b"]") else i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                negate = body.startswith(b"^")
                body = body[1:] if negate else body
                escaped = re.sub(rb"([\\\]\[^])", rb"\\\1", body)
                out.append(b"[" + (b"^" if negate else b"") + escaped + b"]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile(b"".join(out) + rb"\Z", re.DOTALL | re.IGNORECASE)


def _command_filter(args: list[bytes]) -> Callable[[Command], bool]:
    if len(args) == 2:
        return lambda cmd: True
    if len(args) != 5 or args[2].lower() != b"filterby":
        raise CommandError(SYNTAX)
    kind, value = args[3].lower(), args[4]
    if kind == b"module":
        return lambda cmd: False  # Ember has no modules
    if kind == b"aclcat":
        category = value.decode("utf-8", "replace").lower()
        return lambda cmd: category in cmd.acl_categories
    if kind == b"pattern":
        regex = _glob_to_regex(value)
        return lambda cmd: regex.match(cmd.name.encode()) is not None
    raise CommandError(SYNTAX)


@command("command|list", -2, flags=_COMMAND_FLAGS, acl="connection", group=GROUP, since="7.0.0",
         summary="Returns a list of command names.",
         complexity="O(N) where N is the total number of Redis commands")
def command_list(client: Client, args: list[bytes]):
    keep = _command_filter(args)
    return [cmd.name.encode() for cmd in TABLE.all() if keep(cmd)]


def key_positions_for(args: list[bytes]) -> tuple[Command, list[int]]:
    """The command a GETKEYS call names and the positions of its keys, or Redis's errors."""
    target = args[2:]
    cmd = TABLE.lookup_path(target)
    if cmd is None:
        raise CommandError("ERR Invalid command specified")
    if cmd.first_key == 0 and cmd.get_keys is None:
        raise CommandError("ERR The command has no key arguments")
    if not cmd.arity_ok(len(target)):
        raise CommandError("ERR Invalid number of arguments specified for command")
    try:
        positions = cmd.key_positions(target)
    except Exception:  # a key finder refusing malformed arguments (e.g. a bad numkeys)
        raise CommandError("ERR Invalid arguments specified for command") from None
    return cmd, positions


@command("command|getkeys", -4, flags=_COMMAND_FLAGS, acl="connection", group=GROUP, since="2.8.13",
         summary="Extracts the key names from an arbitrary command.",
         complexity="O(N) where N is the number of arguments to the command")
def command_getkeys(client: Client, args: list[bytes]):
    _, positions = key_positions_for(args)
    return [args[2 + position] for position in positions]


@command("command|getkeysandflags", -4, flags=_COMMAND_FLAGS, acl="connection", group=GROUP,
         since="7.0.0", summary="Extracts the key names and access flags for an arbitrary command.",
         complexity="O(N) where N is the number of arguments to the command")
def command_getkeysandflags(client: Client, args: list[bytes]):
    cmd, positions = key_positions_for(args)
    flags = key_spec_flags(cmd)
    return [[args[2 + position], SetReply(flags)] for position in positions]


_COMMAND_HELP = (
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
)

declare_help("command", _COMMAND_HELP, since="5.0.0", acl="connection")
