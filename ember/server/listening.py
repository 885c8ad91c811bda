"""Key-change listening per database, for subsystems whose state belongs to one database
(WATCHed keys, clients blocked on keys).

A listener on a Database costs every write there a call, and adding or dropping one rebuilds
the database's listener list; doing that in all 16 databases whenever a WATCH or a blocked
client comes and goes was most of the cost of a WATCH/EXEC or block/serve cycle. Listening only
where there are users keeps both costs to one database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..keyspace.database import ChangeListener, Database


class PerDatabaseListener:
    """Calls `callback` on key changes in each database while it has users there: the first
    `add(db)` starts listening to db, the last `remove(db)` stops."""

    __slots__ = ("callback", "users")

    def __init__(self, callback: ChangeListener) -> None:
        self.callback = callback
        self.users: dict[int, int] = {}  # db id -> users

    def add(self, db: Database) -> None:
        users = self.users.get(db.id, 0)
        if not users:
            db.listen(self.callback)
        self.users[db.id] = users + 1

    def remove(self, db: Database) -> None:
        users = self.users[db.id] - 1
        if users:
            self.users[db.id] = users
        else:
            del self.users[db.id]
            db.unlisten(self.callback)
