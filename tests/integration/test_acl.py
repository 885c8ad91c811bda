"""ACL through redis-py (RESP2 and RESP3), whose parsers read GETUSER and LOG into dicts."""

from __future__ import annotations

import hashlib
import re

import pytest
import redis

from tests.differential.harness import RawConnection


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(ember, request):
    client = ember.client(protocol=request.param, decode_responses=True)
    client.acl_log_reset()
    yield client
    client.close()


def test_the_one_user_is_default_with_every_right(r):
    assert r.acl_whoami() == "default"
    assert r.acl_users() == ["default"]
    assert r.acl_list() == ["user default on nopass sanitize-payload ~* &* +@all"]
    user = r.acl_getuser("default")
    assert user["enabled"] is True and user["passwords"] == [] and user["categories"] == ["+@all"]
    assert user["flags"] == ["on", "nopass", "sanitize-payload"]
    assert user["keys"] == ["~*"] and user["channels"] == ["&*"]
    assert r.acl_getuser("nosuch") is None
    assert r.acl_dryrun("default", "set", "k", "v") == "OK"


def test_categories_come_from_the_command_table(r):
    assert "sortedset" in r.acl_cat() and len(r.acl_cat()) == 21
    assert {"zadd", "zrange", "bzpopmin"} <= set(r.acl_cat("sortedset"))
    assert "config|get" in r.acl_cat("admin") and "get" not in r.acl_cat("admin")


def test_genpass_has_the_bits_asked_for(r):
    assert re.fullmatch("[0-9a-f]{64}", r.acl_genpass())
    assert len(r.acl_genpass(5)) == 2 and len(r.acl_genpass(4096)) == 1024
    assert r.acl_genpass() != r.acl_genpass()


def test_a_failed_authentication_is_in_the_log(ember, r):
    other = RawConnection(ember.port)  # (redis-py would retry the AUTH)
    assert other.call("AUTH", "mallory", "guess").startswith(b"-WRONGPASS")
    other.close()
    (entry,) = r.acl_log()
    assert (entry["reason"], entry["object"], entry["username"], entry["count"]) == ("auth", "AUTH", "mallory", 1)
    info = entry["client-info"]  # (redis-py parses it in RESP2 only)
    assert (info["cmd"] if isinstance(info, dict) else info.split(" cmd=")[1].split()[0]) == "auth"
    assert entry["age-seconds"] >= 0
    assert int(r.info("stats")["acl_access_denied_auth"]) >= 1
    assert r.acl_log_reset() and r.acl_log() == []


def test_requirepass_is_the_default_users_password(ember, r):
    try:
        r.config_set("requirepass", "s3cret")
        digest = hashlib.sha256(b"s3cret").hexdigest()
        assert r.acl_list() == [f"user default on sanitize-payload #{digest} ~* &* +@all"]
        assert r.acl_getuser("default")["passwords"] == [digest]
        fresh = ember.client(protocol=2, password="s3cret")
        assert fresh.acl_whoami() == "default"
        fresh.close()
    finally:
        r.config_set("requirepass", "")


def test_what_one_user_cannot_do_is_refused_clearly(r):
    with pytest.raises(redis.ResponseError, match="ACL SETUSER is not supported"):
        r.acl_setuser("alice", enabled=True)
    with pytest.raises(redis.ResponseError, match="cannot be removed"):
        r.acl_deluser("default")
    assert r.acl_deluser("alice") == 0
    with pytest.raises(redis.ResponseError, match="not configured to use an ACL file"):
        r.acl_save()
