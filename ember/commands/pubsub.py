"""Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB introspection.

The subscription commands answer once per channel (a push in RESP3, an array in RESP2), so they
add their confirmations themselves and return NO_REPLY. Unsubscribing from nothing in particular
drops every current subscription of that kind, and with none left still confirms once, with a
null name. Delivery and the subscription tables live in server/pubsub.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..keyspace.glob import glob_matcher
from ..protocol.encoder import NULL_BULK
from ..protocol.errors import CommandError
from ..server.client import NO_REPLY
from ..server.pubsub import BULK, PubSub, push_heads
from .server_admin import declare_help, subcommand_syntax_error
from .table import command, container

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "pubsub"
SUBSCRIBE_FLAGS = "pubsub noscript loading stale"
PUBLISH_FLAGS = "pubsub loading stale fast may_replicate"
INTROSPECTION_FLAGS = "pubsub loading stale"

Change = Callable[["PubSub", "Client", bytes], None]  # e.g. PubSub.subscribe


class Kind:
    """One kind of subscription: its confirmations, the client's set and how to count it."""

    __slots__ = ("subscribed", "unsubscribed", "subscribe", "unsubscribe", "current", "count")

    def __init__(self, name: bytes, subscribe: Change, unsubscribe: Change,
                 current: Callable[[Client], set[bytes]], count: Callable[[Client], int]) -> None:
        # The start of each confirmation, [b"subscribe", channel, count] say, by RESP version
        self.subscribed = push_heads(name + b"subscribe", 3)
        self.unsubscribed = push_heads(name + b"unsubscribe", 3)
        self.subscribe = subscribe
        self.unsubscribe = unsubscribe
        self.current = current
        self.count = count


def _classic_count(client: Client) -> int:
    """Channels and patterns share one count in (P)SUBSCRIBE replies; shard channels have theirs."""
    return len(client.channels) + len(client.patterns)


def _shard_count(client: Client) -> int:
    return len(client.shard_channels)


CHANNELS = Kind(b"", PubSub.subscribe, PubSub.unsubscribe, lambda c: c.channels, _classic_count)
PATTERNS = Kind(b"p", PubSub.psubscribe, PubSub.punsubscribe, lambda c: c.patterns, _classic_count)
SHARD_CHANNELS = Kind(b"s", PubSub.ssubscribe, PubSub.sunsubscribe, lambda c: c.shard_channels,
                      _shard_count)


def confirmation(heads: dict[int, bytes], name: bytes | None, count: int, resp: int) -> bytes:
    """encode(Push([kind, name, count]), resp) for heads = Kind.subscribed or .unsubscribed,
    formatted at once: every (UN)SUBSCRIBE sends one per channel."""
    bulk = NULL_BULK[resp] if name is None else BULK % (len(name), name)
    return b"%b%b:%d\r\n" % (heads[resp], bulk, count)


def _confirm_each(client: Client, confirmations: list[bytes]) -> object:
    """Add one confirmation per channel. Like Pub/Sub messages they are pushes, which CLIENT REPLY
    OFF/SKIP does not silence (Redis's CLIENT_PUSHING); a SKIP is used up by this command all
    the same."""
    if client.reply_mode == "skip":
        client.reply_mode = "on"
    client.out.extend(confirmations)
    return NO_REPLY


def subscribe_all(client: Client, names: list[bytes], kind: Kind) -> object:
    pubsub = client.server.pubsub
    confirmations = []
    for name in names:
        kind.subscribe(pubsub, client, name)
        confirmations.append(confirmation(kind.subscribed, name, kind.count(client), client.resp))
    return _confirm_each(client, confirmations)


def unsubscribe_all(client: Client, names: list[bytes], kind: Kind) -> object:
    pubsub = client.server.pubsub
    targets = names or list(kind.current(client))  # no names: every current subscription
    if not targets:
        return _confirm_each(client, [confirmation(kind.unsubscribed, None, kind.count(client), client.resp)])
    confirmations = []
    for name in targets:
        kind.unsubscribe(pubsub, client, name)
        confirmations.append(confirmation(kind.unsubscribed, name, kind.count(client), client.resp))
    return _confirm_each(client, confirmations)


@command("subscribe", -2, flags=SUBSCRIBE_FLAGS, group=GROUP, since="2.0.0",
         summary="Listens for messages published to channels.",
         complexity="O(N) where N is the number of channels to subscribe to.")
def subscribe(client: Client, args: list[bytes]):
    # Allowed inside MULTI (EXEC) for backward compatibility, as in Redis.
    return subscribe_all(client, args[1:], CHANNELS)


@command("unsubscribe", -1, flags=SUBSCRIBE_FLAGS, group=GROUP, since="2.0.0",
         summary="Stops listening to messages posted to channels.",
         complexity="O(N) where N is the number of channels to unsubscribe.")
def unsubscribe(client: Client, args: list[bytes]):
    return unsubscribe_all(client, args[1:], CHANNELS)


@command("psubscribe", -2, flags=SUBSCRIBE_FLAGS, group=GROUP, since="2.0.0",
         summary="Listens for messages published to channels that match one or more patterns.",
         complexity="O(N) where N is the number of patterns to subscribe to.")
def psubscribe(client: Client, args: list[bytes]):
    return subscribe_all(client, args[1:], PATTERNS)


@command("punsubscribe", -1, flags=SUBSCRIBE_FLAGS, group=GROUP, since="2.0.0",
         summary="Stops listening to messages published to channels that match one or more patterns.",
         complexity="O(N) where N is the number of patterns to unsubscribe.")
def punsubscribe(client: Client, args: list[bytes]):
    return unsubscribe_all(client, args[1:], PATTERNS)


@command("ssubscribe", -2, flags=SUBSCRIBE_FLAGS, keys=(1, -1, 1), group=GROUP, since="7.0.0",
         summary="Listens for messages published to shard channels.",
         complexity="O(N) where N is the number of shard channels to subscribe to.")
def ssubscribe(client: Client, args: list[bytes]):
    if client.in_exec:  # unlike SUBSCRIBE, no backward-compatibility exception for MULTI
        raise CommandError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    return subscribe_all(client, args[1:], SHARD_CHANNELS)


@command("sunsubscribe", -1, flags=SUBSCRIBE_FLAGS, keys=(1, -1, 1), group=GROUP, since="7.0.0",
         summary="Stops listening to messages posted to shard channels.",
         complexity="O(N) where N is the number of shard channels to unsubscribe.")
def sunsubscribe(client: Client, args: list[bytes]):
    return unsubscribe_all(client, args[1:], SHARD_CHANNELS)


@command("publish", 3, flags=PUBLISH_FLAGS, group=GROUP, since="2.0.0",
         summary="Posts a message to a channel.",
         complexity="O(N+M) where N is the number of clients subscribed to the receiving channel "
                    "and M is the total number of subscribed patterns (by any client).")
def publish(client: Client, args: list[bytes]):
    return client.server.pubsub.publish(args[1], args[2])


@command("spublish", 3, flags=PUBLISH_FLAGS, keys=(1, 1, 1), group=GROUP, since="7.0.0",
         summary="Post a message to a shard channel",
         complexity="O(N) where N is the number of clients subscribed to the receiving shard channel.")
def spublish(client: Client, args: list[bytes]):
    return client.server.pubsub.spublish(args[1], args[2])


# -- PUBSUB introspection ------------------------------------------------------------------------

container("pubsub", -2, group=GROUP, since="2.8.0", summary="A container for Pub/Sub commands.")


def _matching(names, args: list[bytes]) -> list[bytes]:
    """CHANNELS/SHARDCHANNELS [pattern]: more arguments are Redis's subcommand syntax error."""
    if len(args) > 3:
        raise subcommand_syntax_error(args)
    if len(args) == 3:
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
         summary="Returns the active channels.",
         complexity="O(N) where N is the number of active channels, and assuming constant time "
                    "pattern matching (relatively short channels and patterns)")
def pubsub_channels(client: Client, args: list[bytes]):
    return _matching(client.server.pubsub.channels, args)


@command("pubsub|shardchannels", -2, flags=INTROSPECTION_FLAGS, group=GROUP, since="7.0.0",
         summary="Returns the active shard channels.",
         complexity="O(N) where N is the number of active shard channels, and assuming constant "
                    "time pattern matching (relatively short shard channels).")
def pubsub_shardchannels(client: Client, args: list[bytes]):
    return _matching(client.server.pubsub.shard_channels, args)


@command("pubsub|numsub", -2, flags=INTROSPECTION_FLAGS, group=GROUP, since="2.8.0",
         summary="Returns a count of subscribers to channels.",
         complexity="O(N) for the NUMSUB subcommand, where N is the number of requested channels")
def pubsub_numsub(client: Client, args: list[bytes]):
    return _flat_counts(client.server.pubsub.channels, args[2:])


@command("pubsub|shardnumsub", -2, flags=INTROSPECTION_FLAGS, group=GROUP, since="7.0.0",
         summary="Returns the count of subscribers of shard channels.",
         complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels")
def pubsub_shardnumsub(client: Client, args: list[bytes]):
    return _flat_counts(client.server.pubsub.shard_channels, args[2:])


@command("pubsub|numpat", 2, flags=INTROSPECTION_FLAGS, group=GROUP, since="2.8.0",
         summary="Returns a count of unique pattern subscriptions.", complexity="O(1)")
def pubsub_numpat(client: Client, args: list[bytes]):
    return len(client.server.pubsub.patterns)


_PUBSUB_HELP = (
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
)

declare_help("pubsub", _PUBSUB_HELP, since="6.2.0", group=GROUP)
