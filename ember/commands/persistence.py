"""Persistence commands (Redis's rdb.c, cluster.c and debug.c): SAVE BGSAVE LASTSAVE DUMP RESTORE,
and the DEBUG subcommands that exercise the RDB code: RELOAD, DIGEST, DIGEST-VALUE,
SET-SKIP-CHECKSUM-VALIDATION.

The format lives in `ember.persistence.rdb`, snapshots and their state in
`ember.persistence.snapshot`, the dataset digest in `ember.persistence.digest`; these handlers
parse arguments and answer with Redis's replies and error texts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..keyspace.lfu import LfuAccessTimes
from ..persistence import snapshot
from ..persistence.digest import dataset_digest, hex_digest, value_digest
from ..persistence.rdb import RDBError, dump_payload, restore_payload, verify_dump_payload
from ..protocol.errors import SYNTAX, CommandError
from ..server.propagate import propagate_as
from .server_admin import debug_subcommand, strtod_prefix
from .table import command, parse_int

if TYPE_CHECKING:
    from ..server.client import Client

log = logging.getLogger("ember")

GROUP = "server"
BGSAVE_IN_PROGRESS = "ERR Background save already in progress"


# -- SAVE, BGSAVE, LASTSAVE -----------------------------------------------------------------------

@command("save", 1, flags="admin noscript no_async_loading no_multi", group=GROUP, since="1.0.0",
         summary="Synchronously saves the database(s) to disk.",
         complexity="O(N) where N is the total number of keys in all databases")
def save(client: Client, args: list[bytes]):
    server = client.server
    if snapshot.child_active(server):
        raise CommandError(BGSAVE_IN_PROGRESS)
    if not snapshot.save(server):
        raise CommandError("ERR")
    return "OK"


@command("bgsave", -1, flags="admin noscript no_async_loading", group=GROUP, since="1.0.0",
         summary="Asynchronously saves the database(s) to disk.", complexity="O(1)")
def bgsave(client: Client, args: list[bytes]):
    if len(args) > 1 and (len(args) > 2 or args[1].lower() != b"schedule"):
        raise CommandError(SYNTAX)
    server = client.server
    if snapshot.child_active(server):
        raise CommandError(BGSAVE_IN_PROGRESS)
    if client.in_exec:
        # Redis does not fork inside a transaction: the save starts from the next cron tick.
        snapshot.state(server).bgsave_scheduled = True
        return "Background saving scheduled"
    if not snapshot.bgsave(server):
        raise CommandError("ERR")
    return "Background saving started"


@command("lastsave", 1, flags="loading stale fast", acl="admin dangerous", group=GROUP, since="1.0.0",
         summary="Returns the Unix timestamp of the last successful save to disk.", complexity="O(1)")
def lastsave(client: Client, args: list[bytes]):
    snapshot.child_active(client.server)  # a background save that just ended counts
    return snapshot.state(client.server).lastsave


# -- DUMP, RESTORE --------------------------------------------------------------------------------

@command("dump", 2, flags="readonly", keys=(1, 1, 1), acl="keyspace", group="generic", since="2.6.0",
         summary="Returns a serialized representation of the value stored at a key.",
         complexity="O(1) to access the key and additional O(N*M) to serialize it, where N is the number "
                    "of Redis objects composing the value and M their average size. For small string values "
                    "the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).")
def dump(client: Client, args: list[bytes]):
    value = client.db.read(args[1])
    if value is None:
        return None
    return dump_payload(value, bool(client.server.config["rdbcompression"]))


def _restore_options(args: list[bytes]) -> tuple[bool, bool, int | None, int | None]:
    """REPLACE, ABSTTL, IDLETIME seconds, FREQ frequency (IDLETIME and FREQ exclude each other)."""
    replace = absttl = False
    idle = freq = None
    index = 4
    while index < len(args):
        option = args[index].lower()
        has_argument = index + 1 < len(args)
        if option == b"replace":
            replace = True
        elif option == b"absttl":
            absttl = True
        elif option == b"idletime" and has_argument and freq is None:
            index += 1
            idle = parse_int(args[index])
            if idle < 0:
                raise CommandError("ERR Invalid IDLETIME value, must be >= 0")
        elif option == b"freq" and has_argument and idle is None:
            index += 1
            freq = parse_int(args[index])
            if not 0 <= freq <= 255:
                raise CommandError("ERR Invalid FREQ value, must be >= 0 and <= 255")
        else:
            raise CommandError(SYNTAX)
        index += 1
    return replace, absttl, idle, freq


@command("restore", -4, flags="write denyoom", keys=(1, 1, 1), acl="keyspace dangerous", group="generic",
         since="2.6.0", summary="Creates a key from the serialized representation of a value.",
         complexity="O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
                    "where N is the number of Redis objects composing the value and M their average size. "
                    "For small string values the time complexity is thus O(1)+O(1*M) where M is small, so "
                    "simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because "
                    "inserting values into sorted sets is O(log(N)).")
def restore(client: Client, args: list[bytes]):
    replace, absttl, idle, freq = _restore_options(args)
    db, key, server = client.db, args[1], client.server
    existed = db.write_lookup(key) is not None
    if existed and not replace:
        raise CommandError("BUSYKEY Target key name already exists.")
    ttl = parse_int(args[2])
    if ttl < 0:
        raise CommandError("ERR Invalid TTL value, must be >= 0")
    payload = args[3]
    if not verify_dump_payload(payload, snapshot.state(server).skip_checksum_validation):
        raise CommandError("ERR DUMP payload version or checksum are wrong")
    try:
        value = restore_payload(payload, server)
    except RDBError as err:
        log.info("RESTORE of a bad payload: %s", err)
        raise CommandError("ERR Bad data format") from None
    now = server.clock_ms()
    if ttl and not absttl:
        ttl += now
    if ttl and ttl <= now:
        # Already expired: the key is not created (an old value it replaces is deleted).
        if existed and db.delete(key):
            propagate_as(client, [b"DEL", key])
            server.notifier.notify(db, "g", "del", key)
        return "OK"
    db.recreate(key, value)  # REPLACE deletes, then adds: a 'new' event, as Redis
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:  # replicas and the AOF get the absolute time, as Redis rewrites it
            propagate_as(client, [args[0], key, b"%d" % ttl, *args[3:], b"ABSTTL"])
    # As Redis's objectSetLRUOrLFU: FREQ counts under an LFU policy, IDLETIME under any other.
    lru = db.lru
    if lru.__class__ is LfuAccessTimes:
        if freq is not None:
            lru.set_frequency(key, freq, now)
    elif idle is not None:
        lru[key] = now - idle * 1000
    server.notifier.notify(db, "g", "restore", key)
    return "OK"


# -- DEBUG RELOAD, DIGEST, DIGEST-VALUE, SET-SKIP-CHECKSUM-VALIDATION ---------------------------------

_RELOAD_OPTIONS = (b"merge", b"noflush", b"nosave")


@debug_subcommand(
    "reload", -2, "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.")
def debug_reload(client: Client, args: list[bytes]):
    options = set()
    for arg in args[2:]:
        option = arg.lower()
        if option not in _RELOAD_OPTIONS:
            raise CommandError("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
        options.add(option)
    server = client.server
    if b"nosave" not in options and not snapshot.save(server):
        raise CommandError("ERR")
    dirty = server.dirty
    if b"noflush" not in options:
        snapshot.empty_dataset(server)
    try:
        stats = snapshot.load_file(server, snapshot.rdb_filename(server), merge=b"merge" in options)
    except RDBError as err:
        log.warning("%s", err)
        stats = None
    server.dirty = dirty  # emptying and reloading the same data is no change to save
    if b"noflush" in options:
        for db in server.dbs:
            db.modified_all(0)
    if stats is None:
        raise CommandError("ERR Error trying to load the RDB dump, check server logs.")
    log.info("DB reloaded by DEBUG RELOAD")
    return "OK"


@debug_subcommand("digest", 2, "DIGEST", "    Output a hex signature representing the current DB content.")
def debug_digest(client: Client, args: list[bytes]):
    return hex_digest(dataset_digest(client.server))


@debug_subcommand("digest-value", -2, "DIGEST-VALUE <key> [<key> ...]",
                  "    Output a hex signature of the values of all the specified keys.")
def debug_digest_value(client: Client, args: list[bytes]):
    db = client.db
    digests = []
    for key in args[2:]:
        value = db.data.get(key)  # like Redis: no lookup, so logically expired keys count too
        digests.append(hex_digest(0 if value is None else value_digest(db, key, value)))
    return digests


@debug_subcommand("set-skip-checksum-validation", 3, "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
                  "    Enables or disables checksum checks for RDB files and RESTORE's payload.")
def debug_set_skip_checksum_validation(client: Client, args: list[bytes]):
    snapshot.state(client.server).skip_checksum_validation = bool(int(strtod_prefix(args[2])))
    return "OK"
