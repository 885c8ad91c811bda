"""Configuration: the directive table, redis.conf parsing, and typed values.

Each directive is declared once (name, kind, default, mutability, limits, aliases, and whether
Ember acts on it yet). The same table serves the config file, `--directive value` arguments,
CONFIG GET/SET/REWRITE and the start-up log line that names directives accepted but not acted on.
Values are stored parsed (ints, bools, strings); `format_value` turns them back into the text
CONFIG GET shows, which is Redis's canonical form (memory sizes in bytes, booleans as yes/no).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any, Callable

from .protocol.errors import CommandError


class ConfigError(Exception):
    """A bad directive or value; the text follows Redis's start-up/CONFIG SET messages."""


_MEMORY_UNITS = {
    "": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3,
}


def parse_memory(text: str) -> int:
    """'1gb' -> 1073741824, as Redis's memtoull (units are case-insensitive; no fractions)."""
    match = re.fullmatch(r"(-?\d+)([a-zA-Z]*)", text.strip())
    if not match or match.group(2).lower() not in _MEMORY_UNITS:
        raise ConfigError("argument must be a memory value")
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()]


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered == "yes":
        return True
    if lowered == "no":
        return False
    raise ConfigError("argument must be 'yes' or 'no'")


@dataclass(frozen=True)
class Directive:
    name: str
    kind: str  # bool | int | memory | enum | string | special
    default: str  # as written in redis.conf
    mutable: bool = True
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    acted_on: bool = True  # False: accepted and shown by CONFIG GET, but Ember ignores it for now
    multi_arg: bool = False  # takes several words (save, client-output-buffer-limit, ...)
    repeatable: bool = False  # may appear several times in a file; occurrences accumulate

    def parse(self, text: str) -> Any:
        if self.kind == "bool":
            return parse_bool(text)
        if self.kind in ("int", "memory"):
            if self.kind == "memory":
                value = parse_memory(text)
            else:
                try:
                    value = int(text)
                except ValueError:
                    raise ConfigError("argument couldn't be parsed into an integer") from None
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise ConfigError(f"argument must be between {self.low} and {self.high} inclusive")
            return value
        if self.kind == "enum":
            words = text.lower().split() if " " in text else [text.lower()]
            for word in words:
                if word not in self.choices:
                    raise ConfigError(f"argument(s) must be one of the following: {', '.join(self.choices)}")
            return " ".join(words)
        return text

    def format(self, value: Any) -> str:
        if self.kind == "bool":
            return "yes" if value else "no"
        if self.kind in ("int", "memory"):
            return str(value)
        return value


def _d(name: str, kind: str, default: str, **kwargs: Any) -> Directive:
    return Directive(name, kind, default, **kwargs)


# The directives of Redis 7.2's redis.conf. `acted_on=False` marks those Ember accepts for
# compatibility with existing files but does not implement yet.
DIRECTIVES: list[Directive] = [
    _d("bind", "string", "* -::*"),
    _d("port", "int", "6379", mutable=False, low=0, high=65535),
    _d("unixsocket", "string", "", mutable=False, acted_on=False),
    _d("unixsocketperm", "int", "0", mutable=False, acted_on=False),
    _d("tcp-backlog", "int", "511", mutable=False),
    _d("timeout", "int", "0", low=0, high=2**31 - 1),
    _d("tcp-keepalive", "int", "300", low=0, high=2**31 - 1),
    _d("daemonize", "bool", "no", mutable=False, acted_on=False),
    _d("pidfile", "string", "", mutable=False),
    _d("loglevel", "enum", "notice", choices=("debug", "verbose", "notice", "warning", "nothing")),
    _d("logfile", "string", "", mutable=False),
    _d("databases", "int", "16", mutable=False, low=1, high=2**31 - 1),
    _d("requirepass", "string", ""),
    _d("dir", "string", "./"),
    _d("dbfilename", "string", "dump.rdb"),
    _d("save", "special", "3600 1 300 100 60 10000", multi_arg=True, repeatable=True, acted_on=False),
    _d("hz", "int", "10", low=0, high=2**31 - 1),
    _d("dynamic-hz", "bool", "yes"),
    _d("maxclients", "int", "10000", low=1, high=2**31 - 1),
    _d("maxmemory", "memory", "0", low=0),
    _d("proto-max-bulk-len", "memory", "536870912", low=1024 * 1024),
    _d("client-query-buffer-limit", "memory", "1073741824", low=1024 * 1024),
    _d("slowlog-log-slower-than", "int", "10000", low=-1),
    _d("slowlog-max-len", "int", "128", low=0),
    _d("latency-monitor-threshold", "int", "0", low=0),
    _d("enable-debug-command", "enum", "no", mutable=False, choices=("no", "yes", "local")),
    _d("rename-command", "special", "", multi_arg=True, repeatable=True, mutable=False),
]

_ALIAS_CANONICAL: dict[str, str] = {}


def _index() -> dict[str, Directive]:
    table = {}
    for directive in DIRECTIVES:
        table[directive.name] = directive
        for alias in directive.aliases:
            _ALIAS_CANONICAL[alias] = directive.name
    return table


DIRECTIVE_INDEX = _index()


def canonical_name(name: str) -> str:
    lowered = name.lower()
    return _ALIAS_CANONICAL.get(lowered, lowered)


class Config:
    """Current directive values, with change listeners for settings cached on the hot path."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.listeners: dict[str, list[Callable[[Any], None]]] = {}
        self.renamed_commands: list[tuple[str, str]] = []
        for directive in DIRECTIVES:
            self.values[directive.name] = directive.parse(directive.default) if directive.kind != "special" else directive.default

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def on_change(self, name: str, callback: Callable[[Any], None]) -> None:
        self.listeners.setdefault(name, []).append(callback)

    def apply(self, name: str, args: list[str], at_startup: bool) -> None:
        """Set one directive from its text arguments (file line, CLI or CONFIG SET)."""
        key = canonical_name(name)
        directive = DIRECTIVE_INDEX.get(key)
        if directive is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        if not directive.mutable and not at_startup:
            raise ConfigError("can't set immutable config")
        if key == "rename-command":
            if len(args) != 2:
                raise ConfigError("wrong number of arguments")
            self.renamed_commands.append((args[0].lower(), args[1]))
            return
        text = " ".join(args)
        if not directive.multi_arg and len(args) != 1:
            raise ConfigError("wrong number of arguments")
        value = directive.parse(text)
        self.values[key] = value
        for callback in self.listeners.get(key, ()):
            callback(value)

    def get_matching(self, pattern: str) -> dict[str, str]:
        """CONFIG GET: name -> shown value for every directive or alias matching the glob."""
        result = {}
        for directive in DIRECTIVES:
            for name in (directive.name, *directive.aliases):
                if fnmatch.fnmatchcase(name, pattern.lower()):
                    result[name] = directive.format(self.values[directive.name])
        return result

    def not_acted_on(self) -> list[str]:
        return [d.name for d in DIRECTIVES if not d.acted_on]


def tokenize_line(line: str) -> list[str] | None:
    """Split a redis.conf line as Redis does (quotes and escapes); None for an unbalanced quote."""
    from .protocol.parser import split_inline

    words = split_inline(line.encode("utf-8", "surrogateescape"))
    if words is None:
        return None
    return [w.decode("utf-8", "surrogateescape") for w in words]


def load_config_text(config: Config, text: str, source: str = "config") -> None:
    """Apply redis.conf text; raises ConfigError with Redis's '*** FATAL CONFIG FILE ERROR ***' detail."""
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        words = tokenize_line(line)
        if words is None:
            raise ConfigError(_fatal(number, raw_line, "Unbalanced quotes in configuration line"))
        try:
            config.apply(words[0], words[1:], at_startup=True)
        except ConfigError as err:
            raise ConfigError(_fatal(number, raw_line, str(err))) from None


def _fatal(number: int, line: str, reason: str) -> str:
    return f"\n*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\nReading the configuration file, at line {number}\n>>> '{line.strip()}'\n{reason}"


def config_error_reply(name: str, value: str, err: ConfigError) -> CommandError:
    return CommandError(f"ERR CONFIG SET failed (possibly related to argument '{name}') - {err}")
