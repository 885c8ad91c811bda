"""`ember`: the operations command line (console script ember.tools.cli:main).

Every subcommand talks RESP to the server it is pointed at, so it works the same against Ember,
Redis, Valkey or ElastiCache. Exit status: 0 healthy, 1 unreachable (refused, timed out,
closed), 3 the server answered with an error (NOAUTH, LOADING, ...); 2 is click's usage error.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field

import click

from .. import __version__
from .resp_client import ReplyError, RespClient, parse_info

EXIT_UNREACHABLE = 1
EXIT_ERROR_REPLY = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="ember")
def main() -> None:
    """Operations tools for Ember and any Redis-compatible server."""


@dataclass
class Health:
    """What `ember health` reports about one server."""

    address: str
    ping_ms: float
    role: str
    version: str
    uptime_seconds: int
    connected_clients: int
    used_memory: int
    used_memory_human: str
    keys: dict[str, dict[str, int]] = field(default_factory=dict)  # db -> keys, expires


def check_health(client: RespClient, address: str) -> Health:
    """PING, then INFO: the fields an operator looks at first."""
    start = time.perf_counter()
    client.call("PING")
    ping_ms = (time.perf_counter() - start) * 1000
    info = parse_info(client.call("INFO").decode("utf-8", "replace"))
    return Health(
        address=address,
        ping_ms=round(ping_ms, 3),
        role=info.get("role", "unknown"),
        version=info.get("redis_version", "unknown"),
        uptime_seconds=int(info.get("uptime_in_seconds", 0)),
        connected_clients=int(info.get("connected_clients", 0)),
        used_memory=int(info.get("used_memory", 0)),
        used_memory_human=info.get("used_memory_human", ""),
        keys=keyspace(info),
    )


def keyspace(info: dict[str, str]) -> dict[str, dict[str, int]]:
    """The 'db0:keys=1,expires=0,avg_ttl=0' lines as {'db0': {'keys': 1, 'expires': 0}}."""
    dbs = {}
    for name, value in info.items():
        if name.startswith("db") and name[2:].isdigit():
            counts = dict(pair.split("=", 1) for pair in value.split(","))
            dbs[name] = {"keys": int(counts.get("keys", 0)), "expires": int(counts.get("expires", 0))}
    return dict(sorted(dbs.items(), key=lambda item: int(item[0][2:])))


def format_uptime(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m {seconds}s"
    return f"{minutes}m {seconds}s"


def render(health: Health) -> str:
    keys = ", ".join(f"{db}={n['keys']} (expires {n['expires']})" for db, n in health.keys.items())
    return "\n".join((
        f"OK {health.address} (PING {health.ping_ms:.2f} ms)",
        f"role:              {health.role}",
        f"version:           {health.version}",
        f"uptime:            {format_uptime(health.uptime_seconds)} ({health.uptime_seconds} s)",
        f"connected clients: {health.connected_clients}",
        f"used memory:       {health.used_memory_human or health.used_memory} ({health.used_memory} bytes)",
        f"keys:              {keys or 'none'}",
    ))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Server host name or address.")
@click.option("-p", "--port", default=6379, show_default=True, type=click.IntRange(1, 65535))
@click.option("--user", default=None, help="ACL user name for AUTH (default: the default user).")
@click.option("-a", "--password", default=None, envvar="REDISCLI_AUTH",
              help="Password for AUTH (or REDISCLI_AUTH, as redis-cli).")
@click.option("--timeout", default=5.0, show_default=True, type=float, help="Seconds to wait for the server.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def health(host: str, port: int, user: str | None, password: str | None, timeout: float, as_json: bool) -> None:
    """Check that a server answers: PING and INFO, then role, version, uptime, clients,
    memory and keys per database."""
    address = f"{host}:{port}"
    try:
        with RespClient(host, port, timeout=timeout, username=user, password=password) as client:
            report = check_health(client, address)
    except ReplyError as err:
        click.echo(f"ERROR {address}: {err}", err=True)
        sys.exit(EXIT_ERROR_REPLY)
    except OSError as err:
        click.echo(f"UNREACHABLE {address}: {err.strerror or err or type(err).__name__}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    click.echo(json.dumps(asdict(report)) if as_json else render(report))


if __name__ == "__main__":
    main()
