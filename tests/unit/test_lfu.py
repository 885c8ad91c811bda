"""LFU counters (keyspace/lfu.py): Redis's logarithmic increment and per-minute decay, and the
access-time table that keeps them."""

from __future__ import annotations

import random

from ember.keyspace.lfu import LFU_INIT_VAL, LfuAccessTimes, access_times, decayed, incremented

MINUTE = 60_000
SETTINGS = {"maxmemory-policy": "allkeys-lfu", "lfu-log-factor": 10, "lfu-decay-time": 1}


def test_decay_takes_one_per_period_and_stops_at_zero():
    assert decayed(10, 0, 59_999, 1) == 10  # the same minute
    assert decayed(10, 59_999, 60_000, 1) == 9  # minutes are whole: crossing one counts
    assert decayed(10, 0, 5 * MINUTE, 2) == 8
    assert decayed(3, 0, 100 * MINUTE, 1) == 0
    assert decayed(10, 0, 100 * MINUTE, 0) == 10  # lfu-decay-time 0: never


def test_increment_gets_rarer_as_the_counter_grows():
    assert incremented(LFU_INIT_VAL, 10) == LFU_INIT_VAL + 1  # probability 1 at the start
    assert incremented(200, 0) == 201  # factor 0: always
    assert incremented(255, 0) == 255
    random.seed(7)
    counter = LFU_INIT_VAL
    for _ in range(10_000):
        counter = incremented(counter, 10)
    assert 20 < counter < 60  # Redis's table: ~10k hits at factor 10 reach the 40s


def test_the_table_counts_accesses_and_forgets_removed_keys():
    times = LfuAccessTimes(dict(SETTINGS, **{"lfu-log-factor": 0}))
    times[b"k"] = 0
    assert times.frequency(b"k", 0) == LFU_INIT_VAL  # a new key: the initial value, not counted
    times[b"k"] = 1
    times[b"k"] = 2
    assert times.frequency(b"k", 2) == LFU_INIT_VAL + 2 and times[b"k"] == 2
    assert times.frequency(b"k", 3 * MINUTE) == LFU_INIT_VAL - 1  # decayed, not counted
    times.pop(b"k")
    assert b"k" not in times.counters and times.frequency(b"k", 0) == LFU_INIT_VAL
    times.set_frequency(b"j", 300, 0)
    assert times.frequency(b"j", 0) == 255


def test_switching_policies_keeps_the_access_times():
    plain = {b"a": 1, b"b": 2}
    lfu = access_times(SETTINGS, plain)
    assert isinstance(lfu, LfuAccessTimes) and dict(lfu) == plain
    assert lfu.counters == {b"a": LFU_INIT_VAL, b"b": LFU_INIT_VAL}
    assert access_times(SETTINGS, lfu) is lfu
    back = access_times(dict(SETTINGS, **{"maxmemory-policy": "allkeys-lru"}), lfu)
    assert back.__class__ is dict and back == plain
    assert access_times({"maxmemory-policy": "noeviction"}).__class__ is dict
