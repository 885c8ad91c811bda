"""ACL (Redis's acl.c) for a server with one user, `default`: every key, channel and command
(+@all ~* &*), with requirepass as its password, or nopass while requirepass is empty.

Everything that reads users answers for it as Redis does: WHOAMI, USERS, LIST, GETUSER, DRYRUN,
CAT (from the command table's categories), LOG (failed authentications, server/acl_log.py),
GENPASS. DELUSER can delete no one. Creating users (SETUSER) and ACL files (LOAD, SAVE with
aclfile set) are refused with an error that says so.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from ..protocol.errors import CommandError
from .server_admin import declare_help, subcommand_syntax_error
from .table import ACL_CATEGORY_ORDER, TABLE, command, container, parse_int

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "server"
DEFAULT_USER = "default"
_ADMIN = "admin noscript loading stale"
_MAX_GENPASS_BITS = 4096
_NO_ACL_FILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users "
    "via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis "
    "configuration file set) in order to store users in the Redis configuration.")

container("acl", -2, group=GROUP, since="6.0.0", summary="A container for Access List Control commands.")


def _optional_argument(args: list[bytes]) -> bytes | None:
    """The one optional argument of CAT, LOG and GENPASS; more is a subcommand syntax error."""
    if len(args) > 3:
        raise subcommand_syntax_error(args)
    return args[2] if len(args) == 3 else None


def _user_not_found(name: bytes) -> CommandError:
    return CommandError(f"ERR User '{name.decode('utf-8', 'replace')}' not found")


@command("acl|whoami", 2, flags="noscript loading stale", group=GROUP, since="6.0.0",
         summary="Returns the authenticated username of the current connection.", complexity="O(1)")
def acl_whoami(client: Client, args: list[bytes]):
    return client.user.encode()


@command("acl|users", 2, flags=_ADMIN, group=GROUP, since="6.0.0",
         summary="Lists all ACL users.", complexity="O(N). Where N is the number of configured users.")
def acl_users(client: Client, args: list[bytes]):
    return [DEFAULT_USER.encode()]


@command("acl|list", 2, flags=_ADMIN, group=GROUP, since="6.0.0",
         summary="Dumps the effective rules in ACL file format.",
         complexity="O(N). Where N is the number of configured users.")
def acl_list(client: Client, args: list[bytes]):
    return [f"user {DEFAULT_USER} {client.server.config.default_user_rules()}".encode()]


@command("acl|getuser", 3, flags=_ADMIN, group=GROUP, since="6.0.0",
         summary="Lists the ACL rules of a user.",
         complexity="O(N). Where N is the number of password, command and pattern rules that the user has.")
def acl_getuser(client: Client, args: list[bytes]):
    if args[2] != DEFAULT_USER.encode():
        return None  # Redis answers a null for a user that does not exist
    flags, hashes = client.server.config.default_user()
    return {b"flags": [flag.encode() for flag in flags], b"passwords": [digest.encode() for digest in hashes],
            b"commands": b"+@all", b"keys": b"~*", b"channels": b"&*", b"selectors": []}


@command("acl|dryrun", -4, flags=_ADMIN, group=GROUP, since="7.0.0",
         summary="Simulates the execution of a command by a user, without executing the command.",
         complexity="O(1).")
def acl_dryrun(client: Client, args: list[bytes]):
    if args[2] != DEFAULT_USER.encode():
        raise _user_not_found(args[2])
    cmd = TABLE.lookup_path(args[3:])
    if cmd is None:
        raise CommandError(f"ERR Command '{args[3].decode('utf-8', 'replace')}' not found")
    given = len(args) - 3
    if (cmd.arity > 0 and cmd.arity != given) or given < -cmd.arity:
        raise CommandError(f"ERR wrong number of arguments for '{cmd.name}' command")
    return "OK"  # the default user may run every command on every key and channel


@command("acl|cat", -2, flags="noscript loading stale", group=GROUP, since="6.0.0",
         summary="Lists the ACL categories, or the commands inside a category.",
         complexity="O(1) since the categories and commands are a fixed set.")
def acl_cat(client: Client, args: list[bytes]):
    asked = _optional_argument(args)
    if asked is None:
        return [category.encode() for category in ACL_CATEGORY_ORDER]
    category = asked.decode("utf-8", "replace").lower()
    if category not in ACL_CATEGORY_ORDER:
        raise CommandError(f"ERR Unknown category '{asked.decode('utf-8', 'replace')}'")
    return [cmd.name.encode() for cmd in TABLE.all() if category in cmd.acl_categories]


@command("acl|log", -2, flags=_ADMIN, group=GROUP, since="6.0.0",
         summary="Lists recent security events generated due to ACL rules.",
         complexity="O(N) with N being the number of entries shown.")
def acl_log(client: Client, args: list[bytes]):
    asked = _optional_argument(args)
    log = client.server.acl_log
    if asked is not None and asked.lower() == b"reset":
        log.reset()
        return "OK"
    return log.newest(10 if asked is None else max(parse_int(asked), 0))


@command("acl|genpass", -2, flags="noscript loading stale", group=GROUP, since="6.0.0",
         summary="Generates a pseudorandom, secure password that can be used to identify ACL users.",
         complexity="O(N)")
def acl_genpass(client: Client, args: list[bytes]):
    asked = _optional_argument(args)
    bits = 256
    if asked is not None:
        bits = parse_int(asked)
        if not 0 < bits <= _MAX_GENPASS_BITS:
            raise CommandError("ERR ACL GENPASS argument must be the number of bits for the output "
                               "password, a positive number up to 4096")
    chars = (bits + 3) // 4  # hex digits holding that many bits
    return secrets.token_hex((chars + 1) // 2)[:chars].encode()


@command("acl|deluser", -3, flags=_ADMIN, group=GROUP, since="6.0.0",
         summary="Deletes ACL users, and terminates their connections.",
         complexity="O(1) amortized time considering the typical user.")
def acl_deluser(client: Client, args: list[bytes]):
    if DEFAULT_USER.encode() in args[2:]:
        raise CommandError("ERR The 'default' user cannot be removed")
    return 0  # no other user exists


@command("acl|setuser", -3, flags=_ADMIN, group=GROUP, since="6.0.0",
         summary="Creates and modifies an ACL user and its rules.",
         complexity="O(N). Where N is the number of rules provided.")
def acl_setuser(client: Client, args: list[bytes]):
    raise CommandError("ERR Ember has one user, 'default', whose password is requirepass: "
                       "ACL SETUSER is not supported")


def _acl_file_refused(client: Client) -> CommandError:
    if not client.server.config["aclfile"]:
        return CommandError(_NO_ACL_FILE)
    return CommandError("ERR Ember has one user, 'default', and does not read or write ACL files")


@command("acl|load", 2, flags=_ADMIN, group=GROUP, since="6.0.0",
         summary="Reloads the rules from the configured ACL file.",
         complexity="O(N). Where N is the number of configured users.")
def acl_load(client: Client, args: list[bytes]):
    raise _acl_file_refused(client)


@command("acl|save", 2, flags=_ADMIN, group=GROUP, since="6.0.0",
         summary="Saves the effective ACL rules in the configured ACL file.",
         complexity="O(N). Where N is the number of configured users.")
def acl_save(client: Client, args: list[bytes]):
    raise _acl_file_refused(client)


_ACL_HELP = (
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
)

declare_help("acl", _ACL_HELP, since="6.0.0")
