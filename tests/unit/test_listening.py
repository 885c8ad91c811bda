"""PerDatabaseListener: listening to a database's key changes only while it has users there."""

from __future__ import annotations

from ember.commands import load_all
from ember.config import Config
from ember.server.app import Server
from ember.server.listening import PerDatabaseListener

load_all()


def test_listens_in_a_database_from_its_first_user_to_its_last():
    dbs = Server(Config()).dbs
    seen = []
    listening = PerDatabaseListener(lambda db, key: seen.append((db.id, key)))
    listening.add(dbs[1])
    listening.add(dbs[1])
    dbs[0].set(b"k", b"v")  # no users in db 0: not listened to
    dbs[1].set(b"k", b"v")
    listening.remove(dbs[1])
    dbs[1].set(b"k", b"w")  # one user left
    listening.remove(dbs[1])
    dbs[1].set(b"k", b"x")
    assert seen == [(1, b"k"), (1, b"k")]
    assert all(not db.on_key_change for db in dbs)
