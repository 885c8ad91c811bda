"""Command-line entry points: `ember-server` (redis-server's conventions) and `ember` (ops tools).

`ember-server [config-file] [--directive value ...]`: as in redis-server, the file (or '-' for
stdin) is read first, then each `--name args...` becomes one more config line, so the command
line wins. `--version`/`-v` and `--help`/`-h` print and exit.
"""

from __future__ import annotations

import sys

from . import REDIS_COMPAT_VERSION, __version__
from .config import Config, ConfigError, load_config_text

USAGE = """Usage: ember-server [/path/to/redis.conf] [options] [-]
       ember-server - (read config from stdin)
       ember-server -v or --version
       ember-server -h or --help

Examples:
       ember-server (run the server with default config)
       ember-server /etc/redis/6379.conf
       ember-server --port 7777
       ember-server --port 7777 --replicaof 127.0.0.1 8888
       ember-server /etc/myredis.conf --loglevel verbose -
       ember-server /etc/myredis.conf --loglevel verbose
"""


def _quote(word: str) -> str:
    """Quote an argument so the config tokenizer reads it back as one word (empty ones too)."""
    escaped = word.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def options_to_config_text(options: list[str]) -> str:
    """['--port', '7000', '--save', ''] -> 'port "7000"\\nsave ""\\n' (redis-server's rule)."""
    lines: list[str] = []
    for word in options:
        if word.startswith("--") and len(word) > 2:
            lines.append(word[2:])
        elif lines:
            lines[-1] += " " + _quote(word)
        else:
            raise ConfigError(f"Invalid option '{word}'")
    return "".join(line + "\n" for line in lines)


def build_config(argv: list[str], stdin_text: str | None = None) -> Config:
    config = Config()
    args = list(argv)
    text = ""
    if args and not args[0].startswith("-"):
        path = args.pop(0)
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                text += handle.read() + "\n"
        except OSError as err:
            raise ConfigError(f"Fatal error, can't open config file '{path}': {err.strerror}") from None
    if "-" in args:
        args.remove("-")
        text += (stdin_text if stdin_text is not None else sys.stdin.read()) + "\n"
    text += options_to_config_text(args)
    load_config_text(config, text)
    return config


def server_main(argv: list[str] | None = None) -> int:
    from .commands import load_all
    from .server.main import run_server

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-v", "--version"):
        print(f"Ember server v={__version__} redis_compat={REDIS_COMPAT_VERSION} python={sys.version.split()[0]}")
        return 0
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    try:
        config = build_config(argv)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    load_all(config)
    return run_server(config)


def main() -> None:
    sys.exit(server_main())
