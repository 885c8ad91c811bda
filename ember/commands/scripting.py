"""Scripting commands (Redis's eval.c): EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT (LOAD EXISTS
FLUSH KILL DEBUG HELP). The engine is `ember.scripting.lua`; these handlers check arguments in
Redis's order and hand over to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.errors import CommandError
from ..scripting.lua import count_keys
from .server_admin import declare_help
from .table import command, container, parse_int

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "scripting"
EVAL_FLAGS = "noscript skip_monitor may_replicate no_mandatory_keys stale"
EVAL_RO_FLAGS = "noscript skip_monitor no_mandatory_keys stale readonly"
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."


def script_keys(args: list[bytes]) -> list[int]:
    """Key positions of EVAL/FCALL-style commands: numkeys keys after the script argument."""
    try:
        numkeys = parse_int(args[2])
    except CommandError:
        return []
    return list(range(3, 3 + max(0, min(numkeys, len(args) - 3))))


def eval_generic(client: Client, args: list[bytes], by_sha: bool, read_only: bool):
    """Redis's evalGenericCommand: EVAL compiles the body (once per SHA1), EVALSHA finds it."""
    server = client.server
    if server.monitors:
        server.feed_monitors(client, args)  # before the script's own commands, as Redis does
    engine = server.scripts
    if by_sha and len(args[1]) != 40:
        raise CommandError(NOSCRIPT)
    numkeys = count_keys(args)
    if by_sha:
        script = engine.cached(args[1])
        if script is None:
            raise CommandError(NOSCRIPT)
    else:
        script = engine.load(args[1])
    return engine.eval(client, script, numkeys, args, read_only)


@command("eval", -3, flags=EVAL_FLAGS, acl="scripting", group=GROUP, since="2.6.0", get_keys=script_keys,
         summary="Executes a server-side Lua script.",
         complexity="Depends on the script that is executed.")
def eval_(client: Client, args: list[bytes]):
    return eval_generic(client, args, by_sha=False, read_only=False)


@command("evalsha", -3, flags=EVAL_FLAGS, acl="scripting", group=GROUP, since="2.6.0", get_keys=script_keys,
         summary="Executes a server-side Lua script by SHA1 digest.",
         complexity="Depends on the script that is executed.")
def evalsha(client: Client, args: list[bytes]):
    return eval_generic(client, args, by_sha=True, read_only=False)


@command("eval_ro", -3, flags=EVAL_RO_FLAGS, acl="scripting", group=GROUP, since="7.0.0",
         get_keys=script_keys, summary="Executes a read-only server-side Lua script.",
         complexity="Depends on the script that is executed.")
def eval_ro(client: Client, args: list[bytes]):
    return eval_generic(client, args, by_sha=False, read_only=True)


@command("evalsha_ro", -3, flags=EVAL_RO_FLAGS, acl="scripting", group=GROUP, since="7.0.0",
         get_keys=script_keys, summary="Executes a read-only server-side Lua script by SHA1 digest.",
         complexity="Depends on the script that is executed.")
def evalsha_ro(client: Client, args: list[bytes]):
    return eval_generic(client, args, by_sha=True, read_only=True)


container("script", -2, group=GROUP, since="2.6.0", summary="A container for Lua scripts management commands.")


@command("script|load", 3, flags="noscript stale", acl="scripting", group=GROUP, since="2.6.0",
         summary="Loads a server-side Lua script to the script cache.",
         complexity="O(N) with N being the length in bytes of the script body.")
def script_load(client: Client, args: list[bytes]):
    return client.server.scripts.load(args[2]).sha.encode()


@command("script|exists", -3, flags="noscript", acl="scripting", group=GROUP, since="2.6.0",
         summary="Determines whether server-side Lua scripts exist in the script cache.",
         complexity="O(N) with N being the number of scripts to check (so checking a single script is an "
                    "O(1) operation).")
def script_exists(client: Client, args: list[bytes]):
    engine = client.server.scripts
    return [int(engine.cached(sha) is not None) for sha in args[2:]]


@command("script|flush", -2, flags="noscript", acl="scripting", group=GROUP, since="2.6.0",
         summary="Removes all server-side Lua scripts from the script cache.",
         complexity="O(N) with N being the number of scripts in cache")
def script_flush(client: Client, args: list[bytes]):
    if len(args) > 3 or (len(args) == 3 and args[2].lower() not in (b"async", b"sync")):
        raise CommandError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    client.server.scripts.flush()
    return "OK"


@command("script|kill", 2, flags="noscript allow_busy", acl="scripting", group=GROUP, since="2.6.0",
         summary="Terminates a server-side Lua script during execution.", complexity="O(1)")
def script_kill(client: Client, args: list[bytes]):
    return client.server.scripts.kill(eval_mode=True)


@command("script|debug", 3, flags="noscript", acl="scripting", group=GROUP, since="3.2.0",
         summary="Sets the debug mode of server-side Lua scripts.", complexity="O(1)")
def script_debug(client: Client, args: list[bytes]):
    mode = args[2].lower()
    if mode == b"no":
        return "OK"
    if mode in (b"yes", b"sync"):
        # Ember has no Lua debugger (LDB); refusing beats running scripts undebugged.
        raise CommandError("ERR SCRIPT DEBUG is not supported by this server")
    raise CommandError("ERR Use SCRIPT DEBUG YES/SYNC/NO")


declare_help("script", (
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
), since="5.0.0", group=GROUP, acl="scripting")
