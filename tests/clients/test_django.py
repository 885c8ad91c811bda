"""Django's cache framework against Ember: the built-in RedisCache
(django.core.cache.backends.redis) and django-redis (Lua-based incr, locks, TTL helpers, pattern
deletes over SCAN), configured in this process with tests/clients/apps/django_settings.py.

Both backends run the same cache API contract (parametrized); django-redis's extras follow.
"""

from __future__ import annotations

import threading

import pytest

from tests.clients.conftest import command_calls, server_url, unexpected_errors
from tests.conftest import wait_until

django = pytest.importorskip("django")
pytest.importorskip("django_redis")
from django.conf import settings  # noqa: E402  (after the importorskip guards)

from tests.clients.apps.django_settings import settings_for  # noqa: E402

BACKENDS = ["default", "djredis"]  # the built-in RedisCache, django-redis


@pytest.fixture(scope="module")
def caches(ember):
    if settings.configured:
        pytest.skip("Django settings were configured elsewhere in this process")
    settings.configure(**settings_for(server_url(ember)))
    django.setup()
    from django.core.cache import caches as django_caches
    yield django_caches
    django_caches.close_all()


@pytest.fixture(params=BACKENDS)
def cache(request, caches, r):
    return caches[request.param]


def test_set_get_delete_roundtrip_python_objects(cache):
    value = {"list": [1, 2.5, "three"], "bytes": b"\x00\xff", "nested": {"a": None}}
    cache.set("obj", value)
    assert cache.get("obj") == value
    assert cache.get("missing", "fallback") == "fallback"
    assert cache.has_key("obj")
    assert cache.delete("obj") is True
    assert cache.delete("obj") is False
    assert cache.get("obj") is None


def test_keys_carry_prefix_version_and_timeout(cache, r):
    cache.set("k", "v", timeout=100)
    assert r.keys("*k") == [f"{cache.key_prefix}:1:k".encode()]  # <KEY_PREFIX>:<version>:<key>
    assert 95 <= r.ttl(f"{cache.key_prefix}:1:k") <= 100


def test_add_only_when_missing(cache):
    assert cache.add("once", 1) is True
    assert cache.add("once", 2) is False
    assert cache.get("once") == 1


def test_many_operations(cache):
    cache.set_many({"a": 1, "b": "two", "c": [3]}, timeout=60)
    assert cache.get_many(["a", "b", "c", "nope"]) == {"a": 1, "b": "two", "c": [3]}
    cache.delete_many(["a", "b"])
    assert cache.get_many(["a", "b", "c"]) == {"c": [3]}


def test_incr_decr(cache):
    cache.set("counter", 10)
    assert cache.incr("counter") == 11
    assert cache.incr("counter", 5) == 16
    assert cache.decr("counter", 20) == -4
    assert cache.get("counter") == -4
    with pytest.raises(ValueError):
        cache.incr("no-such-counter")


def test_timeout_expires_the_key(cache, r):
    cache.set("short", "lived", timeout=1)
    assert cache.get("short") == "lived"
    wait_until(lambda: r.dbsize() == 0, timeout=5, message="the key to expire")
    assert cache.get("short") is None


def test_touch_and_no_timeout(cache, r):
    cache.set("k", 1, timeout=1000)
    assert cache.touch("k", None) is True  # persist
    assert r.ttl(r.keys("*:1:k")[0]) == -1
    assert cache.touch("k", 50) is True
    assert 45 <= r.ttl(r.keys("*:1:k")[0]) <= 50
    assert cache.touch("missing", 50) is False


def test_zero_timeout_never_stores(cache, r):
    cache.set("gone", 1, timeout=0)
    assert cache.get("gone") is None
    assert r.dbsize() == 0


def test_get_or_set_and_versions(cache):
    assert cache.get_or_set("computed", lambda: 42) == 42
    assert cache.get_or_set("computed", lambda: 0) == 42
    cache.set("v", "one", version=1)
    cache.set("v", "two", version=2)
    assert (cache.get("v", version=1), cache.get("v", version=2)) == ("one", "two")
    assert cache.incr_version("v", version=2) == 3
    assert cache.get("v", version=3) == "two"
    assert cache.get("v", version=2) is None


def test_clear(cache, r):
    cache.set_many({"x": 1, "y": 2})
    cache.clear()
    assert cache.get_many(["x", "y"]) == {}


# -- django-redis extras --------------------------------------------------------------------------

@pytest.fixture
def djredis(caches, r):
    return caches["djredis"]


def test_django_redis_incr_runs_its_lua_script(djredis, r):
    evals = command_calls(r, "eval")
    djredis.set("hits", 1)
    assert djredis.incr("hits", 41) == 42
    assert command_calls(r, "eval") == evals + 1  # EXISTS + INCRBY, atomically
    with pytest.raises(ValueError):  # the script returns false for a missing key
        djredis.incr("absent")


def test_django_redis_incr_past_64_bits_falls_back_to_python(djredis, r):
    djredis.set("big", 2**63 - 1, timeout=100)
    # INCRBY inside the script fails with "increment or decrement would overflow", which
    # django-redis catches to compute the value itself (stored pickled), keeping the TTL
    assert djredis.incr("big") == 2**63
    assert djredis.get("big") == 2**63
    assert 95 <= djredis.ttl("big") <= 100


def test_django_redis_ttl_persist_expire(djredis):
    djredis.set("k", "v", timeout=100)
    assert 95 <= djredis.ttl("k") <= 100
    assert 95_000 <= djredis.pttl("k") <= 100_000
    assert djredis.persist("k") is True
    assert djredis.ttl("k") is None  # None means "no expiry" in django-redis
    assert djredis.expire("k", 30) is True
    assert 25 <= djredis.ttl("k") <= 30
    assert djredis.ttl("missing") == 0


def test_django_redis_keys_iter_keys_delete_pattern(djredis):
    djredis.set_many({f"user:{n}": n for n in range(30)} | {"other": 0})
    assert sorted(djredis.keys("user:*")) == sorted(f"user:{n}" for n in range(30))
    assert sorted(djredis.iter_keys("user:1*", itersize=5)) == sorted(
        ["user:1"] + [f"user:{n}" for n in range(10, 20)])
    assert djredis.delete_pattern("user:*", itersize=7) == 30
    assert djredis.keys("*") == ["other"]


def test_django_redis_lock_excludes_a_second_holder(djredis):
    lock = djredis.lock("resource", timeout=5, blocking_timeout=0.1)
    assert lock.acquire()
    other = djredis.lock("resource", timeout=5, blocking_timeout=0.1)
    assert other.acquire() is False
    released = threading.Event()

    def wait_for_lock() -> None:
        waiter = djredis.lock("resource", timeout=5, blocking_timeout=10)
        if waiter.acquire():
            released.set()
            waiter.release()

    thread = threading.Thread(target=wait_for_lock)
    thread.start()
    lock.release()
    thread.join(10)
    assert released.is_set()
    with djredis.lock("resource", timeout=5):
        assert djredis.has_key("resource")  # the lock is a key under the cache's prefix
    assert not djredis.has_key("resource")


def error_counts(r) -> tuple[int, int, int]:
    """(ERR replies, failed INCRBY calls, failed EVAL calls) so far."""
    commands = r.info("commandstats")
    return (int(r.info("errorstats").get("errorstat_ERR", {}).get("count", 0)),
            int(commands.get("cmdstat_incrby", {}).get("failed_calls", 0)),
            int(commands.get("cmdstat_eval", {}).get("failed_calls", 0)))


def test_script_error_counts_once_and_fails_the_eval(djredis, r):
    before = error_counts(r)
    djredis.set("big", 2**63 - 1)
    djredis.incr("big")  # INCRBY overflows inside django-redis's script
    after = error_counts(r)
    # one error reply counted (not twice), a failed INCRBY and a failed EVAL, as Redis 7 counts them
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]


def test_no_command_failed_on_the_server(r, djredis):
    # Runs last: the only errors were the INCRBY overflows provoked on purpose above (EVAL's
    # failed calls are left to the test before)
    errors = unexpected_errors(r)
    errors.pop("cmdstat_eval", None)
    assert errors == {"ERR": 2, "cmdstat_incrby": 2}
