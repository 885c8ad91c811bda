"""Keyspace notifications (`notify-keyspace-events`, Redis's notify.c).

Commands call `notify(db, cls, event, key)` after they change a key, with Redis's event name
and class letter; when the class is enabled the event is published on
`__keyspace@<db>__:<key>` (message: the event) and/or `__keyevent@<db>__:<event>` (message:
the key). A disabled class costs one frozenset lookup.

Class letters: g generic, $ string, l list, s set, h hash, z sorted set, x expired, e evicted,
t stream, m key miss, d module, n new key; A is every class except m and n; K and E choose
the keyspace and keyevent channels. The config layer validates the letters and stores them
with A expanded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from .app import Server

ALL_CLASSES = "g$lshzxetd"  # what A stands for
DIRECTIVE = "notify-keyspace-events"


def enabled_classes(letters: str) -> tuple[frozenset[str], bool, bool]:
    """(event classes that publish, keyspace channel on, keyevent channel on) for a setting."""
    expanded = set(letters.replace("A", ALL_CLASSES))
    keyspace, keyevent = "K" in expanded, "E" in expanded
    # Nothing is published unless a channel kind and at least one class are on.
    classes = frozenset(expanded - {"K", "E"}) if (keyspace or keyevent) else frozenset()
    return classes, keyspace, keyevent


class KeyspaceNotifier:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.classes: frozenset[str] = frozenset()
        self.keyspace = self.keyevent = False
        if DIRECTIVE in server.config:
            self.configure(server.config[DIRECTIVE])
            server.config.on_change(DIRECTIVE, self.configure)

    def configure(self, letters: str) -> None:
        self.classes, self.keyspace, self.keyevent = enabled_classes(letters)

    def notify(self, db: Database, cls: str, event: str, key: bytes) -> None:
        if cls not in self.classes:
            return
        publish = self.server.pubsub.publish
        event_bytes = event.encode()
        if self.keyspace:
            publish(b"__keyspace@%d__:%s" % (db.id, key), event_bytes)
        if self.keyevent:
            publish(b"__keyevent@%d__:%s" % (db.id, event_bytes), key)
