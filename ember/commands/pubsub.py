"""Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB introspection.

Subscription commands answer once per channel (a push in RESP3, an array in RESP2), so they add
their replies directly and return NO_REPLY.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.encoder import Push
from ..server.client import NO_REPLY
from .table import command, container

if TYPE_CHECKING:
    from ..server.client import Client
    from ..server.pubsub import PubSub

GROUP = "pubsub"
SUBSCRIBE_FLAGS = "pubsub noscript loading stale"


def _confirm(client: Client, kind: bytes, name: bytes | None, count: int) -> None:
    client.add_reply(Push([kind, name, count]))


def _subscribe_all(client: Client, names: list[bytes], kind: bytes, add, count) -> object:
    for name in names:
        add(client, name)
        _confirm(client, kind, name, count(client))
    return NO_REPLY


def _unsubscribe_all(client: Client, names: list[bytes], current: set[bytes], kind: bytes, remove, count) -> object:
    targets = names or list(current)  # no names: every current subscription
    if not targets:
        _confirm(client, kind, None, count(client))
        return NO_REPLY
    for name in list(targets):
        remove(client, name)
        _confirm(client, kind, name, count(client))
    return NO_REPLY


def _pubsub(client: Client) -> PubSub:
    return client.server.pubsub


def _total(client: Client) -> int:
    return len(client.channels) + len(client.patterns)


def _shard_total(client: Client) -> int:
    return len(client.shard_channels)


@command("subscribe", -2, flags=SUBSCRIBE_FLAGS, group=GROUP, since="2.0.0",
         summary="Listens for messages published to the given channels.")
def subscribe(client: Client, args: list[bytes]):
    return _subscribe_all(client, args[1:], b"subscribe", _pubsub(client).subscribe, _total)


@command("unsubscribe", -1, flags=SUBSCRIBE_FLAGS, group=GROUP, since="2.0.0",
         summary="Stops listening to the given channels, or to all channels.")
def unsubscribe(client: Client, args: list[bytes]):
    return _unsubscribe_all(client, args[1:], client.channels, b"unsubscribe", _pubsub(client).unsubscribe, _total)


@command("psubscribe", -2, flags=SUBSCRIBE_FLAGS, group=GROUP, since="2.0.0",
         summary="Listens for messages published to channels matching the glob patterns.")
def psubscribe(client: Client, args: list[bytes]):
    return _subscribe_all(client, args[1:], b"psubscribe", _pubsub(client).psubscribe, _total)


@command("punsubscribe", -1, flags=SUBSCRIBE_FLAGS, group=GROUP, since="2.0.0",
         summary="Stops listening to the given patterns, or to all patterns.")
def punsubscribe(client: Client, args: list[bytes]):
    return _unsubscribe_all(client, args[1:], client.patterns, b"punsubscribe", _pubsub(client).punsubscribe, _total)


@command("ssubscribe", -2, flags=SUBSCRIBE_FLAGS, keys=(1, -1, 1), group=GROUP, since="7.0.0",
         summary="Listens for messages published to the given shard channels.")
def ssubscribe(client: Client, args: list[bytes]):
    pubsub = _pubsub(client)
    return _subscribe_all(client, args[1:], b"ssubscribe",
                          lambda c, n: pubsub.subscribe(c, n, shard=True), _shard_total)


@command("sunsubscribe", -1, flags=SUBSCRIBE_FLAGS, keys=(1, -1, 1), group=GROUP, since="7.0.0",
         summary="Stops listening to the given shard channels, or to all of them.")
def sunsubscribe(client: Client, args: list[bytes]):
    pubsub = _pubsub(client)
    return _unsubscribe_all(client, args[1:], client.shard_channels, b"sunsubscribe",
                            lambda c, n: pubsub.unsubscribe(c, n, shard=True), _shard_total)


@command("publish", 3, flags="pubsub loading stale fast may_replicate", group=GROUP, since="2.0.0",
         summary="Posts a message to a channel; returns how many clients received it.")
def publish(client: Client, args: list[bytes]):
    return _pubsub(client).publish(args[1], args[2])


@command("spublish", 3, flags="pubsub loading stale fast may_replicate", keys=(1, 1, 1), group=GROUP,
         since="7.0.0", summary="Posts a message to a shard channel.")
def spublish(client: Client, args: list[bytes]):
    return _pubsub(client).spublish(args[1], args[2])


container("pubsub", -2, group=GROUP, since="2.8.0", summary="Inspects the Pub/Sub subsystem.")

INTROSPECTION_FLAGS = "pubsub loading stale"


def _matching(names, args: list[bytes]) -> list[bytes]:
    if len(args) > 2:
        from ..keyspace.glob import glob_matcher

        matches = glob_matcher(args[2])
        return [name for name in names if matches(name)]
    return list(names)


def _flat_counts(table, names: list[bytes]) -> list:
    """[name, count, name, count, ...]: Redis replies with a flat array even in RESP3."""
    reply: list = []
    for name in names:
        reply += (name, len(table.get(name, ())))
    return reply


@command("pubsub|channels", -2, flags=INTROSPECTION_FLAGS, group=GROUP, since="2.8.0",
         summary="Lists channels with at least one subscriber, optionally filtered by a pattern.")
def pubsub_channels(client: Client, args: list[bytes]):
    return _matching(_pubsub(client).channels, args)


@command("pubsub|shardchannels", -2, flags=INTROSPECTION_FLAGS, group=GROUP, since="7.0.0",
         summary="Lists shard channels with at least one subscriber.")
def pubsub_shardchannels(client: Client, args: list[bytes]):
    return _matching(_pubsub(client).shard_channels, args)


@command("pubsub|numsub", -2, flags=INTROSPECTION_FLAGS, group=GROUP, since="2.8.0",
         summary="Subscriber counts of the given channels.")
def pubsub_numsub(client: Client, args: list[bytes]):
    return _flat_counts(_pubsub(client).channels, args[2:])


@command("pubsub|shardnumsub", -2, flags=INTROSPECTION_FLAGS, group=GROUP, since="7.0.0",
         summary="Subscriber counts of the given shard channels.")
def pubsub_shardnumsub(client: Client, args: list[bytes]):
    return _flat_counts(_pubsub(client).shard_channels, args[2:])


@command("pubsub|numpat", 2, flags=INTROSPECTION_FLAGS, group=GROUP, since="2.8.0",
         summary="The number of distinct patterns subscribed to.")
def pubsub_numpat(client: Client, args: list[bytes]):
    return len(_pubsub(client).patterns)


@command("pubsub|help", 2, flags="loading stale", group=GROUP, since="6.2.0",
         summary="Lists the PUBSUB subcommands.")
def pubsub_help(client: Client, args: list[bytes]):
    return [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Channels that have subscribers, optionally only those matching <pattern>.",
        "NUMPAT",
        "    How many distinct patterns have subscribers.",
        "NUMSUB [<channel> ...]",
        "    Subscriber count of each channel (pattern subscriptions not counted).",
        "SHARDCHANNELS [<pattern>]",
        "    Shard channels that have subscribers, optionally only those matching <pattern>.",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Subscriber count of each shard channel.",
        "HELP",
        "    This text.",
    ]
