"""Function commands (Redis's functions.c): FCALL FCALL_RO and FUNCTION (LOAD DELETE FLUSH LIST
DUMP RESTORE STATS KILL HELP). The libraries live in `ember.scripting.functions`; these handlers
parse arguments and turn its errors into Redis's replies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..persistence import snapshot
from ..persistence.rdb import verify_dump_payload
from ..protocol.errors import CommandError
from ..scripting.functions import FunctionError
from .scripting import script_keys
from .server_admin import declare_help, subcommand_syntax_error
from .table import command, container

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "scripting"
FCALL_FLAGS = "noscript skip_monitor may_replicate no_mandatory_keys stale"
FCALL_RO_FLAGS = "noscript skip_monitor no_mandatory_keys stale readonly"


def fcall_generic(client: Client, args: list[bytes], read_only: bool):
    server = client.server
    if server.monitors:
        server.feed_monitors(client, args)  # before the function's own commands, as Redis does
    return server.scripts.functions.fcall(client, args, read_only)


@command("fcall", -3, flags=FCALL_FLAGS, acl="scripting", group=GROUP, since="7.0.0", get_keys=script_keys,
         summary="Invokes a function.", complexity="Depends on the function that is executed.")
def fcall(client: Client, args: list[bytes]):
    return fcall_generic(client, args, read_only=False)


@command("fcall_ro", -3, flags=FCALL_RO_FLAGS, acl="scripting", group=GROUP, since="7.0.0",
         get_keys=script_keys, summary="Invokes a read-only function.",
         complexity="Depends on the function that is executed.")
def fcall_ro(client: Client, args: list[bytes]):
    return fcall_generic(client, args, read_only=True)


container("function", -2, group=GROUP, since="7.0.0", summary="A container for function commands.")


def _libraries(client: Client):
    return client.server.scripts.functions


@command("function|load", -3, flags="write denyoom noscript", acl="scripting", group=GROUP, since="7.0.0",
         summary="Creates a library.", complexity="O(1) (considering compilation time is redundant)")
def function_load(client: Client, args: list[bytes]):
    replace = False
    position = 2
    while position < len(args) - 1:
        option = args[position]
        position += 1
        if option.lower() != b"replace":
            raise CommandError(f"ERR Unknown option given: {option.decode('utf-8', 'replace')}")
        replace = True
    if position >= len(args):
        raise CommandError("ERR Function code is missing")
    try:
        name = _libraries(client).create(args[position], replace)
    except FunctionError as err:
        raise CommandError(f"ERR {err}") from None
    client.server.dirty += 1
    return name


@command("function|delete", 3, flags="write noscript", acl="scripting", group=GROUP, since="7.0.0",
         summary="Deletes a library and its functions.", complexity="O(1)")
def function_delete(client: Client, args: list[bytes]):
    try:
        _libraries(client).delete(args[2])
    except FunctionError as err:
        raise CommandError(f"ERR {err}") from None
    client.server.dirty += 1
    return "OK"


@command("function|flush", -2, flags="write noscript", acl="scripting", group=GROUP, since="7.0.0",
         summary="Deletes all libraries and functions.", complexity="O(N) where N is the number of functions deleted")
def function_flush(client: Client, args: list[bytes]):
    if len(args) > 3:
        raise subcommand_syntax_error(args)
    if len(args) == 3 and args[2].lower() not in (b"async", b"sync"):
        raise CommandError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    _libraries(client).flush()
    client.server.dirty += 1
    return "OK"


@command("function|list", -2, flags="noscript", acl="scripting", group=GROUP, since="7.0.0",
         summary="Returns information about all libraries.", complexity="O(N) where N is the number of functions")
def function_list(client: Client, args: list[bytes]):
    with_code = False
    pattern = None
    position = 2
    while position < len(args):
        option = args[position].lower()
        if not with_code and option == b"withcode":
            with_code = True
        elif pattern is None and option == b"libraryname":
            if position >= len(args) - 1:
                raise CommandError("ERR library name argument was not given")
            position += 1
            pattern = args[position]
        else:
            raise CommandError(f"ERR Unknown argument {args[position].decode('utf-8', 'replace')}")
        position += 1
    return _libraries(client).list(pattern, with_code)


@command("function|dump", 2, flags="noscript", acl="scripting", group=GROUP, since="7.0.0",
         summary="Dumps all libraries into a serialized binary payload.",
         complexity="O(N) where N is the number of functions")
def function_dump(client: Client, args: list[bytes]):
    return _libraries(client).dump()


RESTORE_POLICIES = {b"append": "APPEND", b"replace": "REPLACE", b"flush": "FLUSH"}


@command("function|restore", -3, flags="write denyoom noscript", acl="scripting", group=GROUP, since="7.0.0",
         summary="Restores all libraries from a payload.", complexity="O(N) where N is the number of functions on the payload")
def function_restore(client: Client, args: list[bytes]):
    if len(args) > 4:
        raise subcommand_syntax_error(args)
    policy = "APPEND"
    if len(args) == 4:
        policy = RESTORE_POLICIES.get(args[3].lower(), "")
        if not policy:
            raise CommandError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    server = client.server
    payload = args[2]
    if not verify_dump_payload(payload, snapshot.state(server).skip_checksum_validation):
        raise CommandError("ERR DUMP payload version or checksum are wrong")
    try:
        _libraries(client).restore(payload, policy)
    except FunctionError as err:
        raise CommandError(f"ERR {err}") from None
    server.dirty += 1
    return "OK"


@command("function|stats", 2, flags="noscript allow_busy", acl="scripting", group=GROUP, since="7.0.0",
         summary="Returns information about a function during execution.", complexity="O(1)")
def function_stats(client: Client, args: list[bytes]):
    return _libraries(client).stats()


@command("function|kill", 2, flags="noscript allow_busy", acl="scripting", group=GROUP, since="7.0.0",
         summary="Terminates a function during execution.", complexity="O(1)")
def function_kill(client: Client, args: list[bytes]):
    return client.server.scripts.kill(eval_mode=False)


declare_help("function", (
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION "
    "RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
), since="7.0.0", group=GROUP, acl="scripting")
