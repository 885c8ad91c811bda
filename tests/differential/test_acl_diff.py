"""ACL against redis-server, whose only user is `default` too: every reply and error byte for
byte, the categories over the commands both servers have, and the log of failed
authentications.

The oracle is Debian's redis-server 7.0. Redis 7.2 creates users with the sanitize-payload
flag, which 7.0's ACL LIST and GETUSER do not show: that word is taken out of Ember's replies
before they are compared. 7.2 also added three fields to ACL LOG's entries and INFO's
acl_access_denied_auth, which are checked on Ember alone.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.differential.harness import Differ, decode

SAME_REPLIES = [
    ("ACL", "HELP"), ("ACL", "CAT"), ("ACL", "USERS"), ("ACL", "WHOAMI"),
    ("ACL", "GETUSER", "nosuch"), ("ACL", "DRYRUN", "default", "get", "a"),
    ("ACL", "DRYRUN", "default", "CONFIG", "GET", "x"), ("ACL", "DRYRUN", "default", "set", "a", "b", "EX", "1"),
    ("ACL", "DELUSER", "a", "b"), ("ACL", "LOG", "-1"), ("ACL", "LOG", "0"),
]

ERRORS = [
    ("ACL",), ("ACL", "foo"), ("ACL", "WHOAMI", "x"), ("ACL", "USERS", "x"), ("ACL", "LIST", "x"),
    ("ACL", "GETUSER"), ("ACL", "GETUSER", "a", "b"), ("ACL", "CAT", "nosuch"), ("ACL", "CAT", "read", "a"),
    ("ACL", "DRYRUN", "default"), ("ACL", "DRYRUN", "default", "get"), ("ACL", "DRYRUN", "nosuch", "get", "a"),
    ("ACL", "DRYRUN", "default", "nosuch"), ("ACL", "DRYRUN", "default", "config"),
    ("ACL", "DRYRUN", "default", "config", "nosuch"), ("ACL", "LOG", "x"), ("ACL", "LOG", "1", "2"),
    ("ACL", "GENPASS", "0"), ("ACL", "GENPASS", "-1"), ("ACL", "GENPASS", "4097"), ("ACL", "GENPASS", "x"),
    ("ACL", "GENPASS", "1", "2"), ("ACL", "DELUSER"), ("ACL", "DELUSER", "a", "default"), ("ACL", "LOAD"),
    ("ACL", "SAVE"), ("ACL", "LOAD", "x"), ("ACL", "SETUSER"),
]


ADDED_IN_7_2 = [b"entry-id", b"timestamp-created", b"timestamp-last-updated"]  # to ACL LOG's entries


@pytest.fixture
def diff(redis_server, ember):
    differ = Differ(redis_server.port, ember.port)
    yield differ
    differ.close()


@pytest.mark.parametrize("args", SAME_REPLIES + ERRORS, ids=" ".join)
def test_same_replies(diff, args):
    diff.check(*args)


def without_sanitize_payload(raw: bytes) -> list:
    """An ACL LIST or GETUSER reply with no sanitize-payload flag (see the module's docstring)."""
    reply = decode(raw)
    if isinstance(reply, dict):
        reply = [item for pair in reply.items() for item in pair]
    return [[flag for flag in item if flag != b"sanitize-payload"] if isinstance(item, list)
            else item.replace(b" sanitize-payload", b"") for item in reply]


@pytest.mark.parametrize("protocol", [2, 3])
def test_the_default_user_is_described_alike(diff, protocol):
    diff.both("HELLO", protocol)  # (each server names itself)
    diff.check("ACL", "LIST", normalize=without_sanitize_payload)
    diff.check("ACL", "GETUSER", "default", normalize=without_sanitize_payload)


def test_the_default_user_with_a_password(diff):
    digest = hashlib.sha256(b"s3cret").hexdigest()
    try:
        diff.check("CONFIG", "SET", "requirepass", "s3cret")
        diff.check("AUTH", "s3cret")
        assert decode(diff.check("ACL", "LIST", normalize=without_sanitize_payload)) == \
            [f"user default on sanitize-payload #{digest} ~* &* +@all".encode()]
        assert decode(diff.ember.call("ACL", "GETUSER", "default"))[:4] == \
            [b"flags", [b"on", b"sanitize-payload"], b"passwords", [digest.encode()]]
    finally:
        diff.check("CONFIG", "SET", "requirepass", "")


def test_categories_hold_the_same_commands(diff):
    categories = decode(diff.check("ACL", "CAT"))
    redis_cats, ember_cats = ({category: set(decode(connection.call("ACL", "CAT", category)))
                               for category in categories} for connection in (diff.redis, diff.ember))
    shared = set().union(*redis_cats.values()) & set().union(*ember_cats.values())  # (and subcommands)
    assert len(shared) > 200
    for category in categories:
        assert ember_cats[category] & shared == redis_cats[category] & shared, category
    assert set(decode(diff.ember.call("ACL", "CAT", "HyperLogLog"))) >= {b"pfadd", b"pfcount", b"pfmerge"}


def test_failed_authentications_are_logged_and_grouped(diff):
    diff.check("ACL", "LOG", "RESET")
    before = denied_auth(diff.ember.call("INFO", "stats"))  # (a field Redis 7.2 added)
    diff.check("AUTH", "nosuch", "pw")
    diff.check("AUTH", "nosuch", "pw")  # the same denial: counted on the same entry
    diff.check("hello", "2", "AUTH", "other", "pw")
    diff.check_pipeline([("MULTI",), ("AUTH", "queued", "pw"), ("EXEC",)])
    redis_log, ember_log = (decode(raw) for raw in diff.both("ACL", "LOG"))
    assert len(ember_log) == len(redis_log) == 3
    expected_entries = [(1, b"multi", b"AUTH", b"queued"), (1, b"toplevel", b"hello", b"other"),
                        (2, b"toplevel", b"AUTH", b"nosuch")]  # newest first
    for position, (count, context, command_name, user) in enumerate(expected_entries):
        redis_entry, ember_entry = (entry_fields(log[position]) for log in (redis_log, ember_log))
        assert list(ember_entry) == [*redis_entry, *ADDED_IN_7_2]  # the same fields, in the same order
        assert stable(ember_entry) == stable(redis_entry) == {
            b"count": count, b"reason": b"auth", b"context": context, b"object": command_name, b"username": user}
    assert len(decode(diff.check("ACL", "LOG", "1", normalize=lambda raw: raw[:4]))) == 1
    assert denied_auth(diff.ember.call("INFO", "stats")) == before + 4
    diff.check("ACL", "LOG", "RESET")
    diff.check("ACL", "LOG")


def denied_auth(info: bytes) -> int:
    return int(info.split(b"acl_access_denied_auth:")[1].split(b"\r\n")[0])


def entry_fields(entry: list) -> dict:
    return dict(zip(entry[::2], entry[1::2], strict=True))


def stable(entry: dict) -> dict:
    """An entry without what depends on time and on the connection."""
    volatile = {b"age-seconds", b"client-info", b"entry-id", b"timestamp-created", b"timestamp-last-updated"}
    return {name: value for name, value in entry.items() if name not in volatile}
