"""Configuration: every Redis 7.2 directive, redis.conf parsing, CONFIG SET/GET/REWRITE semantics.

Each directive is declared once in `DIRECTIVES` (name, kind, default, mutability, limits, aliases,
flags, and whether Ember acts on it yet). The same table serves the config file, `--name value`
arguments, CONFIG GET/SET/REWRITE and the start-up log line naming the directives that were set
but are not acted on yet. A *kind* (`Kind` subclasses) turns a directive's text arguments into a
stored value, back into the text CONFIG GET shows, and into the lines CONFIG REWRITE writes; the
texts of its errors are Redis 7.2's.

Values are stored parsed: yes/no as bool, numbers as int (a `maxmemory-clients` percentage is
stored negative, as Redis does), enums and strings as str, `oom-score-adj-values` as a tuple of
ints, `latency-tracking-info-percentiles` as a tuple of floats, `notify-keyspace-events` as the
string of enabled class letters (with 'A' expanded); `save` and `client-output-buffer-limit` as
their CONFIG GET text (read them with `save_points` and `output_buffer_limits`).

Environment overrides for container use, applied after the config file (and stdin) and before
command-line options: REDIS_PASSWORD -> requirepass, REDIS_MAXMEMORY -> maxmemory,
REDIS_MAXMEMORY_POLICY -> maxmemory-policy (see `ENVIRONMENT_OVERRIDES`).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import locale
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import REDIS_COMPAT_VERSION
from .keyspace.glob import glob_matcher


class ConfigError(Exception):
    """A bad directive or value; the text is Redis's reason (or a whole start-up failure text)."""


INT_MIN, INT_MAX = -(2**31), 2**31 - 1
UINT_MAX = 2**32 - 1
LLONG_MIN, LLONG_MAX = -(2**63), 2**63 - 1
ULLONG_MAX = 2**64 - 1

_WHITESPACE = " \t\n\v\f\r"
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
_STRING2LL = re.compile(r"-?[1-9][0-9]*|0")
_STRTOLL = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]*)")


# -- number parsing as Redis's C helpers do it -----------------------------------------------


def memtoull(text: str) -> int | None:
    """Redis's memtoull: digits then an optional unit (b k kb m mb g gb, any case); None if bad."""
    if len(text) >= 128:
        return None
    digits_end = 0
    while digits_end < len(text) and text[digits_end].isdigit() and text[digits_end].isascii():
        digits_end += 1
    if text[:1] == "-":
        return None
    multiplier = _MEMORY_UNITS.get(text[digits_end:].lower())
    if multiplier is None:
        return None
    value = min(int(text[:digits_end] or "0"), ULLONG_MAX)  # strtoull saturates on overflow
    if value > ULLONG_MAX // multiplier:
        return None
    return value * multiplier


def parse_memory(text: str) -> int:
    """'1gb' -> 1073741824 (Redis's units); raises ConfigError on anything else."""
    value = memtoull(text)
    if value is None:
        raise ConfigError("argument must be a memory value")
    return value


def string2ll(text: str) -> int | None:
    """Redis's strict integer syntax: no spaces, no '+', no leading zeros, within 64 bits."""
    if not _STRING2LL.fullmatch(text):
        return None
    value = int(text)
    return value if LLONG_MIN <= value <= LLONG_MAX else None


def strtoll_whole(text: str, base: int = 10) -> int | None:
    """C strtoll that must consume the whole text (leading spaces and a sign are fine, and an
    empty number is 0, as in C); saturates at the 64-bit limits. None if characters remain."""
    match = _STRTOLL.fullmatch(text)
    if match is None or (base == 8 and any(c in "89" for c in match.group(2))):
        return None
    if not match.group(2):  # no digits: C leaves the end pointer at the start
        return 0 if text == "" else None
    value = int(match.group(1) + match.group(2), base)
    return max(LLONG_MIN, min(LLONG_MAX, value))


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered == "yes":
        return True
    if lowered == "no":
        return False
    raise ConfigError("argument must be 'yes' or 'no'")


def format_memory(value: int) -> str:
    """Bytes as CONFIG REWRITE writes them: 1gb, 64mb, 2kb, or plain bytes."""
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def repr_config_string(text: str) -> str:
    """A value quoted as Redis's sdscatrepr does, so the config tokenizer reads it back intact."""
    from .server.app import quote_arg  # the server imports this module

    return quote_arg(text.encode("utf-8", "surrogateescape"))


def format_percentile(value: float) -> str:
    """'%f' with trailing zeros (and a bare dot) trimmed, as Redis's trimDoubleString."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- kinds: how a directive's text becomes a value and back ----------------------------------

# (line, force) pairs for CONFIG REWRITE; None means "write nothing, drop old lines".
RewriteLines = list[tuple[str, bool]] | None


class Kind:
    """The type of a directive. `multi_arg` kinds take several words (CONFIG SET splits the value
    on spaces); the others take exactly one."""

    multi_arg = False

    def parse(self, args: list[str]) -> Any:
        raise NotImplementedError

    def format(self, value: Any) -> str:
        return str(value)

    def rewrite(self, name: str, value: Any, default: Any) -> RewriteLines:
        return [(f"{name} {self.format(value)}", value != default)]


class BoolKind(Kind):
    def __init__(self, validate: Callable[[bool], None] | None = None) -> None:
        self.validate = validate

    def parse(self, args: list[str]) -> bool:
        value = parse_bool(args[0])
        if self.validate is not None:
            self.validate(value)
        return value

    def format(self, value: bool) -> str:
        return "yes" if value else "no"


class NumberKind(Kind):
    """Redis's numeric configs: plain, memory (units), percent (stored negative) or octal."""

    def __init__(self, low: int, high: int, *, memory: bool = False, percent: bool = False,
                 octal: bool = False) -> None:
        self.low, self.high = low, high
        self.memory, self.percent, self.octal = memory, percent, octal

    def parse(self, args: list[str]) -> int:
        value = self._parse_number(args[0])
        if self.percent and value < 0:
            if value < self.low:
                raise ConfigError(f"percentage argument must be less or equal to {-self.low}")
        elif not self.low <= value <= self.high:
            if self.octal:
                raise ConfigError(f"argument must be between {self.low:o} and {self.high:o} inclusive")
            raise ConfigError(f"argument must be between {self.low} and {self.high} inclusive")
        return value

    def _parse_number(self, text: str) -> int:
        if self.memory:
            value = memtoull(text)
            if value is not None:
                # Signed C types see values past LLONG_MAX as negative.
                return value - 2**64 if value > LLONG_MAX and self.high <= LLONG_MAX else value
        if self.percent and len(text) > 1 and text.endswith("%"):
            value = string2ll(text[:-1])
            if value is not None and value >= 0:
                return -value
        if self.octal:
            value = strtoll_whole(text, 8)
            if value is not None:
                return value
        if not (self.memory or self.percent or self.octal):
            value = string2ll(text)
            if value is not None:
                return value
        raise ConfigError(self._syntax_error())

    def _syntax_error(self) -> str:
        if self.memory and self.percent:
            return "argument must be a memory or percent value"
        if self.memory:
            return "argument must be a memory value"
        if self.octal:
            return "argument couldn't be parsed as an octal number"
        return "argument couldn't be parsed into an integer"

    def format(self, value: int) -> str:
        if self.percent and value < 0:
            return f"{-value}%"
        return f"{value:o}" if self.octal else str(value)

    def rewrite(self, name: str, value: int, default: int) -> RewriteLines:
        if self.percent and value < 0:
            text = f"{-value}%"
        elif self.memory:
            text = format_memory(value)
        else:
            text = self.format(value)
        return [(f"{name} {text}", value != default)]


class EnumKind(Kind):
    """One word out of `choices` (any case). Several choices may share a value: `aliases` maps a
    choice to the name CONFIG GET shows for it (Redis shows the first name of a value)."""

    def __init__(self, *choices: str, aliases: Mapping[str, str] | None = None) -> None:
        self.choices = choices
        self.aliases = dict(aliases or {})

    def error(self) -> ConfigError:
        return ConfigError(f"argument(s) must be one of the following: {', '.join(self.choices)}")

    def parse(self, args: list[str]) -> str:
        word = args[0].lower()
        if word not in self.choices:
            raise self.error()
        return self.aliases.get(word, word)


class ShutdownFlagsKind(EnumKind):
    """shutdown-on-sigint/sigterm: several flag words at once; 'default' alone means none."""

    multi_arg = True

    def __init__(self) -> None:
        super().__init__("default", "save", "nosave", "now", "force")

    def parse(self, args: list[str]) -> str:
        words = {word.lower() for word in args}
        if not words or not words <= set(self.choices):
            raise self.error()
        if {"save", "nosave"} <= words:
            raise ConfigError("shutdown options SAVE and NOSAVE can't be used simultaneously")
        chosen = [choice for choice in self.choices[1:] if choice in words]
        return " ".join(chosen) or "default"


class StringKind(Kind):
    """A free string. `null_when_empty` strings are absent (Redis's NULL) when empty: CONFIG
    REWRITE then drops their lines instead of writing `name ""`."""

    def __init__(self, null_when_empty: bool = False, validate: Callable[[str], None] | None = None) -> None:
        self.null_when_empty = null_when_empty
        self.validate = validate

    def parse(self, args: list[str]) -> str:
        if self.validate is not None:
            self.validate(args[0])
        return args[0]

    def rewrite(self, name: str, value: str, default: str) -> RewriteLines:
        if self.null_when_empty and not value:
            return None
        return [(f"{name} {repr_config_string(value)}", value != default)]


class DirKind(StringKind):
    """`dir`: changing it changes the working directory; CONFIG GET shows the current one."""

    def rewrite(self, name: str, value: str, default: str) -> RewriteLines:
        return [(f"{name} {repr_config_string(os.getcwd())}", True)]


class SaveKind(Kind):
    """`save <seconds> <changes> [...]`; `save ""` disables snapshots. The value is stored as
    CONFIG GET shows it ("3600 1 300 100"); `save_points` reads it as pairs."""

    multi_arg = True

    def parse(self, args: list[str]) -> str:
        if len(args) == 1 and args[0] == "":
            args = []
        if len(args) % 2:
            raise ConfigError("Invalid save parameters")
        numbers = [strtoll_whole(arg) for arg in args]
        for index, number in enumerate(numbers):
            if number is None or number < (1 if index % 2 == 0 else 0):
                raise ConfigError("Invalid save parameters")
        return " ".join(f"{seconds} {_to_c_int(changes)}"  # type: ignore[arg-type]
                        for seconds, changes in zip(numbers[::2], numbers[1::2], strict=True))

    def rewrite(self, name: str, value: str, default: Any) -> RewriteLines:
        if not value:
            return [(f'{name} ""', True)]
        return [(f"{name} {seconds} {changes}", True) for seconds, changes in save_points(value)]


def save_points(value: str) -> list[tuple[int, int]]:
    """A `save` value -> [(seconds, changes), ...]."""
    numbers = [int(word) for word in value.split()]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def _to_c_int(value: int) -> int:
    """What a C `int` keeps of a long long."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value > INT_MAX else value


OUTPUT_BUFFER_CLASSES = ("normal", "slave", "pubsub")
_OUTPUT_BUFFER_CLASS_NAMES = {"normal": "normal", "slave": "slave", "replica": "slave", "pubsub": "pubsub"}


def output_buffer_limits(text: str) -> dict[str, tuple[int, int, int]]:
    """A client-output-buffer-limit value -> {class: (hard bytes, soft bytes, soft seconds)}."""
    words = text.split()
    return {words[i]: (int(words[i + 1]), int(words[i + 2]), int(words[i + 3])) for i in range(0, len(words), 4)}


def _format_output_buffer_limits(limits: Mapping[str, tuple[int, int, int]]) -> str:
    return " ".join(f"{cls} {hard} {soft} {seconds}" for cls, (hard, soft, seconds) in
                    ((cls, limits[cls]) for cls in OUTPUT_BUFFER_CLASSES))


class OutputBufferLimitKind(Kind):
    """`client-output-buffer-limit <class> <hard> <soft> <seconds> [...]`: updates only the
    classes given. The value is stored as the CONFIG GET text (all three classes)."""

    multi_arg = True

    def parse_update(self, args: list[str], current: str) -> str:
        if len(args) % 4:
            raise ConfigError("Wrong number of arguments in buffer limit configuration.")
        limits = output_buffer_limits(current)
        updates = {}
        for index in range(0, len(args), 4):
            cls = _OUTPUT_BUFFER_CLASS_NAMES.get(args[index].lower())
            if cls is None:
                raise ConfigError("Invalid client class specified in buffer limit configuration.")
            hard, soft = memtoull(args[index + 1]), memtoull(args[index + 2])
            seconds = strtoll_whole(args[index + 3])
            if hard is None or soft is None or seconds is None or seconds < 0:
                raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
            updates[cls] = (hard, soft, seconds)
        limits.update(updates)
        return _format_output_buffer_limits(limits)

    def parse(self, args: list[str]) -> str:
        return self.parse_update(args, DEFAULT_OUTPUT_BUFFER_LIMITS)

    def rewrite(self, name: str, value: str, default: str) -> RewriteLines:
        limits, defaults = output_buffer_limits(value), output_buffer_limits(default)
        lines = []
        for cls in OUTPUT_BUFFER_CLASSES:
            hard, soft, seconds = limits[cls]
            shown = "replica" if cls == "slave" else cls
            line = f"{name} {shown} {format_memory(hard)} {format_memory(soft)} {seconds}"
            lines.append((line, limits[cls] != defaults[cls]))
        return lines


DEFAULT_OUTPUT_BUFFER_LIMITS = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"


class OomScoreValuesKind(Kind):
    multi_arg = True

    def parse(self, args: list[str]) -> tuple[int, int, int]:
        if len(args) != 3:
            raise ConfigError("wrong number of arguments")
        values = [strtoll_whole(arg) for arg in args]
        if any(value is None or not -2000 <= value <= 2000 for value in values):
            raise ConfigError("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
        return tuple(values)  # type: ignore[return-value]

    def format(self, value: tuple[int, int, int]) -> str:
        return " ".join(map(str, value))


# Keyspace event classes: 'A' is every class but m (key miss) and n (new key).
NOTIFY_ALL = "g$lshzxetd"
_NOTIFY_ORDER = "g$lshzxetdn"  # how CONFIG GET lists the classes, then K, E and m


class NotifyEventsKind(Kind):
    """`notify-keyspace-events`: class letters. Stored with 'A' expanded, shown like Redis."""

    def parse(self, args: list[str]) -> str:
        letters = set()
        for char in args[0]:
            if char == "A":
                letters.update(NOTIFY_ALL)
            elif char in "g$lshzxeKEtmdn":
                letters.add(char)
            else:
                raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
        return "".join(char for char in _NOTIFY_ORDER + "KEm" if char in letters)

    def format(self, value: str) -> str:
        everything = set(NOTIFY_ALL) <= set(value)
        shown = "A" if everything else "".join(char for char in _NOTIFY_ORDER if char in value)
        return shown + "".join(char for char in "KEm" if char in value)

    def rewrite(self, name: str, value: str, default: str) -> RewriteLines:
        return [(f"{name} {repr_config_string(self.format(value))}", bool(value))]


class BindKind(Kind):
    multi_arg = True

    def parse(self, args: list[str]) -> str:
        if len(args) > 16:
            raise ConfigError("Too many bind addresses specified.")
        return "" if args == [""] else " ".join(args)

    def rewrite(self, name: str, value: str, default: str) -> RewriteLines:
        if value == default:
            return None
        return [(f"{name} {value or chr(34) * 2}", True)]


class ReplicaOfKind(Kind):
    multi_arg = True

    def parse(self, args: list[str]) -> str:
        if len(args) != 2:
            raise ConfigError("wrong number of arguments")
        if args[0].lower() == "no" and args[1].lower() == "one":
            return ""
        port = strtoll_whole(args[1])
        if port is None or not 0 <= port <= 65535:
            raise ConfigError("Invalid master port")
        return f"{args[0]} {port}"

    def rewrite(self, name: str, value: str, default: str) -> RewriteLines:
        return [(f"{name} {value}", True)] if value else None


class PercentilesKind(Kind):
    multi_arg = True

    def parse(self, args: list[str]) -> tuple[float, ...]:
        if args == [""]:
            return ()
        values = []
        for arg in args:
            value = _string2d(arg)
            if value is None:
                raise ConfigError("Invalid latency-tracking-info-percentiles parameters")
            if not 0.0 <= value <= 100.0:
                raise ConfigError("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
            values.append(value)
        return tuple(values)

    def format(self, value: tuple[float, ...]) -> str:
        return " ".join(format_percentile(v) for v in value)

    def rewrite(self, name: str, value: tuple[float, ...], default: Any) -> RewriteLines:
        return [(f"{name} {self.format(value) or chr(34) * 2}", True)]


def _string2d(text: str) -> float | None:
    """Redis's string2d: a whole strtod with no leading space and no NaN."""
    if not text or text[0] in _WHITESPACE or "_" in text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return None if value != value else value


# -- validators with Redis's texts ------------------------------------------------------------


def _no_active_defrag(value: bool) -> None:
    if value:
        raise ConfigError("Active defragmentation cannot be enabled: it requires a Redis server compiled "
                          "with a modified Jemalloc like the one shipped by default with the Redis source "
                          "distribution")


def _base_name(what: str, kind: str, allow_empty: bool = True) -> Callable[[str], None]:
    def validate(value: str) -> None:
        if not allow_empty and not value:
            raise ConfigError(f"{what} can't be empty")
        if "/" in value:
            raise ConfigError(f"{what} can't be a path, just a {kind}")
    return validate


def _valid_hostname(value: str) -> None:
    if len(value) >= 256:
        raise ConfigError("Hostnames must be less than 256 characters")
    if any(not (c.isascii() and (c.isalnum() or c in "-.")) for c in value):
        raise ConfigError("Hostnames may only contain alphanumeric characters, hyphens or dots")


def _valid_nodename(value: str) -> None:
    if any(not c.isascii() or not c.isprintable() or c in " !#$%&()*+:;<>?@[]^{|}~" for c in value):
        raise ConfigError("Announced human node name contained invalid character")


_PROC_TITLE_VARIABLES = {"title": "", "listen-addr": "*:6379", "server-mode": "", "port": "6379",
                         "tls-port": "0", "unixsocket": "", "config-file": ""}


def _valid_proc_title(template: str) -> None:
    """The template must expand (known {variables}, balanced braces) to something non-blank."""
    expanded, rest = [], template
    while rest:
        start = rest.find("{")
        if start < 0:
            expanded.append(rest)
            break
        expanded.append(rest[:start])
        if rest[start + 1:start + 2] == "{":
            expanded.append("{")
            rest = rest[start + 2:]
            continue
        end = rest.find("}", start)
        variable = rest[start + 1:end] if end > start else None
        if variable not in _PROC_TITLE_VARIABLES:
            raise ConfigError("template format is invalid or contains unknown variables")
        expanded.append(_PROC_TITLE_VARIABLES[variable])
        rest = rest[end + 1:]
    if not "".join(expanded).strip(" "):
        raise ConfigError("template format is invalid or contains unknown variables")


# -- effects run when a value is set (at start-up and by CONFIG SET, and again on rollback) ----


def _change_directory(path: str) -> str:
    try:
        os.chdir(path)
    except OSError as err:
        raise ConfigError(os.strerror(err.errno or 0)) from None
    return os.getcwd()


def _clamp_hz(value: int) -> int:
    """Redis treats hz as a hint: out-of-range values are capped to 1..500."""
    return max(1, min(500, value))


def _set_collation_locale(name: str) -> str:
    try:
        locale.setlocale(locale.LC_COLLATE, name)
    except locale.Error:
        raise ConfigError("Invalid locale name") from None
    return name


# -- the directive table ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Directive:
    name: str
    kind: Kind
    default_text: str | list[str]  # as CONFIG GET shows it (a list: several words)
    mutable: bool = True
    aliases: tuple[str, ...] = ()
    acted_on: bool = False  # False: accepted and shown by CONFIG GET, but Ember ignores it for now
    protected: bool = False  # CONFIG SET needs enable-protected-configs
    sensitive: bool = False  # its CONFIG SET value is redacted from SLOWLOG
    hidden: bool = False  # only an exact name finds it in CONFIG GET
    deny_loading: bool = False  # CONFIG SET refused while loading a dataset
    effect: Callable[[Any], Any] | None = None  # run on set; returns the value to keep
    default: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        args = self.default_text if isinstance(self.default_text, list) else [self.default_text]
        object.__setattr__(self, "default", self.kind.parse(args))

    @property
    def multi_arg(self) -> bool:
        return self.kind.multi_arg


def yes_no(name: str, default: str, **flags: Any) -> Directive:
    validate = flags.pop("validate", None)
    return Directive(name, BoolKind(validate), default, **flags)


def number(name: str, default: str, low: int, high: int, **flags: Any) -> Directive:
    kind_flags = {key: flags.pop(key) for key in ("memory", "percent", "octal") if key in flags}
    return Directive(name, NumberKind(low, high, **kind_flags), default, **flags)


def memory(name: str, default: str, low: int, high: int, **flags: Any) -> Directive:
    return number(name, default, low, high, memory=True, **flags)


def enum(name: str, default: str, choices: str, **flags: Any) -> Directive:
    aliases = flags.pop("value_aliases", None)
    return Directive(name, EnumKind(*choices.split(), aliases=aliases), default, **flags)


def text(name: str, default: str = "", *, null: bool = True, **flags: Any) -> Directive:
    validate = flags.pop("validate", None)
    return Directive(name, StringKind(null, validate), default, **flags)


def special(name: str, kind: Kind, default: str | list[str], **flags: Any) -> Directive:
    return Directive(name, kind, default, **flags)


IMMUTABLE = {"mutable": False}
ACTED = {"acted_on": True}
PROTECTION = "no yes local"

DIRECTIVES: list[Directive] = [
    # -- network ------------------------------------------------------------------------------
    # Ember's built-in bind is the one redis.conf ships ("127.0.0.1 -::1"), not redis-server's
    # compiled-in "* -::*": a pip-installed server should not listen on every interface.
    special("bind", BindKind(), ["127.0.0.1", "-::1"], **ACTED),
    text("bind-source-addr"),
    yes_no("protected-mode", "yes"),
    number("port", "6379", 0, 65535, **ACTED),
    number("tcp-backlog", "511", 0, INT_MAX, **IMMUTABLE, **ACTED),
    text("unixsocket", **IMMUTABLE),
    number("unixsocketperm", "0", 0, 0o777, octal=True, **IMMUTABLE),
    number("timeout", "0", 0, INT_MAX, **ACTED),
    number("tcp-keepalive", "300", 0, INT_MAX, **ACTED),
    number("socket-mark-id", "0", 0, UINT_MAX, **IMMUTABLE),
    # -- TLS ----------------------------------------------------------------------------------
    number("tls-port", "0", 0, 65535),
    text("tls-cert-file"), text("tls-key-file"), text("tls-key-file-pass", sensitive=True),
    text("tls-client-cert-file"), text("tls-client-key-file"),
    text("tls-client-key-file-pass", sensitive=True), text("tls-dh-params-file"),
    text("tls-ca-cert-file"), text("tls-ca-cert-dir"), text("tls-protocols"), text("tls-ciphers"),
    text("tls-ciphersuites"),
    enum("tls-auth-clients", "yes", "no yes optional"),
    yes_no("tls-replication", "no"), yes_no("tls-cluster", "no"),
    yes_no("tls-prefer-server-ciphers", "no"), yes_no("tls-session-caching", "yes"),
    number("tls-session-cache-size", "20480", 0, INT_MAX),
    number("tls-session-cache-timeout", "300", 0, INT_MAX),
    # -- general ------------------------------------------------------------------------------
    yes_no("daemonize", "no", **IMMUTABLE),
    enum("supervised", "no", "upstart systemd auto no", **IMMUTABLE),
    text("pidfile", **IMMUTABLE, **ACTED),
    enum("loglevel", "notice", "debug verbose notice warning nothing", **ACTED),
    text("logfile", null=False, **IMMUTABLE, **ACTED),
    yes_no("syslog-enabled", "no", **IMMUTABLE),
    text("syslog-ident", "redis", null=False, **IMMUTABLE),
    enum("syslog-facility", "local0", "user local0 local1 local2 local3 local4 local5 local6 local7",
         **IMMUTABLE),
    yes_no("crash-log-enabled", "yes"),
    yes_no("crash-memcheck-enabled", "yes"),
    number("databases", "16", 1, INT_MAX, **IMMUTABLE, **ACTED),
    yes_no("always-show-logo", "no", **IMMUTABLE),
    yes_no("set-proc-title", "yes", **IMMUTABLE),
    text("proc-title-template", "{title} {listen-addr} {server-mode}", null=False,
         validate=_valid_proc_title),
    text("locale-collate", null=False, effect=_set_collation_locale),
    text("ignore-warnings", null=False),
    # -- snapshotting -------------------------------------------------------------------------
    special("save", SaveKind(), ["3600", "1", "300", "100", "60", "10000"], **ACTED),
    yes_no("stop-writes-on-bgsave-error", "yes", **ACTED),
    yes_no("rdbcompression", "yes", **ACTED),
    yes_no("rdbchecksum", "yes", **IMMUTABLE, **ACTED),
    enum("sanitize-dump-payload", "no", "no yes clients"),
    text("dbfilename", "dump.rdb", null=False, protected=True,
         validate=_base_name("dbfilename", "filename"), **ACTED),
    yes_no("rdb-del-sync-files", "no"),
    special("dir", DirKind(), "./", protected=True, deny_loading=True, effect=_change_directory, **ACTED),
    # -- replication --------------------------------------------------------------------------
    special("replicaof", ReplicaOfKind(), ["no", "one"], aliases=("slaveof",), **IMMUTABLE),
    text("masterauth", sensitive=True),
    text("masteruser", sensitive=True),
    yes_no("replica-serve-stale-data", "yes", aliases=("slave-serve-stale-data",)),
    yes_no("replica-read-only", "yes", aliases=("slave-read-only",)),
    yes_no("repl-diskless-sync", "yes"),
    number("repl-diskless-sync-delay", "5", 0, INT_MAX),
    number("repl-diskless-sync-max-replicas", "0", 0, INT_MAX),
    enum("repl-diskless-load", "disabled", "disabled on-empty-db swapdb", deny_loading=True),
    number("repl-ping-replica-period", "10", 1, INT_MAX, aliases=("repl-ping-slave-period",)),
    number("repl-timeout", "60", 1, INT_MAX),
    yes_no("repl-disable-tcp-nodelay", "no"),
    memory("repl-backlog-size", "1048576", 1, LLONG_MAX),
    number("repl-backlog-ttl", "3600", 0, LLONG_MAX),
    number("replica-priority", "100", 0, INT_MAX, aliases=("slave-priority",)),
    yes_no("replica-announced", "yes"),
    number("min-replicas-to-write", "0", 0, INT_MAX, aliases=("min-slaves-to-write",)),
    number("min-replicas-max-lag", "10", 0, INT_MAX, aliases=("min-slaves-max-lag",)),
    text("replica-announce-ip", aliases=("slave-announce-ip",)),
    number("replica-announce-port", "0", 0, 65535, aliases=("slave-announce-port",)),
    yes_no("replica-ignore-maxmemory", "yes", aliases=("slave-ignore-maxmemory",)),
    yes_no("replica-lazy-flush", "no", aliases=("slave-lazy-flush",)),
    yes_no("replica-ignore-disk-write-errors", "no"),
    enum("propagation-error-behavior", "ignore", "ignore panic panic-on-replicas"),
    # -- keys tracking, security, clients, memory -----------------------------------------------
    number("tracking-table-max-keys", "1000000", 0, LLONG_MAX),
    number("acllog-max-len", "128", 0, LLONG_MAX),
    text("aclfile", null=False, **IMMUTABLE),
    enum("acl-pubsub-default", "resetchannels", "allchannels resetchannels"),
    text("requirepass", sensitive=True, **ACTED),
    number("maxclients", "10000", 1, UINT_MAX, **ACTED),
    memory("maxmemory", "0", 0, ULLONG_MAX, **ACTED),
    enum("maxmemory-policy", "noeviction", "volatile-lru volatile-lfu volatile-random volatile-ttl "
         "allkeys-lru allkeys-lfu allkeys-random noeviction", **ACTED),
    number("maxmemory-samples", "5", 1, INT_MAX, **ACTED),
    number("maxmemory-eviction-tenacity", "10", 0, 100, **ACTED),
    memory("maxmemory-clients", "0", -100, LLONG_MAX, percent=True, **ACTED),
    number("active-expire-effort", "1", 1, 10),
    # -- lazy freeing, threads, kernel --------------------------------------------------------
    yes_no("lazyfree-lazy-eviction", "no", **ACTED), yes_no("lazyfree-lazy-expire", "no"),
    yes_no("lazyfree-lazy-server-del", "no"), yes_no("lazyfree-lazy-user-del", "no"),
    yes_no("lazyfree-lazy-user-flush", "no"),
    number("io-threads", "1", 1, 128, **IMMUTABLE),
    yes_no("io-threads-do-reads", "no", **IMMUTABLE),
    enum("oom-score-adj", "no", "no yes relative absolute", value_aliases={"relative": "yes"}),
    special("oom-score-adj-values", OomScoreValuesKind(), ["0", "200", "800"]),
    yes_no("disable-thp", "yes", **IMMUTABLE),
    # -- append only file ---------------------------------------------------------------------
    yes_no("appendonly", "no", deny_loading=True, **ACTED),
    text("appendfilename", "appendonly.aof", null=False, **IMMUTABLE,
         validate=_base_name("appendfilename", "filename", allow_empty=False), **ACTED),
    text("appenddirname", "appendonlydir", null=False, **IMMUTABLE,
         validate=_base_name("appenddirname", "dirname", allow_empty=False), **ACTED),
    enum("appendfsync", "everysec", "everysec always no", **ACTED),
    yes_no("no-appendfsync-on-rewrite", "no", **ACTED),
    number("auto-aof-rewrite-percentage", "100", 0, INT_MAX, **ACTED),
    memory("auto-aof-rewrite-min-size", "67108864", 0, LLONG_MAX, **ACTED),
    yes_no("aof-load-truncated", "yes", **ACTED),
    yes_no("aof-use-rdb-preamble", "yes", **ACTED),
    yes_no("aof-timestamp-enabled", "no", **ACTED),
    yes_no("aof-disable-auto-gc", "no", **ACTED),
    yes_no("aof-rewrite-incremental-fsync", "yes"),
    yes_no("rdb-save-incremental-fsync", "yes"),
    # -- shutdown, scripting ------------------------------------------------------------------
    number("shutdown-timeout", "10", 0, INT_MAX),
    special("shutdown-on-sigint", ShutdownFlagsKind(), "default"),
    special("shutdown-on-sigterm", ShutdownFlagsKind(), "default"),
    number("busy-reply-threshold", "5000", 0, LLONG_MAX, aliases=("lua-time-limit",), **ACTED),
    # -- cluster ------------------------------------------------------------------------------
    yes_no("cluster-enabled", "no", **IMMUTABLE),
    text("cluster-config-file", "nodes.conf", null=False, **IMMUTABLE),
    number("cluster-node-timeout", "15000", 0, LLONG_MAX),
    number("cluster-port", "0", 0, 65535, **IMMUTABLE),
    number("cluster-replica-validity-factor", "10", 0, INT_MAX, aliases=("cluster-slave-validity-factor",)),
    number("cluster-migration-barrier", "1", 0, INT_MAX),
    yes_no("cluster-allow-replica-migration", "yes"),
    yes_no("cluster-require-full-coverage", "yes"),
    yes_no("cluster-replica-no-failover", "no", aliases=("cluster-slave-no-failover",)),
    yes_no("cluster-allow-reads-when-down", "no"),
    yes_no("cluster-allow-pubsubshard-when-down", "yes"),
    memory("cluster-link-sendbuf-limit", "0", 0, ULLONG_MAX),
    text("cluster-announce-hostname", validate=_valid_hostname),
    text("cluster-announce-human-nodename", validate=_valid_nodename),
    enum("cluster-preferred-endpoint-type", "ip", "ip hostname unknown-endpoint"),
    text("cluster-announce-ip"),
    number("cluster-announce-port", "0", 0, 65535),
    number("cluster-announce-tls-port", "0", 0, 65535),
    number("cluster-announce-bus-port", "0", 0, 65535),
    # -- slow log, latency, notifications -------------------------------------------------------
    number("slowlog-log-slower-than", "10000", -1, LLONG_MAX, **ACTED),
    number("slowlog-max-len", "128", 0, LLONG_MAX, **ACTED),
    number("latency-monitor-threshold", "0", 0, LLONG_MAX, **ACTED),
    yes_no("latency-tracking", "yes", **ACTED),
    special("latency-tracking-info-percentiles", PercentilesKind(), ["50", "99", "99.9"], **ACTED),
    special("notify-keyspace-events", NotifyEventsKind(), "", **ACTED),
    # -- encodings of small aggregates (OBJECT ENCODING) ----------------------------------------
    number("hash-max-listpack-entries", "512", 0, LLONG_MAX, aliases=("hash-max-ziplist-entries",), **ACTED),
    memory("hash-max-listpack-value", "64", 0, LLONG_MAX, aliases=("hash-max-ziplist-value",), **ACTED),
    number("list-max-listpack-size", "-2", INT_MIN, INT_MAX, aliases=("list-max-ziplist-size",), **ACTED),
    number("list-compress-depth", "0", 0, INT_MAX),
    number("set-max-intset-entries", "512", 0, LLONG_MAX, **ACTED),
    number("set-max-listpack-entries", "128", 0, LLONG_MAX, **ACTED),
    memory("set-max-listpack-value", "64", 0, LLONG_MAX, **ACTED),
    number("zset-max-listpack-entries", "128", 0, LLONG_MAX, aliases=("zset-max-ziplist-entries",), **ACTED),
    memory("zset-max-listpack-value", "64", 0, LLONG_MAX, aliases=("zset-max-ziplist-value",), **ACTED),
    memory("hll-sparse-max-bytes", "3000", 0, LLONG_MAX, **ACTED),
    memory("stream-node-max-bytes", "4096", 0, LLONG_MAX, **ACTED),
    number("stream-node-max-entries", "100", 0, LLONG_MAX, **ACTED),
    # -- advanced -----------------------------------------------------------------------------
    yes_no("activerehashing", "yes"),
    special("client-output-buffer-limit", OutputBufferLimitKind(), DEFAULT_OUTPUT_BUFFER_LIMITS.split(), **ACTED),
    memory("client-query-buffer-limit", "1073741824", 1024 * 1024, LLONG_MAX, **ACTED),
    memory("proto-max-bulk-len", "536870912", 1024 * 1024, LLONG_MAX, **ACTED),
    number("hz", "10", 0, INT_MAX, effect=_clamp_hz, **ACTED),
    yes_no("dynamic-hz", "yes"),
    yes_no("jemalloc-bg-thread", "yes"),
    yes_no("activedefrag", "no", validate=_no_active_defrag),
    memory("active-defrag-ignore-bytes", "104857600", 1, LLONG_MAX),
    number("active-defrag-threshold-lower", "10", 0, 1000),
    number("active-defrag-threshold-upper", "100", 0, 1000),
    number("active-defrag-cycle-min", "1", 1, 99),
    number("active-defrag-cycle-max", "25", 1, 99),
    number("active-defrag-max-scan-fields", "1000", 1, LLONG_MAX),
    number("lfu-log-factor", "10", 0, INT_MAX, **ACTED),  # LFU counters (keyspace/lfu.py)
    number("lfu-decay-time", "1", 0, INT_MAX, **ACTED),
    text("server_cpulist", **IMMUTABLE), text("bio_cpulist", **IMMUTABLE),
    text("aof_rewrite_cpulist", **IMMUTABLE), text("bgsave_cpulist", **IMMUTABLE),
    enum("enable-protected-configs", "no", PROTECTION, **IMMUTABLE, **ACTED),
    enum("enable-debug-command", "no", PROTECTION, **IMMUTABLE, **ACTED),
    enum("enable-module-command", "no", PROTECTION, **IMMUTABLE),
    # -- hidden: testing and debugging knobs, found only by their exact name ------------------
    yes_no("use-exit-on-panic", "no", hidden=True),
    number("rdb-key-save-delay", "0", INT_MIN, INT_MAX, hidden=True, **ACTED),
    number("key-load-delay", "0", INT_MIN, INT_MAX, hidden=True),
    number("watchdog-period", "0", 0, INT_MAX, hidden=True),
    number("loading-process-events-interval-bytes", "2097152", 1024, INT_MAX, hidden=True),
]

# Accepted in a config file for old configurations and silently ignored, as Redis 7.2 does.
DEPRECATED_DIRECTIVES = {"list-max-ziplist-entries": 2, "list-max-ziplist-value": 2, "lua-replicate-commands": 2}

# Directives that are not configs (CONFIG GET does not know them) but are valid in a file.
FILE_ONLY_DIRECTIVES = ("include", "rename-command", "user", "loadmodule", "sentinel")

ENVIRONMENT_OVERRIDES = (("REDIS_PASSWORD", "requirepass"), ("REDIS_MAXMEMORY", "maxmemory"),
                         ("REDIS_MAXMEMORY_POLICY", "maxmemory-policy"))

REWRITE_SIGNATURE = "# Generated by CONFIG REWRITE"


def _index() -> tuple[dict[str, Directive], dict[str, str]]:
    """name (primary or alias, lower case) -> Directive; alias -> primary name."""
    by_name: dict[str, Directive] = {}
    alias_of: dict[str, str] = {}
    for directive in DIRECTIVES:
        for name in (directive.name, *directive.aliases):
            if name in by_name:
                raise ValueError(f"directive {name} declared twice")
            by_name[name] = directive
        alias_of.update((alias, directive.name) for alias in directive.aliases)
    return by_name, alias_of


DIRECTIVE_INDEX, ALIASES = _index()


def lookup(name: str) -> Directive | None:
    return DIRECTIVE_INDEX.get(name.lower())


def canonical_name(name: str) -> str:
    lowered = name.lower()
    return ALIASES.get(lowered, lowered)


class ConfigSetError(Exception):
    """CONFIG SET failed; `text` is the whole error reply (without the leading '-')."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


Applier = Callable[[], None]


class Config:
    """Current directive values, with change listeners for settings cached on the hot path."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {d.name: d.default for d in DIRECTIVES}
        self.values["dir"] = os.getcwd()
        self.listeners: dict[str, list[Callable[[Any], None]]] = {}
        self.renamed_commands: list[tuple[str, str]] = []
        self.users: list[list[str]] = []  # `user` directives, as words, for the ACL module
        self.modules: list[list[str]] = []  # `loadmodule` directives (Ember cannot load modules)
        self.module_configs: dict[str, str] = {}  # `module.name value` lines
        self.config_file: str | None = None  # absolute path, for CONFIG REWRITE and INFO
        # Set by the ACL module: every user as a `user <name> <rules>` line, for CONFIG REWRITE.
        self.describe_users: Callable[[], list[str]] | None = None
        self.explicit: set[str] = set()  # directives set by the file, the CLI or CONFIG SET
        self._loading = False  # inside a config file load: `save` lines accumulate
        self._save_lines_seen = False

    # -- reading ----------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            return self.values[canonical_name(name)]

    def __contains__(self, name: str) -> bool:
        return canonical_name(name) in self.values

    def shown(self, name: str) -> str:
        """The value of a directive (or alias) as CONFIG GET shows it."""
        directive = DIRECTIVE_INDEX[name.lower()]
        if directive.name == "dir":
            return _current_directory()
        return directive.kind.format(self.values[directive.name])

    def get_matching(self, pattern: str) -> dict[str, str]:
        """CONFIG GET for one pattern: shown name -> value (aliases are separate names)."""
        return self.get_many([pattern])

    def get_many(self, patterns: Iterable[str]) -> dict[str, str]:
        """CONFIG GET: an exact name matches itself (hidden ones too, keeping the spelling asked
        for); a glob matches every non-hidden name, case-insensitively. Each name appears once."""
        matched: dict[str, str] = {}  # lower-case name -> name as shown
        for pattern in patterns:
            if not any(char in pattern for char in "[*?"):
                if pattern.lower() in DIRECTIVE_INDEX and pattern.lower() not in matched:
                    matched[pattern.lower()] = pattern
                continue
            matches = glob_matcher(pattern.encode("utf-8", "surrogateescape"), nocase=True)
            for name, directive in DIRECTIVE_INDEX.items():
                if not directive.hidden and name not in matched and matches(name.encode()):
                    matched[name] = name
        return {shown: self.shown(name) for name, shown in matched.items()}

    def not_acted_on(self) -> list[str]:
        """Directives set explicitly that Ember accepts but does not act on yet."""
        return [d.name for d in DIRECTIVES if not d.acted_on and d.name in self.explicit]

    def on_change(self, name: str, callback: Callable[[Any], None]) -> None:
        self.listeners.setdefault(canonical_name(name), []).append(callback)

    # -- setting at start-up ---------------------------------------------------------------------

    def apply(self, name: str, args: list[str]) -> None:
        """Set one directive from the words of a config line (file, CLI or environment)."""
        directive = lookup(name)
        if directive is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        if not directive.multi_arg and len(args) != 1:
            raise ConfigError("wrong number of arguments")
        if directive.multi_arg and len(args) == 1 and args[0]:
            # One non-empty argument holds the words (`--save "900 1"`): split it like a line.
            args = tokenize_line(args[0]) or []
        if directive.name == "save" and self._loading:
            value = self._accumulated_save(directive, args)
        else:
            value = self.parse_value(directive, args)
        self._store(directive, value)
        self.explicit.add(directive.name)

    def _accumulated_save(self, directive: Directive, args: list[str]) -> Any:
        """In a file, `save` lines add up (the first one replaces the defaults); `save ""` clears."""
        value = self.parse_value(directive, args)
        if value and self._save_lines_seen and self.values["save"]:
            value = self.values["save"] + " " + value
        self._save_lines_seen = True
        return value

    def parse_value(self, directive: Directive, args: list[str]) -> Any:
        kind = directive.kind
        if isinstance(kind, OutputBufferLimitKind):
            return kind.parse_update(args, self.values[directive.name])
        return kind.parse(args)

    def _store(self, directive: Directive, value: Any) -> None:
        if directive.effect is not None:
            value = directive.effect(value)
        self.values[directive.name] = value

    def rename_command(self, old: str, new: str) -> None:
        self.renamed_commands.append((old, new))

    # -- CONFIG SET ---------------------------------------------------------------------------

    def set_many(self, pairs: list[tuple[str, str]], *, protected_allowed: bool = False,
                 loading: bool = False, appliers: Mapping[str, Applier] | None = None) -> None:
        """CONFIG SET name value [name value ...]: all or nothing. Raises ConfigSetError with
        Redis's reply text; on failure every value set so far is restored.

        `appliers` maps directive names to runtime actions (rebinding listeners...) run once each
        after all values are set; one raising ConfigError rolls everything back."""
        appliers = appliers or {}
        directives = _check_set_arguments(pairs, protected_allowed, loading)
        old_values = {d.name: self.values[d.name] for d in directives}
        changed: dict[Directive, str] = {}  # directive -> the name it was set by
        try:
            for directive, (name, text) in zip(directives, pairs, strict=True):
                if self._set_from_command(directive, name, text):
                    changed[directive] = name
            _run_appliers(changed, appliers)
        except ConfigSetError:
            self._restore(old_values, list(changed), appliers)
            raise
        for directive in changed:
            self.explicit.add(directive.name)
            for callback in self.listeners.get(directive.name, ()):
                callback(self.values[directive.name])

    def _set_from_command(self, directive: Directive, name: str, text: str) -> bool:
        """Set one value from CONFIG SET text; False when it is unchanged (nothing to apply)."""
        # Redis splits a several-word value on every single space.
        args = (text.split(" ") if text else []) if directive.multi_arg else [text]
        try:
            value = self.parse_value(directive, args)
            if value == self.values[directive.name] and directive.effect is None:
                return False
            self._store(directive, value)
        except ConfigError as err:
            raise ConfigSetError(_set_failed(name.lower(), str(err))) from None
        return True

    def _restore(self, old_values: dict[str, Any], changed: list[Directive],
                 appliers: Mapping[str, Applier]) -> None:
        for directive in changed:
            try:
                self._store(directive, old_values[directive.name])
            except ConfigError:
                self.values[directive.name] = old_values[directive.name]
        for applier in dict.fromkeys(appliers[d.name] for d in changed if d.name in appliers):
            with contextlib.suppress(ConfigError):  # Redis only logs a failed restore
                applier()

    # -- CONFIG REWRITE -----------------------------------------------------------------------

    def rewrite(self, path: str | None = None, user_lines: list[str] | None = None) -> None:
        """CONFIG REWRITE: rewrite the config file keeping its comments and layout (see
        `rewrite_config_text`); replaced atomically. Raises OSError."""
        path = path or self.config_file
        if path is None:
            raise ConfigError("The server is running without a config file")
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                old_text = handle.read()
        except FileNotFoundError:
            old_text = ""
        if user_lines is None:
            user_lines = self.describe_users() if self.describe_users is not None else self.default_user_lines()
        _replace_file(path, rewrite_config_text(self, old_text, user_lines))

    def default_user(self) -> tuple[list[str], list[str]]:
        """The default user's flags and password hashes (requirepass's SHA-256, if set)."""
        password = self.values["requirepass"]
        if not password:
            return ["on", "nopass", "sanitize-payload"], []
        return ["on", "sanitize-payload"], [hashlib.sha256(password.encode("utf-8", "surrogateescape")).hexdigest()]

    def default_user_rules(self) -> str:
        """The default user as Redis 7.2 describes it (ACL LIST, CONFIG REWRITE): its flags, its
        passwords, then its rights (every key, channel and command)."""
        flags, hashes = self.default_user()
        return " ".join([*flags, *(f"#{digest}" for digest in hashes), "~* &* +@all"])

    def default_user_lines(self) -> list[str]:
        """`user` lines for CONFIG REWRITE when no ACL module describes the users: the default
        user as Redis 7.2 describes it and the users declared in the config file, in name order
        (Redis walks its sorted user tree)."""
        users = {"default": self.default_user_rules()}
        users.update((words[0], " ".join(words[1:])) for words in self.users if words[0] != "default")
        return [f"user {name} {rules}" for name, rules in sorted(users.items(), key=lambda item: item[0].encode())]


def _current_directory() -> str:
    try:
        return os.getcwd()
    except OSError:
        return ""


def _set_failed(name: str, reason: str) -> str:
    return f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"


def _check_set_arguments(pairs: list[tuple[str, str]], protected_allowed: bool, loading: bool) -> list[Directive]:
    """Redis's first pass over the names; the first problem found, in argument order, is the
    error: unknown name, immutable or protected directive, loading, duplicate name."""
    directives: list[Directive] = []
    seen: set[str] = set()
    for name, _ in pairs:
        directive = lookup(name)
        if directive is None:
            raise ConfigSetError(f"ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
        if not directive.mutable:
            raise ConfigSetError(_set_failed(name, "can't set immutable config"))
        if directive.protected and not protected_allowed:
            raise ConfigSetError(_set_failed(name, "can't set protected config"))
        if loading and directive.deny_loading:
            raise ConfigSetError("LOADING Redis is loading the dataset in memory")
        if name.lower() in seen:  # an alias and its directive are different names, as in Redis
            raise ConfigSetError(_set_failed(name, "duplicate parameter"))
        seen.add(name.lower())
        directives.append(directive)
    return directives


def _run_appliers(changed: Mapping[Directive, str], appliers: Mapping[str, Applier]) -> None:
    """Run each distinct runtime applier once, after every value is set (like Redis)."""
    done: set[Applier] = set()
    for directive, name in changed.items():
        applier = appliers.get(directive.name)
        if applier is None or applier in done:
            continue
        done.add(applier)
        try:
            applier()
        except ConfigError as err:
            raise ConfigSetError(_set_failed(name.lower(), str(err))) from None


# -- CONFIG REWRITE: Redis's algorithm ------------------------------------------------------------


@dataclass
class _RewriteState:
    lines: list[str]
    option_lines: dict[str, list[int]]  # option -> indexes of its old lines, first first
    processed: set[str] = field(default_factory=set)
    needs_signature: bool = True

    def rewrite_line(self, option: str, line: str, force: bool) -> None:
        """Reuse the option's next old line; else append (after the signature) when forced."""
        self.processed.add(option)
        old = self.option_lines.get(option)
        if old:
            self.lines[old.pop(0)] = line
        elif force:
            if self.needs_signature:
                self.lines.append(REWRITE_SIGNATURE)
                self.needs_signature = False
            self.lines.append(line)

    def blank_orphans(self) -> None:
        """Old lines of rewritten options that were not reused become empty lines."""
        for option, indexes in self.option_lines.items():
            if option in self.processed:
                for index in indexes:
                    self.lines[index] = ""
                indexes.clear()

    def content(self) -> str:
        """The lines, each runs of empty lines squeezed to one."""
        out: list[str] = []
        for line in self.lines:
            if line or not out or out[-1]:
                out.append(line)
        return "".join(line + "\n" for line in out)


def _read_rewrite_state(old_text: str) -> _RewriteState:
    from .protocol.parser import split_inline

    state = _RewriteState([], {})
    if not old_text:
        return state
    for raw in old_text.split("\n"):
        line = raw.strip("\r\n\t ")
        if not line or line.startswith("#"):
            if line == REWRITE_SIGNATURE:
                state.needs_signature = False
            state.lines.append(line)
            continue
        words = split_inline(line.encode("utf-8", "surrogateescape"))
        name = words[0].decode("utf-8", "surrogateescape").lower() if words else ""
        if not words or (name not in DIRECTIVE_INDEX and name not in FILE_ONLY_DIRECTIVES):
            state.lines.append("# ??? " + line)  # unparsable or unknown: kept as a comment
            continue
        state.lines.append(line)
        # Old names (slave-*, *-ziplist-*, lua-time-limit) count as the directive's name.
        option = ALIASES.get(name, name)
        state.option_lines.setdefault(option, []).append(len(state.lines) - 1)
    return state


def rewrite_config_text(config: Config, old_text: str, user_lines: list[str]) -> str:
    """The new config file text: each directive rewritten in place of its old line(s); values
    that differ from the default and had no line are appended after the signature comment;
    old lines of directives now written fewer times are blanked."""
    state = _read_rewrite_state(old_text)
    for directive in DIRECTIVES:
        lines = directive.kind.rewrite(directive.name, config.values[directive.name], directive.default)
        if lines is None:
            state.processed.add(directive.name)
        for line, force in lines or ():
            state.rewrite_line(directive.name, line, force)
        state.processed.add(directive.name)
    if config.values["aclfile"]:
        state.processed.add("user")
    else:
        for line in user_lines:
            state.rewrite_line("user", line, True)
        state.processed.add("user")
    state.processed.add("loadmodule")
    state.blank_orphans()
    return state.content()


def _replace_file(path: str, content: str) -> None:
    """Write content to a temporary file beside path, fsync, chmod 0644 (less umask), rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp_path = tempfile.mkstemp(prefix=os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o644 & ~umask)
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise


# -- loading config text ------------------------------------------------------------------------


def tokenize_line(line: str) -> list[str] | None:
    """Split a redis.conf line as Redis does (quotes and escapes); None for an unbalanced quote."""
    from .protocol.parser import split_inline

    words = split_inline(line.encode("utf-8", "surrogateescape"))
    if words is None:
        return None
    return [w.decode("utf-8", "surrogateescape") for w in words]


def fatal_header() -> str:
    return f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_COMPAT_VERSION}) ***\n"


def _fatal(number: int, line: str, reason: str) -> str:
    return f"{fatal_header()}Reading the configuration file, at line {number}\n>>> '{line}'\n{reason}"


RenameHook = Callable[[str, str], None]


class ConfigLoader:
    """Applies redis.conf text to a Config the way Redis's loadServerConfigFromString does.

    `rename_command(old, new)` validates and applies `rename-command` while loading (raising
    ConfigError with Redis's reason); without it renames are only recorded."""

    def __init__(self, config: Config, rename_command: RenameHook | None = None) -> None:
        self.config = config
        self.rename_hook = rename_command

    def load_text(self, text: str) -> None:
        self.load_lines(text.split("\n"))

    def load_lines(self, lines: list[str], first_number: int = 1) -> None:
        """Apply config lines; errors name the line number (counting from first_number)."""
        config = self.config
        was_loading, config._loading = config._loading, True
        try:
            for number, raw in enumerate(lines, start=first_number):
                self._load_numbered_line(number, raw.strip(" \t\r\n"))
        finally:
            config._loading = was_loading

    def _load_numbered_line(self, number: int, line: str) -> None:
        if not line or line.startswith("#"):
            return
        words = tokenize_line(line)
        if words is None:
            raise ConfigError(_fatal(number, line, "Unbalanced quotes in configuration line"))
        if not words:
            return
        try:
            self.load_line(words)
        except ConfigError as err:
            reason = str(err)
            if reason.startswith(("\n*** FATAL", "Fatal error")):
                raise  # from an included file: already a whole message
            raise ConfigError(_fatal(number, line, reason)) from None

    def load_line(self, words: list[str]) -> None:
        name, args = words[0].lower(), words[1:]
        config = self.config
        if name in DIRECTIVE_INDEX:
            config.apply(name, args)
        elif DEPRECATED_DIRECTIVES.get(name) == len(words):
            return
        elif name == "include" and len(args) == 1:
            self.include(args[0])
        elif name == "rename-command" and len(args) == 2:
            if self.rename_hook is not None:
                self.rename_hook(args[0], args[1])
            config.rename_command(args[0], args[1])
        elif name == "user" and args:
            config.users.append(args)
        elif name == "loadmodule" and args:
            config.modules.append(args)
        elif "." in name:
            if len(args) != 1:
                raise ConfigError("Module config specified without value")
            config.module_configs[name] = args[0]
        elif name == "sentinel":
            if args:
                raise ConfigError("sentinel directive while not in sentinel mode")
        else:
            raise ConfigError("Bad directive or wrong number of arguments")

    def include(self, pattern: str) -> None:
        """`include path`: a pattern with wildcards includes every match (none is fine)."""
        self.load_text(read_config_files(pattern))

    def finish(self) -> None:
        """Redis's checks once everything is loaded."""
        config = self.config
        logfile = config.values["logfile"]
        if logfile:
            try:
                with open(logfile, "a"):
                    pass
            except OSError as err:
                raise ConfigError(f"{fatal_header()}Can't open the log file: {os.strerror(err.errno or 0)}") from None
        if config.values["cluster-enabled"] and config.values["replicaof"]:
            raise ConfigError(f"{fatal_header()}replicaof directive not allowed in cluster mode")
        if config.users and config.values["aclfile"]:
            raise ConfigError(
                "Configuring Redis with users defined in redis.conf and at the same setting an ACL file "
                "path is invalid. This setup is very likely to lead to configuration errors and security "
                "holes, please define either an ACL file or declare users directly in your redis.conf, "
                "but not both.")
        if config.modules:
            raise ConfigError(f"Module {config.modules[0][0]} failed to load: Ember cannot load Redis modules")
        if config.module_configs:
            raise ConfigError("Module Configuration detected without loadmodule directive or no "
                              "ApplyConfig call: aborting")


def read_config_files(pattern: str) -> str:
    """The text of a config file; a pattern with wildcards reads every match, in order."""
    if any(char in pattern for char in "*?["):
        return "".join(read_config_file(path) for path in sorted(glob.glob(pattern)))
    return read_config_file(pattern)


def read_config_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
            return handle.read()
    except OSError as err:
        raise ConfigError(f"Fatal error, can't open config file '{path}': {os.strerror(err.errno or 0)}") from None


def apply_environment(config: Config, environ: Mapping[str, str]) -> None:
    """The container overrides (ENVIRONMENT_OVERRIDES); errors name the variable."""
    for variable, name in ENVIRONMENT_OVERRIDES:
        value = environ.get(variable)
        if value is None:
            continue
        try:
            config.apply(name, [value])
        except ConfigError as err:
            raise ConfigError(f"{fatal_header()}Reading environment variable {variable}\n"
                              f">>> '{name} {repr_config_string(value)}'\n{err}") from None


def load_config_text(config: Config, text: str) -> None:
    """Apply redis.conf text (and Redis's end-of-load checks); raises ConfigError with Redis's
    '*** FATAL CONFIG FILE ERROR ***' text."""
    loader = ConfigLoader(config)
    loader.load_text(text)
    loader.finish()
