"""`ember-server`: the server's command line, with redis-server's conventions.

`ember-server [/path/to/redis.conf] [--directive value ...] [-]`: the config file (wildcards
allowed) is read first, then stdin when '-' is the first or last argument, then the container
environment overrides (REDIS_PASSWORD, REDIS_MAXMEMORY, REDIS_MAXMEMORY_POLICY; see
ember/config.py), then each `--name args...` as one more config line, so the command line wins.
Options are turned into config text exactly as redis-server does it (each value quoted), so
errors name the same line numbers Redis would. `-v`/`--version` prints the version; `-h`/`--help`
prints the usage (to stderr, exit status 1, like redis-server); a bad option or directive prints
Redis's "FATAL CONFIG FILE ERROR" text and exits with status 1.

The operations CLI (`ember`) lives in ember/tools.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from . import REDIS_COMPAT_VERSION, __version__
from .config import (
    Config,
    ConfigError,
    ConfigLoader,
    RenameHook,
    apply_environment,
    read_config_files,
    repr_config_string,
    tokenize_line,
)

USAGE = """Usage: ember-server [/path/to/redis.conf] [options] [-]
       ember-server - (read config from stdin)
       ember-server -v or --version
       ember-server -h or --help

Examples:
       ember-server (run the server with default conf)
       echo 'maxmemory 128mb' | ember-server -
       ember-server /etc/redis/6379.conf
       ember-server --port 7777
       ember-server --port 7777 --replicaof 127.0.0.1 8888
       ember-server /etc/myredis.conf --loglevel verbose -
       ember-server /etc/myredis.conf --loglevel verbose
"""


@dataclass
class CommandLine:
    config_file: str | None
    read_stdin: bool
    options: str  # the options as config text, one directive a line


def parse_command_line(argv: list[str]) -> CommandLine:
    """Split argv (without the program name) as redis-server's main() does."""
    if argv and not argv[0].startswith("-"):
        options, read_stdin = _options_text(argv[1:], first_index=1)
        return CommandLine(argv[0], read_stdin, options)
    options, read_stdin = _options_text(argv, first_index=0)
    return CommandLine(None, read_stdin, options)


def options_to_config_text(options: list[str]) -> str:
    """['--port', '7000', '--save', ''] -> 'port "7000" \nsave "" ' (redis-server's rule)."""
    return _options_text(options, first_index=1)[0]


def _options_text(words: list[str], first_index: int) -> tuple[str, bool]:
    """(config text, read stdin?) for the option words; first_index is the position of words[0]
    in argv after the program name ('-' means stdin only as the very first or last argument)."""
    read_stdin = False
    lines: list[str] = []
    value_expected = False  # the previous word was a bare `--name`: this word is its value
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else None
        if word == "-" and (index + first_index == 0 or following is None):
            read_stdin = True
        elif not value_expected and word.startswith("--"):
            lines.append(word[2:] + " ")
            value_expected = _takes_value(word, following, lines)
        else:
            if not lines:
                lines.append("")
            lines[-1] += repr_config_string(word) + " "
            value_expected = False
    return "\n".join(lines), read_stdin


def _takes_value(word: str, following: str | None, lines: list[str]) -> bool:
    """After `--name`: whether the next word is its value. A bare `--save` followed by another
    option (or nothing) means `save ""`, for command lines generated from empty lists."""
    words = tokenize_line(word)
    if words is None or len(words) != 1:
        return False  # "--port 6380" in one argument: name and value together
    if word.lower() == "--save" and (following is None or following.startswith("--")):
        lines[-1] += '""'
        return False
    return not (word.lower() == "--sentinel" and (following is None or following.startswith("--")))


def build_config(argv: list[str], stdin_text: str | None = None, environ: Mapping[str, str] | None = None,
                 rename_command: RenameHook | None = None) -> Config:
    """The configuration the command line describes; raises ConfigError with the text to print."""
    command_line = parse_command_line(argv)
    config = Config()
    text = ""
    if command_line.config_file is not None:
        config.config_file = os.path.abspath(command_line.config_file)
        text += read_config_files(config.config_file)
    if command_line.read_stdin:
        text += stdin_text if stdin_text is not None else sys.stdin.read()
    loader = ConfigLoader(config, rename_command)
    # Redis loads file + stdin + "\n" + options as one text: keep its line numbers.
    lines = (text + "\n" + command_line.options).split("\n")
    file_line_count = len(text.split("\n"))
    loader.load_lines(lines[:file_line_count])
    apply_environment(config, os.environ if environ is None else environ)
    loader.load_lines(lines[file_line_count:], first_number=file_line_count + 1)
    loader.finish()
    return config


def rename_in_command_table(old: str, new: str) -> None:
    """`rename-command old new` against the live command table, with Redis's errors."""
    from .commands.table import TABLE

    if TABLE.lookup(old.encode("utf-8", "surrogateescape")) is None:
        raise ConfigError("No such command in rename-command")
    target = new.encode("utf-8", "surrogateescape")
    if new and new.lower() != old.lower() and TABLE.lookup(target) is not None:
        raise ConfigError("Target command name already exists")
    TABLE.rename(old, new)


def version_line() -> str:
    """redis-server's `v=` field carries the Redis version Ember is compatible with, because
    tools read it to decide what the server supports."""
    python = sys.version.split()[0]
    return f"Ember server v={REDIS_COMPAT_VERSION} ember={__version__} python={python} bits=64"


def _special_first_argument(argv: list[str]) -> int | None:
    """Handle -v/--version, -h/--help and the redis-server modes Ember does not have."""
    first = argv[0] if argv else ""
    if first in ("-v", "--version"):
        print(version_line())
        return 0
    if first in ("-h", "--help"):
        print(USAGE, file=sys.stderr, end="")
        return 1
    if first in ("--test-memory", "--check-system"):
        print(f"ember-server: {first} is a redis-server tool for its C memory allocator; Ember does "
              "not have it. Use memtester or your platform's memory diagnostics instead.", file=sys.stderr)
        return 1
    if "--sentinel" in argv or os.path.basename(sys.argv[0]).endswith("sentinel"):
        print("ember-server: Sentinel mode is not supported by Ember.", file=sys.stderr)
        return 1
    return None


def _write_pidfile(path: str) -> bool:
    try:
        with open(path, "w") as handle:
            handle.write(f"{os.getpid()}\n")
    except OSError as err:
        print(f"Failed to write PID file: {os.strerror(err.errno or 0)}", file=sys.stderr)
        return False
    return True


def server_main(argv: list[str] | None = None) -> int:
    from .commands import load_all
    from .server.main import run_server

    argv = sys.argv[1:] if argv is None else argv
    status = _special_first_argument(argv)
    if status is not None:
        return status
    load_all()  # the command table must exist for rename-command
    try:
        config = build_config(argv, rename_command=rename_in_command_table)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    pidfile = config["pidfile"]
    wrote_pidfile = bool(pidfile) and _write_pidfile(pidfile)
    try:
        return run_server(config)
    finally:
        if wrote_pidfile:
            with contextlib.suppress(OSError):
                os.unlink(pidfile)


def main() -> None:
    sys.exit(server_main())
