"""The command table: every command declared once, with everything the server derives from it.

A declaration gives name, arity, flags, key positions, ACL categories, group, since-version and a
summary. From it come: dispatch and arity checks, COMMAND (INFO/DOCS/LIST/COUNT/GETKEYS), ACL
categories, MULTI queuing rules, `denyoom`, write propagation and INFO commandstats. Adding a
command is one `@command` declaration on its handler.

Subcommands are declared as "container|sub" (e.g. "config|get"); the container itself is declared
with `container()` and has no handler of its own, as in Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..protocol.numbers import parse_float, parse_int

__all__ = ["TABLE", "Command", "CommandTable", "command", "container", "parse_float", "parse_int"]

if TYPE_CHECKING:
    from ..server.client import Client

Handler = Callable[["Client", list[bytes]], Any]
KeyFinder = Callable[[list[bytes]], list[int]]

# Redis prints ACL categories in the order of its category table.
ACL_CATEGORY_ORDER = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting",
)

KNOWN_FLAGS = frozenset(
    ["write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth", "may_replicate", "sentinel", "only_sentinel", "no_mandatory_keys", "protected", "touches_arbitrary_keys", "no_async_loading", "no_multi", "movablekeys", "allow_busy"]
)


# Keyless commands that may skip admission checks too: health checks, sent as often as GET, and
# PUBLISH (a Celery task publishes its result inside MULTI).
_LEAN_KEYLESS = frozenset(("ping", "echo", "publish"))


@dataclass(eq=False, slots=True)
class Command:
    name: str  # lower case; "parent|sub" for subcommands
    handler: Handler | None
    arity: int
    flags: frozenset[str]
    first_key: int
    last_key: int
    key_step: int
    acl_categories: tuple[str, ...]
    group: str
    since: str
    summary: str
    complexity: str = ""
    get_keys: KeyFinder | None = None  # for commands whose keys move (EVAL, ZUNION, XREAD...)
    subcommands: dict[bytes, Command] = field(default_factory=dict)
    # The arity as the range of len(args) it allows, set from arity: one `in` on the hot path
    # instead of a branch on the sign.
    argc: range = range(0)
    # INFO commandstats
    calls: int = 0
    # Shown as usec, summed in ns so that a call costs no division. Redis sums whole µs per
    # call, so its total can be lower by up to 1 µs a call; nobody reads these to the µs.
    nsec: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0
    # INFO latencystats and LATENCY HISTOGRAM: recorded call durations (server/latency_histogram)
    latency: dict[int, int] = field(default_factory=dict)
    # Documented as O(1): its calls in a row may be timed as a group (dispatch.run_lean).
    constant_time: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.argc = range(abs(self.arity), (self.arity if self.arity >= 0 else 2**31) + 1)
        self.constant_time = self.complexity == "O(1)"

    def arity_ok(self, argc: int) -> bool:
        return argc in self.argc

    def runs_lean(self) -> bool:
        """A command on keys (not a subcommand container), or PING/ECHO/PUBLISH: it changes no
        client or server state that admission checks look at, so a batch may run it without
        them (dispatch.LEAN)."""
        return not self.subcommands and (self.first_key > 0 or self.get_keys is not None
                                         or self.name in _LEAN_KEYLESS)

    def key_positions(self, args: list[bytes]) -> list[int]:
        """Indexes of the key arguments in args (args[0] is the command name)."""
        if self.get_keys is not None:
            return self.get_keys(args)
        if self.first_key == 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(args) + self.last_key
        return list(range(self.first_key, min(last, len(args) - 1) + 1, self.key_step))

    def keys(self, args: list[bytes]) -> list[bytes]:
        return [args[i] for i in self.key_positions(args)]

    def reset_stats(self) -> None:
        self.calls = self.nsec = self.rejected_calls = self.failed_calls = 0
        self.latency.clear()
        for sub in self.subcommands.values():
            sub.reset_stats()


class CommandTable:
    """All commands by lower-case name (bytes), plus lookup of subcommands."""

    def __init__(self) -> None:
        self.commands: dict[bytes, Command] = {}

    def add(self, cmd: Command) -> None:
        parent_name, _, sub_name = cmd.name.partition("|")
        if sub_name:
            parent = self.commands[parent_name.encode()]
            parent.subcommands[sub_name.encode()] = cmd
        else:
            if cmd.name.encode() in self.commands:
                raise ValueError(f"command {cmd.name} declared twice")
            self.commands[cmd.name.encode()] = cmd

    def rename(self, old: str, new: str) -> None:
        """`rename-command old new`; an empty new name removes the command, as in Redis."""
        cmd = self.commands.pop(old.lower().encode(), None)
        if cmd is None:
            raise ValueError(f"No such command in rename-command: {old}")
        if new:
            self.commands[new.lower().encode()] = cmd

    def lookup(self, name: bytes) -> Command | None:
        cmd = self.commands.get(name)
        if cmd is None:
            cmd = self.commands.get(name.lower())
        return cmd

    def lookup_path(self, args: list[bytes]) -> Command | None:
        """The command args names, descending into a subcommand when there is one."""
        cmd = self.lookup(args[0])
        if cmd is not None and cmd.subcommands and len(args) > 1:
            return cmd.subcommands.get(args[1].lower())
        return cmd

    def total_calls(self) -> int:
        """Commands run since the last CONFIG RESETSTAT (INFO total_commands_processed): the
        sum of the per-command counts, so that a call counts once."""
        return sum(cmd.calls for cmd in self.all())

    def all(self) -> list[Command]:
        """Every command and subcommand."""
        result = []
        for cmd in self.commands.values():
            result.append(cmd)
            result.extend(cmd.subcommands.values())
        return result


TABLE = CommandTable()


def _categories(flags: frozenset[str], acl: str) -> tuple[str, ...]:
    """Explicit categories plus the ones Redis implies from the flags."""
    cats = set(acl.split())
    if "write" in flags:
        cats.add("write")
    if "readonly" in flags and "scripting" not in cats:
        cats.add("read")
    if "admin" in flags:
        cats.update(("admin", "dangerous"))
    if "pubsub" in flags:
        cats.add("pubsub")
    if "fast" in flags:
        cats.add("fast")
    if "blocking" in flags:
        cats.add("blocking")
    if "fast" not in cats:
        cats.add("slow")
    unknown = cats.difference(ACL_CATEGORY_ORDER)
    if unknown:
        raise ValueError(f"unknown ACL categories {unknown}")
    return tuple(c for c in ACL_CATEGORY_ORDER if c in cats)


def _declare(
    name: str,
    handler: Handler | None,
    arity: int,
    flags: str,
    keys: tuple[int, int, int],
    acl: str,
    group: str,
    since: str,
    summary: str,
    complexity: str,
    get_keys: KeyFinder | None,
) -> Command:
    flag_set = frozenset(flags.split())
    unknown = flag_set - KNOWN_FLAGS
    if unknown:
        raise ValueError(f"{name}: unknown flags {unknown}")
    if get_keys is not None:
        flag_set |= {"movablekeys"}
    cmd = Command(
        name=name,
        handler=handler,
        arity=arity,
        flags=flag_set,
        first_key=keys[0],
        last_key=keys[1],
        key_step=keys[2],
        acl_categories=_categories(flag_set, acl),
        group=group,
        since=since,
        summary=summary,
        complexity=complexity,
        get_keys=get_keys,
    )
    TABLE.add(cmd)
    return cmd


def command(
    name: str,
    arity: int,
    *,
    flags: str = "",
    keys: tuple[int, int, int] = (0, 0, 0),
    acl: str = "",
    group: str,
    since: str,
    summary: str,
    complexity: str = "",
    get_keys: KeyFinder | None = None,
) -> Callable[[Handler], Handler]:
    """Declare a command (or "container|sub" subcommand) and register its handler."""

    def register(handler: Handler) -> Handler:
        _declare(name, handler, arity, flags, keys, acl, group, since, summary, complexity, get_keys)
        return handler

    return register


def container(name: str, arity: int, *, group: str, since: str, summary: str, acl: str = "",
              flags: str = "", handler: Handler | None = None) -> None:
    """Declare a command that holds subcommands (CONFIG, CLIENT, OBJECT...). A handler, if given,
    runs when no subcommand is named (bare COMMAND)."""
    _declare(name, handler, arity, flags, (0, 0, 0), acl, group, since, summary, "", None)
