"""Scripting commands: EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT (LOAD EXISTS FLUSH KILL HELP)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.errors import CommandError
from .table import command, container, parse_int

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "scripting"
EVAL_FLAGS = "noscript skip_monitor may_replicate no_mandatory_keys stale"
EVAL_RO_FLAGS = "noscript skip_monitor no_mandatory_keys stale readonly"


def script_keys(args: list[bytes]) -> list[int]:
    """Key positions of EVAL-style commands: numkeys keys after the script/SHA argument."""
    try:
        numkeys = parse_int(args[2])
    except CommandError:
        return []
    return list(range(3, 3 + max(0, min(numkeys, len(args) - 3))))


def split_keys_and_args(args: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    numkeys = parse_int(args[2])
    if numkeys < 0:
        raise CommandError("ERR Number of keys can't be negative")
    if numkeys > len(args) - 3:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    return args[3 : 3 + numkeys], args[3 + numkeys :]


def _eval(client: Client, args: list[bytes], by_sha: bool, read_only: bool):
    keys, argv = split_keys_and_args(args)
    engine = client.server.scripts
    if by_sha:
        script = engine.scripts.get(args[1].lower().decode("latin-1"))
        if script is None:
            raise CommandError("NOSCRIPT No matching script. Please use EVAL.")
    else:
        script = engine.load(args[1])
    return engine.execute(client, script, keys, argv, read_only)


@command("eval", -3, flags=EVAL_FLAGS, acl="scripting", group=GROUP, since="2.6.0", get_keys=script_keys,
         summary="Runs a Lua script on the server, atomically.")
def eval_(client: Client, args: list[bytes]):
    return _eval(client, args, by_sha=False, read_only=False)


@command("evalsha", -3, flags=EVAL_FLAGS, acl="scripting", group=GROUP, since="2.6.0", get_keys=script_keys,
         summary="Runs a cached Lua script by its SHA1 digest.")
def evalsha(client: Client, args: list[bytes]):
    return _eval(client, args, by_sha=True, read_only=False)


@command("eval_ro", -3, flags=EVAL_RO_FLAGS, acl="scripting", group=GROUP, since="7.0.0", get_keys=script_keys,
         summary="Runs a read-only Lua script.")
def eval_ro(client: Client, args: list[bytes]):
    return _eval(client, args, by_sha=False, read_only=True)


@command("evalsha_ro", -3, flags=EVAL_RO_FLAGS, acl="scripting", group=GROUP, since="7.0.0", get_keys=script_keys,
         summary="Runs a cached read-only Lua script by its SHA1 digest.")
def evalsha_ro(client: Client, args: list[bytes]):
    return _eval(client, args, by_sha=True, read_only=True)


container("script", -2, group=GROUP, since="2.6.0", summary="Manages the Lua script cache.")


@command("script|load", 3, flags="noscript stale", acl="scripting", group=GROUP, since="2.6.0",
         summary="Compiles a script into the cache without running it; returns its SHA1.")
def script_load(client: Client, args: list[bytes]):
    return client.server.scripts.load(args[2]).sha.encode()


@command("script|exists", -3, flags="noscript", acl="scripting", group=GROUP, since="2.6.0",
         summary="Tells which of the given SHA1 digests are in the script cache.")
def script_exists(client: Client, args: list[bytes]):
    scripts = client.server.scripts.scripts
    return [int(sha.lower().decode("latin-1") in scripts) for sha in args[2:]]


@command("script|flush", -2, flags="noscript", acl="scripting", group=GROUP, since="2.6.0",
         summary="Empties the script cache (ASYNC or SYNC).")
def script_flush(client: Client, args: list[bytes]):
    if len(args) > 3 or (len(args) == 3 and args[2].upper() not in (b"ASYNC", b"SYNC")):
        raise CommandError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    client.server.scripts.reset()
    return "OK"


@command("script|kill", 2, flags="noscript allow_busy", acl="scripting", group=GROUP, since="2.6.0",
         summary="Stops the running script, if it has not written anything yet.")
def script_kill(client: Client, args: list[bytes]):
    result = client.server.scripts.kill()
    if isinstance(result, CommandError):
        raise result
    return result


@command("script|help", 2, flags="loading stale", acl="scripting", group=GROUP, since="5.0.0",
         summary="Lists the SCRIPT subcommands.")
def script_help(client: Client, args: list[bytes]):
    return [
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    For each digest, 1 if the script is cached, else 0.",
        "FLUSH [ASYNC|SYNC]",
        "    Empty the script cache.",
        "KILL",
        "    Stop the running script if it has not written yet.",
        "LOAD <script>",
        "    Cache a script and return its SHA1 digest without running it.",
        "HELP",
        "    This text.",
    ]
