"""List commands against a real Ember process (redis-py, RESP2 and RESP3): replies, error texts,
null shapes, keyspace events and the listpack/quicklist encodings Redis 7.2 reports.

The encoding rules are also checked on the ListValue model itself: the scenarios of Redis 7.2's
list test suite, exact listpack entry sizes, and a property test that the node shapes kept
alongside the elements always agree with a recomputation from the elements.
"""

from __future__ import annotations

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from ember.keyspace.lists import LP_EMPTY_SIZE, ListValue, entry_size
from ember.protocol.errors import WRONGTYPE
from tests.conftest import encoding, start_ember, wait_until
from tests.differential.harness import RawConnection

LARGE = b"x" * 8192  # bigger than a 4 KB node: forces a quicklist under list-max-listpack-size -1


@pytest.fixture
def raw2(ember, r):
    connection = RawConnection(ember.port)
    yield connection
    connection.close()


@pytest.fixture
def raw3(ember, r):
    connection = RawConnection(ember.port)
    connection.call("HELLO", "3")
    yield connection
    connection.close()


@pytest.fixture
def tiny(ember, r):
    """The shared Ember with list-max-listpack-size set for the test, restored afterwards."""
    def set_fill(value: int) -> None:
        r.config_set("list-max-listpack-size", value)

    yield set_fill
    r.config_set("list-max-listpack-size", -2)


# -- pushes, pops, lengths ------------------------------------------------------------------------

def test_push_pop_len(r):
    assert r.lpush("l", "a", "b", "c") == 3
    assert r.rpush("l", "d", "e") == 5
    assert r.lrange("l", 0, -1) == [b"c", b"b", b"a", b"d", b"e"]
    assert r.llen("l") == 5
    assert r.llen("nokey") == 0
    assert r.lpop("l") == b"c"
    assert r.rpop("l") == b"e"
    assert r.lpop("l", 2) == [b"b", b"a"]
    assert r.rpop("l", 10) == [b"d"]
    assert r.exists("l") == 0  # an emptied list is deleted
    assert r.lpop("l") is None
    assert r.lpop("l", 3) is None


def test_pushx_only_onto_existing_lists(r):
    assert r.lpushx("l", "a") == 0
    assert r.rpushx("l", "a", "b") == 0
    assert r.exists("l") == 0
    r.rpush("l", "m")
    assert r.lpushx("l", "y3", "y2", "y1") == 4
    assert r.rpushx("l", "42", "x") == 6
    assert r.lrange("l", 0, -1) == [b"y1", b"y2", b"y3", b"m", b"42", b"x"]


def test_pop_count_zero_and_null_shapes_resp2(raw2):
    raw2.call("RPUSH", "l", "a")
    assert raw2.call("LPOP", "l", "0") == b"*0\r\n"
    assert raw2.call("RPOP", "l", "0") == b"*0\r\n"
    assert raw2.call("LPOP", "nokey") == b"$-1\r\n"
    assert raw2.call("LPOP", "nokey", "0") == b"*-1\r\n"
    assert raw2.call("RPOP", "nokey", "1") == b"*-1\r\n"
    assert raw2.call("LMPOP", "1", "nokey", "LEFT") == b"*-1\r\n"
    assert raw2.call("LINDEX", "nokey", "0") == b"$-1\r\n"
    assert raw2.call("LPOS", "l", "zz") == b"$-1\r\n"
    assert raw2.call("LMOVE", "nokey", "d", "LEFT", "LEFT") == b"$-1\r\n"
    assert raw2.call("BLPOP", "nokey", "0.01") == b"*-1\r\n"
    # Redis answers a list timeout with a null array for every blocking list command
    assert raw2.call("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0.01") == b"*-1\r\n"
    assert raw2.call("BRPOPLPUSH", "nokey", "d", "0.01") == b"*-1\r\n"


def test_null_shapes_resp3(raw3):
    raw3.call("RPUSH", "l", "a")
    assert raw3.call("LPOP", "l", "0") == b"*0\r\n"
    for args in [("LPOP", "nokey"), ("LPOP", "nokey", "0"), ("RPOP", "nokey", "1"),
                 ("LMPOP", "1", "nokey", "LEFT"), ("LINDEX", "nokey", "0"), ("LPOS", "l", "zz"),
                 ("BLPOP", "nokey", "0.01"), ("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0.01"),
                 ("BLMPOP", "0.01", "1", "nokey", "LEFT")]:
        assert raw3.call(*args) == b"_\r\n", args
    assert raw3.call("LPOP", "l", "5") == b"*1\r\n$1\r\na\r\n"


def test_errors(r):
    r.hset("h", "f", "v")
    for args in [("LPUSH", "h", "a"), ("RPUSHX", "h", "a"), ("LPOP", "h"), ("LLEN", "h"),
                 ("LRANGE", "h", 0, 1), ("LINDEX", "h", 0), ("LSET", "h", 0, "a"),
                 ("LINSERT", "h", "BEFORE", "a", "b"), ("LREM", "h", 0, "a"), ("LTRIM", "h", 0, 1),
                 ("LPOS", "h", "a"), ("LMOVE", "h", "d", "LEFT", "LEFT"), ("LMPOP", 1, "h", "LEFT"),
                 ("BLPOP", "h", 0), ("BLMPOP", 0, 2, "nokey", "h", "LEFT"), ("BRPOPLPUSH", "h", "d", 0)]:
        with pytest.raises(redis.ResponseError, match=WRONGTYPE):
            r.execute_command(*args)
    cases = {
        ("LPOP", "l", "-1"): "ERR value is out of range, must be positive",
        ("LPOP", "l", "x"): "ERR value is out of range, must be positive",
        ("LPOP", "l", "1", "2"): "ERR wrong number of arguments for 'lpop' command",
        ("RPOP", "l", "1", "2"): "ERR wrong number of arguments for 'rpop' command",
        ("LSET", "nokey", "0", "a"): "ERR no such key",
        ("LINSERT", "l", "MIDDLE", "a", "b"): "ERR syntax error",
        ("LMOVE", "l", "d", "UP", "LEFT"): "ERR syntax error",
        ("LPOS", "l", "a", "RANK", "0"): "ERR RANK can't be zero: use 1 to start from the first match, 2 from "
                                         "the second ... or use negative to start from the end of the list",
        # Redis 7.2 refuses LONG_MIN (7.0 overflowed negating it)
        ("LPOS", "l", "a", "RANK", "-9223372036854775808"):
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ("LPOS", "l", "a", "COUNT", "-1"): "ERR COUNT can't be negative",
        ("LPOS", "l", "a", "MAXLEN", "x"): "ERR MAXLEN can't be negative",
        ("LPOS", "l", "a", "RANK"): "ERR syntax error",
        ("LMPOP", "0", "l", "LEFT"): "ERR numkeys should be greater than 0",
        ("LMPOP", "1", "l", "LEFT", "COUNT", "0"): "ERR count should be greater than 0",
        ("LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1"): "ERR syntax error",
        ("BLPOP", "l", "-1"): "ERR timeout is negative",
        ("BLPOP", "l", "x"): "ERR timeout is not a float or out of range",
    }
    r.rpush("l", "a")
    for args, message in cases.items():
        with pytest.raises(redis.ResponseError) as error:
            r.execute_command(*args)
        assert str(error.value) == message.removeprefix("ERR "), args
    r.rpush("l", "b")
    with pytest.raises(redis.ResponseError, match="index out of range"):
        r.lset("l", 5, "x")


# -- ranges, indexes, positions -----------------------------------------------------------------

def test_lrange_and_lindex_index_rules(r):
    r.rpush("l", *range(10))
    assert r.lrange("l", 1, -2) == [str(i).encode() for i in range(1, 9)]
    assert r.lrange("l", -3, -1) == [b"7", b"8", b"9"]
    assert r.lrange("l", -1000, 1000) == [str(i).encode() for i in range(10)]
    assert r.lrange("l", 0, -11) == []
    assert r.lrange("l", 6, 2) == []
    assert r.lrange("nokey", 0, -1) == []
    assert r.lindex("l", 0) == b"0"
    assert r.lindex("l", -1) == b"9"
    assert r.lindex("l", 10) is None
    assert r.lindex("l", -11) is None
    assert r.lindex("l", 2**63 - 1) is None


def test_lrange_near_either_end_of_a_long_list(r):
    r.rpush("l", *range(5000))
    assert r.lrange("l", 4990, 4992) == [b"4990", b"4991", b"4992"]
    assert r.lrange("l", -3, -1) == [b"4997", b"4998", b"4999"]
    assert r.lrange("l", 2, 4) == [b"2", b"3", b"4"]
    assert r.lindex("l", -2) == b"4998"


def test_lset_linsert(r):
    r.rpush("l", "99", "98", "97", "96", "95")
    assert r.lset("l", 1, "foo")
    assert r.lset("l", -1, "bar")
    assert r.lrange("l", 0, -1) == [b"99", b"foo", b"97", b"96", b"bar"]
    assert r.linsert("l", "before", "97", "zz") == 6
    assert r.linsert("l", "AFTER", "bar", "end") == 7
    assert r.linsert("l", "after", "nope", "x") == -1
    assert r.linsert("nokey", "after", "a", "x") == 0
    assert r.lrange("l", 0, -1) == [b"99", b"foo", b"zz", b"97", b"96", b"bar", b"end"]


def test_lrem_ltrim(r):
    r.rpush("l", "e", "foo", "bar", "foobar", "zap", "bar", "test", "foo", "foo")
    assert r.lrem("l", -1, "bar") == 1
    assert r.lrem("l", 2, "foo") == 2
    assert r.lrange("l", 0, -1) == [b"e", b"bar", b"foobar", b"zap", b"test", b"foo"]
    assert r.lrem("l", 0, "nothing") == 0
    assert r.lrem("nokey", 0, "a") == 0
    assert r.ltrim("l", 1, -2)
    assert r.lrange("l", 0, -1) == [b"bar", b"foobar", b"zap", b"test"]
    assert r.ltrim("l", 0, -5)
    assert r.exists("l") == 0
    assert r.ltrim("nokey", 0, 1)
    r.rpush("m", "1", "2", "3")
    assert r.lrem("m", 0, "2") == 1  # integer-looking elements compare as strings
    assert r.lrem("m", 0, "1") == 1
    assert r.lrem("m", 0, "3") == 1
    assert r.exists("m") == 0


def test_lpos(r):
    r.rpush("l", "a", "b", "c", "1", "2", "3", "c", "c")
    assert r.lpos("l", "a") == 0
    assert r.lpos("l", "c") == 2
    assert r.lpos("l", "c", rank=2) == 6
    assert r.lpos("l", "c", rank=4) is None
    assert r.lpos("l", "c", rank=-1) == 7
    assert r.lpos("l", "c", rank=-2) == 6
    assert r.lpos("l", "c", count=0) == [2, 6, 7]
    assert r.lpos("l", "c", count=2) == [2, 6]
    assert r.lpos("l", "c", count=0, rank=2) == [6, 7]
    assert r.lpos("l", "c", count=2, rank=-1) == [7, 6]
    assert r.lpos("l", "c", count=0, maxlen=1) == []
    assert r.lpos("l", "c", count=0, maxlen=3) == [2]
    assert r.lpos("l", "c", count=0, maxlen=3, rank=-1) == [7, 6]
    assert r.lpos("l", "c", count=0, maxlen=7, rank=2) == [6]
    assert r.lpos("nokey", "c", count=0, rank=2) == []
    assert r.lpos("nokey", "c") is None


# -- moving and multi-key pops --------------------------------------------------------------------

@pytest.mark.parametrize("wherefrom", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("whereto", ["LEFT", "RIGHT"])
def test_lmove_between_and_within_lists(r, wherefrom, whereto):
    r.rpush("src", "a", "b", "c")
    r.rpush("dst", "x")
    moved = r.lmove("src", "dst", wherefrom, whereto)
    assert moved == (b"a" if wherefrom == "LEFT" else b"c")
    expected = [moved, b"x"] if whereto == "LEFT" else [b"x", moved]
    assert r.lrange("dst", 0, -1) == expected
    r.delete("src")
    r.rpush("src", "a", "b", "c")
    r.lmove("src", "src", wherefrom, whereto)
    rotated = {("LEFT", "LEFT"): [b"a", b"b", b"c"], ("LEFT", "RIGHT"): [b"b", b"c", b"a"],
               ("RIGHT", "LEFT"): [b"c", b"a", b"b"], ("RIGHT", "RIGHT"): [b"a", b"b", b"c"]}
    assert r.lrange("src", 0, -1) == rotated[(wherefrom, whereto)]


def test_rpoplpush_wrong_destination_keeps_source(r):
    r.rpush("src", "a", "b")
    r.hset("h", "f", "v")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        r.rpoplpush("src", "h")
    assert r.lrange("src", 0, -1) == [b"a", b"b"]
    assert r.rpoplpush("nokey", "h") is None  # a missing source is checked first
    assert r.rpoplpush("src", "new") == b"b"
    assert r.rpoplpush("src", "new") == b"a"
    assert r.exists("src") == 0
    assert r.lrange("new", 0, -1) == [b"a", b"b"]


def test_lmpop(r):
    r.rpush("a", "1", "2", "3")
    r.rpush("b", "x", "y")
    assert r.lmpop(2, "nokey", "b", direction="RIGHT") == [b"b", [b"y"]]
    assert r.lmpop(2, "a", "b", direction="LEFT", count=2) == [b"a", [b"1", b"2"]]
    assert r.lmpop(2, "a", "a", direction="RIGHT", count=10) == [b"a", [b"3"]]
    assert r.lmpop(1, "a", direction="LEFT") is None


def test_resp3_replies(r3):
    r3.rpush("l", "a", "b", "c")
    assert r3.lpop("l", 2) == [b"a", b"b"]
    assert r3.lmpop(1, "l", direction="LEFT") == [b"l", [b"c"]]
    assert r3.lpop("l") is None
    assert r3.lrange("l", 0, -1) == []


def test_binary_and_empty_elements(r):
    values = [b"", b"\x00\xff\r\n", b"-0", b"007", b"9223372036854775808", b"-9223372036854775808"]
    r.rpush("l", *values)
    assert r.lrange("l", 0, -1) == values
    assert r.lpos("l", b"") == 0
    assert r.lrem("l", 0, b"\x00\xff\r\n") == 1


# -- keyspace events, dirty counter --------------------------------------------------------------

def test_keyspace_events(r, ember):
    r.config_set("notify-keyspace-events", "KEA")
    pubsub = ember.client().pubsub()
    try:
        pubsub.psubscribe("__keyevent@0__:*")
        wait_until(lambda: pubsub.get_message(timeout=0.1), message="psubscribe confirmation")
        r.rpush("l", "a", "b", "c")
        r.lpop("l")
        r.linsert("l", "before", "c", "x")
        r.lset("l", 0, "y")
        r.lrem("l", 1, "x")
        r.ltrim("l", 0, 0)
        r.lmove("l", "m", "LEFT", "RIGHT")  # the push event comes first, as in Redis
        expected = [("rpush", b"l"), ("lpop", b"l"), ("linsert", b"l"), ("lset", b"l"), ("lrem", b"l"),
                    ("ltrim", b"l"), ("rpush", b"m"), ("lpop", b"l"), ("del", b"l")]
        events = []

        def collect() -> bool:
            message = pubsub.get_message(timeout=0.1)
            if message and message["type"] == "pmessage":
                events.append((message["channel"].decode().split(":", 1)[1], message["data"]))
            return len(events) >= len(expected)

        wait_until(collect, message="keyspace events")
        assert events == expected
    finally:
        pubsub.close()
        r.config_set("notify-keyspace-events", "")


def test_dirty_counts_elements(r):
    def dirty() -> int:
        return r.info("persistence")["rdb_changes_since_last_save"]

    before = dirty()
    r.rpush("l", "a", "b", "c")
    assert dirty() == before + 3
    r.lpop("l", 2)
    assert dirty() == before + 5
    r.lmove("l", "m", "LEFT", "LEFT")  # one change, though two keys are touched
    assert dirty() == before + 6


# -- encodings -----------------------------------------------------------------------------------

def test_encoding_listpack_to_quicklist_and_back(r, tiny):
    tiny(3)
    r.rpush("l", "a", "b", "c")
    assert encoding(r, "l") == "listpack"
    r.rpush("l", "d")
    assert encoding(r, "l") == "quicklist"
    r.rpop("l", 3)
    assert encoding(r, "l") == "listpack"
    for command in (("LINSERT", "l", "AFTER", "a", "b"), ("LSET", "l", 0, "z")):
        r.delete("l")
        r.rpush("l", "a", "b", "c")
        r.execute_command(*command)
        assert encoding(r, "l") == "quicklist", command  # converts before checking, as Redis
    tiny(-1)
    r.delete("l")
    r.rpush("l", "a", "b", "c")
    r.rpush("l", LARGE)
    assert encoding(r, "l") == "quicklist"
    r.rpop("l")
    assert encoding(r, "l") == "listpack"


def test_object_encoding_matches_model(r, tiny):
    tiny(4)
    r.rpush("l", *"abcdefghij")
    assert encoding(r, "l") == "quicklist"
    r.ltrim("l", 0, 1)
    assert encoding(r, "l") == "listpack"


def test_zero_and_too_small_fill(r, tiny):
    tiny(0)  # treated as 1 entry per node
    r.rpush("l", "a")
    assert encoding(r, "l") == "listpack"
    r.rpush("l", "b")
    assert encoding(r, "l") == "quicklist"
    tiny(-6)  # treated as -5: 64 KB
    r.delete("l")
    r.rpush("l", b"x" * 60000)
    assert encoding(r, "l") == "listpack"
    r.rpush("l", b"x" * 5536)
    assert encoding(r, "l") == "quicklist"


def test_copy_is_independent(r):
    r.rpush("l", "a", "b")
    assert r.copy("l", "c")
    r.rpush("c", "z")
    assert r.lrange("l", 0, -1) == [b"a", b"b"]
    assert r.lrange("c", 0, -1) == [b"a", b"b", b"z"]
    assert encoding(r, "c") == "listpack"


# -- the model: entry sizes and node shapes ---------------------------------------------------

@pytest.mark.parametrize(("value", "size"), [
    (b"0", 2), (b"127", 2), (b"128", 3), (b"-1", 3), (b"-4096", 3), (b"4095", 3), (b"4096", 4),
    (b"-32768", 4), (b"32768", 5), (b"8388607", 5), (b"8388608", 6), (b"2147483647", 6),
    (b"2147483648", 10), (b"9223372036854775807", 10), (b"-9223372036854775808", 10),
    (b"9223372036854775808", 21),  # past int64: stored as a 19-byte string
    (b"", 2), (b"-0", 4), (b"01", 4), (b"+1", 4), (b"a" * 63, 65), (b"a" * 64, 67),
    (b"a" * 125, 128), (b"a" * 126, 130), (b"a" * 4095, 4099), (b"a" * 4096, 4103),
    (b"a" * 16377, 16384), (b"a" * 16378, 16386),
])
def test_entry_size(value, size):
    assert entry_size(value) == size


def shapes_agree(value: ListValue) -> None:
    """Every node's count and byte size match what its elements would need."""
    items = list(value.items)
    if value.nodes is None:
        assert value.packed_size == LP_EMPTY_SIZE + sum(map(entry_size, items))
        return
    start = 0
    for node in value.nodes:
        assert node.count > 0
        assert node.size == LP_EMPTY_SIZE + sum(map(entry_size, items[start:start + node.count]))
        start += node.count
    assert start == len(items)


def build(elements, fill: int) -> ListValue:
    value = ListValue()
    for element in elements:  # one push at a time, like Redis's create_listpack/create_quicklist
        value.push((element,), False, fill)
    return value


def test_redis_suite_quicklist_to_listpack_scenarios():
    value = build([b"a", b"b", b"c", b"d"], 3)
    assert value.encoding() == "quicklist"
    value.pop_many(3, False)
    value.fit(3)
    assert value.encoding() == "listpack"

    value = build([b"a", b"a", b"a", b"d"], 3)
    assert value.remove(b"a", 3) == 3
    value.fit(3)
    assert value.encoding() == "listpack"

    value = build([b"a", b"b", b"c", b"d"], 3)
    value.trim(1, 1)
    value.fit(3)
    assert value.encoding() == "listpack"

    value = build([LARGE, b"a", b"b"], -1)
    value.pop_many(2, False)
    value.fit(-1)
    assert value.encoding() == "quicklist"  # one node, but bigger than half of 4 KB
    value.replace(-1, b"c", -1)
    assert value.encoding() == "listpack"


def test_hysteresis_needs_half_the_limit():
    value = build([str(i).encode() for i in range(11)], 10)
    assert value.encoding() == "quicklist"
    value.pop(False)  # back to one node of 10 entries: not yet half of 10
    value.fit(10)
    assert value.encoding() == "quicklist"
    for _ in range(5):
        value.pop(False)
    value.fit(10)
    assert value.encoding() == "listpack"


def test_from_elements_is_listpack_when_it_fits_one_node():
    assert ListValue.from_elements([b"a"] * 128, 128).encoding() == "listpack"
    assert ListValue.from_elements([b"a"] * 129, 128).encoding() == "quicklist"
    # 103-byte entries: a node takes another while its size + 100 + 8 <= 8192, so 79 fit
    assert ListValue.from_elements([b"a" * 100] * 79, -2).encoding() == "listpack"
    assert ListValue.from_elements([b"a" * 100] * 80, -2).encoding() == "quicklist"


operations = st.one_of(
    st.tuples(st.just("push"), st.lists(st.sampled_from([b"1", b"x", b"-5", b"y" * 70, b"z" * 300]),
                                        min_size=1, max_size=6), st.booleans()),
    st.tuples(st.just("pop"), st.integers(1, 8), st.booleans()),
    st.tuples(st.just("insert"), st.sampled_from([b"1", b"x", b"-5"]), st.sampled_from([b"q", b"r" * 90]),
              st.booleans()),
    st.tuples(st.just("set"), st.integers(-12, 12), st.sampled_from([b"s", b"t" * 200, b"77"])),
    st.tuples(st.just("remove"), st.sampled_from([b"1", b"x", b"q"]), st.integers(-3, 3)),
    st.tuples(st.just("trim"), st.integers(-10, 10), st.integers(-10, 10)),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([1, 2, 3, 5, 16, -1]), st.lists(operations, max_size=40))
def test_node_shapes_stay_consistent(fill, ops):
    value = ListValue()
    model: list[bytes] = []
    for op in ops:
        kind = op[0]
        if kind == "push":
            _, values, left = op
            value.push(values, left, fill)
            model[:0] = reversed(values) if left else []
            if not left:
                model.extend(values)
        elif kind == "pop" and model:
            _, count, left = op
            popped = value.pop_many(count, left)
            expected = model[:count] if left else model[::-1][:count]
            assert popped == expected
            if left:
                del model[:len(popped)]
            else:
                del model[len(model) - len(popped):]
            value.fit(fill)
        elif kind == "insert" and model:
            _, pivot, element, after = op
            result = value.insert(pivot, element, after, fill)
            if pivot in model:
                model.insert(model.index(pivot) + after, element)
                assert result == len(model)
            else:
                assert result == -1
        elif kind == "set" and model:
            _, position, element = op
            ok = value.replace(position, element, fill)
            assert ok == (-len(model) <= position < len(model))
            if ok:
                model[position] = element
        elif kind == "remove" and model:
            _, element, count = op
            removed = value.remove(element, count)
            positions = [i for i, e in enumerate(model) if e == element]
            chosen = positions if count == 0 else positions[:count] if count > 0 else positions[count:]
            assert removed == len(chosen)
            for index in reversed(chosen):
                del model[index]
            if removed and model:
                value.fit(fill)
        elif kind == "trim" and model:
            _, start, end = op
            expected = value.range(start, end)
            value.trim(start, end)
            model = expected
            if model:
                value.fit(fill)
        assert list(value.items) == model
        if not model:
            value = ListValue()  # Redis deletes an emptied list; the next push starts afresh
        shapes_agree(value)


def test_a_small_ember_reports_the_same_encodings(tmp_path):
    server = start_ember(tmp_path, "--list-max-listpack-size", "2")
    try:
        client = server.client()
        client.rpush("l", "a", "b")
        assert encoding(client, "l") == "listpack"
        client.lpush("l", "c")
        assert encoding(client, "l") == "quicklist"
        client.close()
    finally:
        server.stop()


def test_node_chunks_round_trip_and_load_conversion():
    value = build([str(i).encode() for i in range(10)], 4)
    chunks = list(value.node_chunks())
    assert chunks == [[b"0", b"1", b"2", b"3"], [b"4", b"5", b"6", b"7"], [b"8", b"9"]]
    loaded = ListValue.from_node_chunks(chunks, 4)
    assert [(n.count, n.size) for n in loaded.nodes] == [(n.count, n.size) for n in value.nodes]
    assert list(loaded) == list(value)
    assert value.quicklist_info() == (" ql_nodes:3 ql_avg_node:3.33 ql_listpack_max:4 ql_compressed:0"
                                      " ql_uncompressed_size:41")
    # a single node that fits becomes a listpack when loaded (Redis 7.2's RDB loading rule)
    single = ListValue.from_node_chunks([[b"a", b"b", b"c"]], 3)
    assert single.encoding() == "listpack"
    assert list(single.node_chunks()) == [[b"a", b"b", b"c"]]
    assert single.quicklist_info() == ""
