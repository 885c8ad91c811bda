"""Keyspace notifications (`notify-keyspace-events`, Redis's notify.c).

Commands call `notify(db, cls, event, key)` after they change a key, with Redis's event name
and class letter; when the class is enabled the event is published on
`__keyspace@<db>__:<key>` (message: the event) and/or `__keyevent@<db>__:<event>` (message:
the key). Disabled classes cost one set lookup.

Class letters: g generic, $ string, l list, s set, h hash, z sorted set, x expired, e evicted,
t stream, m key miss, d module, n new key; A is every class except m and n; K and E choose
the keyspace and keyevent channels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from .app import Server

ALL_CLASSES = "g$lshzxetd"


def parse_event_flags(text: str) -> frozenset[str]:
    """The enabled letters of a notify-keyspace-events value; ValueError on unknown letters."""
    letters: set[str] = set()
    for char in text:
        if char == "A":
            letters.update(ALL_CLASSES)
        elif char in ALL_CLASSES or char in "KEmn":
            letters.add(char)
        else:
            raise ValueError(f"invalid notify-keyspace-events flag {char!r}")
    return frozenset(letters)


class KeyspaceNotifier:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.classes: frozenset[str] = frozenset()
        self.keyspace = self.keyevent = False
        directive = "notify-keyspace-events"
        if directive in server.config.values:
            self.configure(server.config[directive])
            server.config.on_change(directive, self.configure)

    def configure(self, text: str) -> None:
        letters = parse_event_flags(text)
        self.keyspace = "K" in letters
        self.keyevent = "E" in letters
        # Nothing is published unless a channel kind and at least one class are on.
        self.classes = letters - {"K", "E"} if (self.keyspace or self.keyevent) else frozenset()

    def notify(self, db: Database, cls: str, event: str, key: bytes) -> None:
        if cls not in self.classes:
            return
        publish = self.server.pubsub.publish
        event_bytes = event.encode()
        if self.keyspace:
            publish(b"__keyspace@%d__:%s" % (db.id, key), event_bytes)
        if self.keyevent:
            publish(b"__keyevent@%d__:%s" % (db.id, event_bytes), key)
