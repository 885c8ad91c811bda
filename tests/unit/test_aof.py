"""Unit tests for the AOF (ember/persistence/aof.py) on an in-process Server:

- the manifest: Redis's format, strict parsing with its error texts, quoting, round trips;
- RESP encoding of commands, SELECT and #TS annotations as the writer emits them;
- the loader: base (RDB or commands) then incr files, annotations, MULTI/EXEC, a torn tail cut
  off (or refused) as aof-load-truncated says, format errors naming the file and offset;
- the deterministic forms commands propagate as (what Redis 7.2 writes to its AOF);
- the writer's error state (MISCONF text) and its recovery;
- the command-form rewrite (aof-use-rdb-preamble no) rebuilding every type exactly.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ember.commands import load_all
from ember.config import Config
from ember.persistence import aof
from ember.persistence.digest import dataset_digest
from ember.persistence.rdb import write_rdb
from ember.server.app import Server
from ember.server.client import Client
from ember.server.dispatch import execute

load_all()


def make_server(**settings: object) -> Server:
    config = Config()
    for name, value in settings.items():
        config.values[name.replace("_", "-")] = value
    server = Server(config)
    aof.state(server)
    return server


def run(server: Server, client: Client, *args: str | bytes) -> object:
    return execute(client, [a if isinstance(a, bytes) else a.encode() for a in args])


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Server:
    monkeypatch.chdir(tmp_path)  # the AOF directory is relative to `dir`, the working directory
    return make_server()


@pytest.fixture
def client(server: Server) -> Client:
    return Client(server, None, "127.0.0.1:1", "127.0.0.1:2")


# -- the manifest --------------------------------------------------------------------------------------------

REDIS_EXAMPLE = (b"file appendonly.aof.2.base.rdb seq 2 type b\n"
                 b"file appendonly.aof.1.incr.aof seq 1 type h\n"
                 b"file appendonly.aof.2.incr.aof seq 2 type h\n"
                 b"file appendonly.aof.4.incr.aof seq 4 type i\n"
                 b"file appendonly.aof.5.incr.aof seq 5 type i\n")


def test_manifest_parses_and_writes_back_redis_layout() -> None:
    manifest = aof.parse_manifest(REDIS_EXAMPLE)
    assert manifest.base == aof.AOFFile("appendonly.aof.2.base.rdb", 2, "b")
    assert [f.seq for f in manifest.history] == [1, 2]
    assert [f.name for f in manifest.incrs] == ["appendonly.aof.4.incr.aof", "appendonly.aof.5.incr.aof"]
    assert (manifest.base_seq, manifest.incr_seq) == (2, 5)
    assert manifest.text() == REDIS_EXAMPLE


def test_manifest_accepts_comments_any_key_order_and_extra_pairs() -> None:
    text = b"# written by hand\nseq 1 type i file a.incr.aof future x\r\n"
    manifest = aof.parse_manifest(text)
    assert manifest.incrs == [aof.AOFFile("a.incr.aof", 1, "i")]
    assert manifest.base is None


@pytest.mark.parametrize(("text", "error"), [
    (b"", "Found an empty AOF manifest"),
    (b"file a seq 1\n", "Invalid AOF manifest file format"),
    (b"\n", "Invalid AOF manifest file format"),
    (b"file a seq 0 type i\n", "Invalid AOF manifest file format"),
    (b"file dir/a seq 1 type i\n", "File can't be a path, just a filename"),
    (b"file a seq 1 type b\nfile b seq 2 type b\n", "Found duplicate base file information"),
    (b"file a seq 2 type i\nfile b seq 2 type i\n", "Found a non-monotonic sequence number"),
    (b"file a seq 1 type x\n", "Unknown AOF file type"),
    (b"file a seq 1 type i", "The AOF manifest file contains too long line"),
    (b"file " + b"a" * 1100 + b" seq 1 type i\n", "The AOF manifest file contains too long line"),
    (b'file "a seq 1 type i\n', "Invalid AOF manifest file format"),
])
def test_manifest_errors_use_redis_texts(text: bytes, error: str) -> None:
    with pytest.raises(aof.ManifestError) as caught:
        aof.parse_manifest(text)
    assert caught.value.message == error


def test_manifest_quotes_names_as_sdscatrepr() -> None:
    manifest = aof.Manifest(incrs=[aof.AOFFile("my file.aof", 3, "i")], incr_seq=3)
    text = manifest.text()
    assert text == b'file "my file.aof" seq 3 type i\n'
    assert aof.parse_manifest(text).incrs[0].name == "my file.aof"


def test_manifest_rewrite_bookkeeping() -> None:
    manifest = aof.Manifest()
    assert manifest.new_base("appendonly.aof", rdb=True) == "appendonly.aof.1.base.rdb"
    assert manifest.last_incr("appendonly.aof") == "appendonly.aof.1.incr.aof"
    manifest.new_incr("appendonly.aof")
    assert manifest.new_base("appendonly.aof", rdb=False) == "appendonly.aof.2.base.aof"
    manifest.incrs_to_history(keep_last=True)
    assert [f.name for f in manifest.incrs] == ["appendonly.aof.2.incr.aof"]
    assert [(f.name, f.kind) for f in manifest.history] == [
        ("appendonly.aof.1.incr.aof", "h"), ("appendonly.aof.1.base.rdb", "h")]


def test_c_atoi_is_lenient_like_c() -> None:
    assert [aof.c_atoi(raw) for raw in (b"12\r", b" 7x", b"-3", b"", b"x1", b"+5")] == [12, 7, -3, 0, 0, 5]


# -- encoding ----------------------------------------------------------------------------------------------

def test_command_encoding_matches_redis_bytes() -> None:
    out = bytearray()
    aof.encode_command(out, [b"SET", b"k", b""])
    assert bytes(out) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
    assert aof.select_command(12) == b"*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n"


def test_writer_emits_select_on_db_change_and_timestamps(server: Server) -> None:
    state = aof.state(server)
    state.timestamps = True
    state.feed([(0, [b"SET", b"a", b"1"]), (0, [b"DEL", b"a"]), (3, [b"SET", b"b", b"2"])])
    text = bytes(state.buf)
    assert text.startswith(b"#TS:")
    assert text.count(b"#TS:") == 1  # one annotation per second, not per command
    assert text.count(b"SELECT") == 2
    assert text.endswith(aof.select_command(3) + b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n")


# -- loading --------------------------------------------------------------------------------------------------

def commands(*argvs: list[bytes]) -> bytes:
    out = bytearray()
    for argv in argvs:
        aof.encode_command(out, argv)
    return bytes(out)


def write_aof_dir(files: list[tuple[str, str, bytes]]) -> aof.Manifest:
    """files: (name, type, content) in manifest order."""
    os.makedirs("appendonlydir", exist_ok=True)
    manifest = aof.Manifest()
    for seq, (name, kind, content) in enumerate(files, 1):
        Path("appendonlydir", name).write_bytes(content)
        info = aof.AOFFile(name, seq, kind)
        if kind == "b":
            manifest.base = info
        else:
            manifest.incrs.append(info)
    Path("appendonlydir/appendonly.aof.manifest").write_bytes(manifest.text())
    return manifest


def load(server: Server) -> str:
    return aof.load_files(server, aof.load_manifest_from_disk(server))


def test_loads_rdb_base_then_incr_files_in_order(server: Server, client: Client) -> None:
    source = make_server()
    source.dbs[0].set(b"from-base", b"1")
    source.dbs[0].set(b"expired-in-base", b"x")
    source.dbs[0].set_expire(b"expired-in-base", 1000)  # long past: kept by the load, as Redis does
    base = Path("base.rdb")
    with open(base, "wb") as handle:
        write_rdb(source, handle, aof_base=True)
    write_aof_dir([
        ("appendonly.aof.1.base.rdb", "b", base.read_bytes()),
        ("appendonly.aof.1.incr.aof", "i", commands([b"SELECT", b"0"], [b"SET", b"a", b"1"], [b"INCR", b"a"])),
        ("appendonly.aof.2.incr.aof", "i", b"#TS:1700000000\r\n" + commands([b"INCR", b"a"], [b"SELECT", b"2"],
                                                                             [b"RPUSH", b"l", b"x"])),
    ])
    assert load(server) == aof.LOAD_OK
    assert server.dbs[0].data[b"a"] == b"3"
    assert server.dbs[0].data[b"from-base"] == b"1"
    assert b"expired-in-base" in server.dbs[0].data
    assert len(server.dbs[2].data[b"l"]) == 1
    assert aof.state(server).current_size == sum(p.stat().st_size for p in Path("appendonlydir").glob("*.aof*")
                                                 if "manifest" not in p.name)


def test_missing_or_empty_files(server: Server) -> None:
    assert load(server) == aof.LOAD_NOT_EXIST
    write_aof_dir([("appendonly.aof.1.incr.aof", "i", b"")])
    assert load(server) == aof.LOAD_EMPTY
    Path("appendonlydir/appendonly.aof.1.incr.aof").unlink()
    with pytest.raises(aof.AOFLoadError, match="missing"):
        load(server)


def test_multi_exec_runs_atomically_and_an_unfinished_one_is_reverted(server: Server) -> None:
    good = commands([b"SELECT", b"0"], [b"MULTI"], [b"SET", b"a", b"1"], [b"SET", b"b", b"2"], [b"EXEC"])
    torn = commands([b"MULTI"], [b"SET", b"c", b"3"])
    write_aof_dir([("appendonly.aof.1.incr.aof", "i", good + torn)])
    assert load(server) == aof.LOAD_TRUNCATED
    assert set(server.dbs[0].data) == {b"a", b"b"}
    assert Path("appendonlydir/appendonly.aof.1.incr.aof").read_bytes() == good


@pytest.mark.parametrize("cut", [1, 5, 13, 20, 29, 30])
def test_torn_last_command_is_cut_off(server: Server, cut: int) -> None:
    whole = commands([b"SET", b"a", b"1"])
    last = commands([b"SET", b"b", b"hello"])
    write_aof_dir([("appendonly.aof.1.incr.aof", "i", whole + last[:cut])])
    assert load(server) == aof.LOAD_TRUNCATED
    assert set(server.dbs[0].data) == {b"a"}
    assert Path("appendonlydir/appendonly.aof.1.incr.aof").read_bytes() == whole


def test_torn_tail_refused_without_aof_load_truncated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    server = make_server(aof_load_truncated=False)
    data = commands([b"SET", b"a", b"1"]) + b"*3\r\n$3\r\nSET"
    write_aof_dir([("appendonly.aof.1.incr.aof", "i", data)])
    with pytest.raises(aof.AOFLoadError, match="Unexpected end of file .* offset 27"):
        load(server)
    assert Path("appendonlydir/appendonly.aof.1.incr.aof").read_bytes() == data  # left for redis-check-aof


def test_torn_file_that_is_not_the_last_is_fatal(server: Server) -> None:
    write_aof_dir([("appendonly.aof.1.incr.aof", "i", b"*2\r\n$3\r\nDEL"),
                   ("appendonly.aof.2.incr.aof", "i", commands([b"SET", b"a", b"1"]))])
    with pytest.raises(aof.AOFLoadError, match="not the last file"):
        load(server)


@pytest.mark.parametrize(("data", "offset"), [
    (b"SET a 1\r\n", 0),
    (commands([b"SET", b"a", b"1"]) + b"*2\r\n+DEL\r\n$1\r\na\r\n", 31),
    (commands([b"SET", b"a", b"1"]) + b"*0\r\n", 27),
    (commands([b"NOSUCHCOMMAND", b"x"]), 0),
])
def test_corruption_is_reported_with_file_and_offset(server: Server, data: bytes, offset: int) -> None:
    write_aof_dir([("appendonly.aof.1.incr.aof", "i", data)])
    with pytest.raises(aof.AOFLoadError, match=f"appendonly.aof.1.incr.aof at offset {offset}"):
        load(server)


def test_corrupt_rdb_base_is_fatal(server: Server) -> None:
    write_aof_dir([("appendonly.aof.1.base.rdb", "b", b"REDIS0010\xfa\x09garbage")])
    with pytest.raises(aof.AOFLoadError, match="appendonly.aof.1.base.rdb"):
        load(server)


def test_loading_does_not_append_to_the_aof(server: Server) -> None:
    fed: list = []
    server.propagator.sinks.append(fed.append)
    write_aof_dir([("appendonly.aof.1.incr.aof", "i", commands([b"SET", b"a", b"1"], [b"EXPIRE", b"a", b"-1"]))])
    load(server)
    assert fed == [] and server.dbs[0].data == {}
    assert server.propagator.sinks == [fed.append]


def test_single_file_aof_of_redis_6_is_upgraded(server: Server) -> None:
    Path("appendonly.aof").write_bytes(commands([b"SET", b"old", b"style"]))
    assert load(server) == aof.LOAD_OK
    assert server.dbs[0].data[b"old"] == b"style"
    assert not Path("appendonly.aof").exists()
    assert Path("appendonlydir/appendonly.aof").exists()
    assert aof.parse_manifest(Path("appendonlydir/appendonly.aof.manifest").read_bytes()).base.name == "appendonly.aof"


# -- deterministic propagation forms ---------------------------------------------------------------------------

@pytest.fixture
def fed(server: Server) -> list[list[bytes]]:
    batches: list = []
    server.propagator.sinks.append(batches.append)
    return batches


def only(fed: list) -> list[list[bytes]]:
    """The commands of the last batch, MULTI/EXEC stripped."""
    argvs = [argv for _db, argv in fed[-1]]
    return [argv for argv in argvs if argv[0] not in (b"MULTI", b"EXEC")]


def absolute_ms(argv: list[bytes], index: int, ttl_ms: int) -> None:
    now = int(time.time() * 1000)
    assert now + ttl_ms - 5000 <= int(argv[index]) <= now + ttl_ms


@pytest.mark.parametrize(("command", "name", "ttl_ms"), [
    (("SET", "k", "v", "EX", "100"), b"SET", 100_000),
    (("SET", "k", "v", "PX", "5000", "NX"), b"SET", 5_000),
    (("SETEX", "k", "100", "v"), b"SET", 100_000),
    (("PSETEX", "k", "1000", "v"), b"SET", 1_000),
])
def test_relative_set_expiry_becomes_pxat(server: Server, client: Client, fed: list, command: tuple,
                                           name: bytes, ttl_ms: int) -> None:
    run(server, client, *command)
    (argv,) = only(fed)
    assert argv[:4] == [name, b"k", b"v", b"PXAT"]
    absolute_ms(argv, 4, ttl_ms)


def test_set_forms_kept_or_stripped_like_redis(server: Server, client: Client, fed: list) -> None:
    run(server, client, "set", "k", "v", "PXAT", "99999999999999", "GET")
    assert only(fed) == [[b"set", b"k", b"v", b"PXAT", b"99999999999999", b"GET"]]
    run(server, client, "SET", "k", "w", "GET", "KEEPTTL", "get")
    assert only(fed) == [[b"SET", b"k", b"w", b"KEEPTTL"]]
    count = len(fed)
    run(server, client, "SET", "k", "x", "NX", "GET")
    assert len(fed) == count  # nothing changed: nothing propagated


def test_expire_family_becomes_pexpireat_keeping_options(server: Server, client: Client, fed: list) -> None:
    run(server, client, "SET", "k", "v")
    run(server, client, "expire", "k", "100", "NX")
    (argv,) = only(fed)
    assert argv[0] == b"PEXPIREAT" and argv[1] == b"k" and argv[3:] == [b"NX"]
    absolute_ms(argv, 2, 100_000)
    run(server, client, "EXPIREAT", "k", "99999999999")
    assert only(fed) == [[b"PEXPIREAT", b"k", b"99999999999000"]]
    run(server, client, "pexpireat", "k", "99999999999001")
    assert only(fed) == [[b"pexpireat", b"k", b"99999999999001"]]
    run(server, client, "EXPIRE", "k", "-1")
    assert only(fed) == [[b"DEL", b"k"]]


def test_getex_getdel_incrbyfloat_hincrbyfloat(server: Server, client: Client, fed: list) -> None:
    run(server, client, "SET", "k", "1.5")
    run(server, client, "GETEX", "k", "EX", "10")
    (argv,) = only(fed)
    assert argv[:2] == [b"PEXPIREAT", b"k"]
    absolute_ms(argv, 2, 10_000)
    run(server, client, "GETEX", "k", "PERSIST")
    assert only(fed) == [[b"PERSIST", b"k"]]
    run(server, client, "INCRBYFLOAT", "k", "2.1")
    assert only(fed) == [[b"SET", b"k", b"3.6", b"KEEPTTL"]]
    run(server, client, "GETDEL", "k")
    assert only(fed) == [[b"DEL", b"k"]]
    run(server, client, "HINCRBYFLOAT", "h", "f", "1.25")
    assert only(fed) == [[b"HSET", b"h", b"f", b"1.25"]]
    run(server, client, "SET", "k", "v")
    run(server, client, "GETEX", "k", "EXAT", "1000")
    assert only(fed) == [[b"DEL", b"k"]]


def test_spop_becomes_srem_or_del(server: Server, client: Client, fed: list) -> None:
    members = [str(i) for i in range(2000)]
    run(server, client, "SADD", "s", *members)
    popped = run(server, client, "SPOP", "s")
    assert only(fed) == [[b"SREM", b"s", popped]]
    popped = run(server, client, "SPOP", "s", "1500")
    srems = only(fed)
    assert [len(argv) - 2 for argv in srems] == [1024, 476]
    assert sorted(m for argv in srems for m in argv[2:]) == sorted(popped)
    count = len(fed)
    run(server, client, "SRANDMEMBER", "s", "3")
    assert len(fed) == count
    run(server, client, "SPOP", "s", "5000")
    assert only(fed) == [[b"DEL", b"s"]]


def test_pops_propagate_as_plain_pops(server: Server, client: Client, fed: list) -> None:
    run(server, client, "RPUSH", "l", "a", "b", "c", "d")
    run(server, client, "BLPOP", "nosuch", "l", "0")
    assert only(fed) == [[b"LPOP", b"l"]]
    run(server, client, "LMPOP", "1", "l", "RIGHT", "COUNT", "10")
    assert only(fed) == [[b"RPOP", b"l", b"3"]]
    run(server, client, "RPUSH", "l", "a", "b")
    run(server, client, "blmove", "l", "dst", "left", "right", "0")
    assert only(fed) == [[b"LMOVE", b"l", b"dst", b"left", b"right"]]
    run(server, client, "BRPOPLPUSH", "l", "dst", "0")
    assert only(fed) == [[b"RPOPLPUSH", b"l", b"dst"]]
    run(server, client, "ZADD", "z", "1", "a", "2", "b", "3", "c")
    run(server, client, "BZPOPMAX", "z", "0")
    assert only(fed) == [[b"ZPOPMAX", b"z"]]
    run(server, client, "ZMPOP", "1", "z", "MIN", "COUNT", "9")
    assert only(fed) == [[b"ZPOPMIN", b"z", b"2"]]


def test_transactions_are_wrapped_in_multi_exec(server: Server, client: Client, fed: list) -> None:
    for args in (("MULTI",), ("SET", "a", "1"), ("GET", "a"), ("SELECT", "1"), ("SET", "b", "2"), ("EXEC",)):
        run(server, client, *args)
    assert fed[-1] == [(0, [b"MULTI"]), (0, [b"SET", b"a", b"1"]), (1, [b"SET", b"b", b"2"]), (1, [b"EXEC"])]


def test_replaying_the_propagated_forms_rebuilds_the_dataset(server: Server, client: Client, fed: list,
                                                             tmp_path: Path) -> None:
    script = [("SET", "s", "v", "EX", "1000"), ("INCRBYFLOAT", "f", "0.1"), ("INCRBYFLOAT", "f", "0.2"),
              ("SADD", "set", *"abcdefgh"), ("SPOP", "set", "3"), ("SPOP", "set"), ("HINCRBYFLOAT", "h", "x", "1.5"),
              ("RPUSH", "l", "1", "2", "3"), ("BRPOP", "l", "0"), ("EXPIRE", "l", "500"), ("ZADD", "z", "1", "a"),
              ("ZMPOP", "1", "z", "MAX"), ("SELECT", "4"), ("SETEX", "x", "100", "y"), ("GETEX", "x", "PX", "90000")]
    for args in script:
        run(server, client, *args)
    data = b"".join(aof.select_command(db) + commands(argv) for batch in fed for db, argv in batch)
    replica = make_server()
    aof.replay_commands(replica, data, 0)
    assert dataset_digest(replica) == dataset_digest(server)
    for db, other in zip(server.dbs, replica.dbs, strict=True):
        assert db.expires == other.expires


# -- the writer's error state ---------------------------------------------------------------------------------

def test_write_errors_set_misconf_and_recover(server: Server, tmp_path: Path) -> None:
    state = aof.state(server)
    state.status = aof.ON
    state.policy = "everysec"
    good = os.open(tmp_path / "incr.aof", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    state.fd = os.open(tmp_path / "incr.aof", os.O_RDONLY)  # every write fails with EBADF
    state.feed([(0, [b"SET", b"a", b"1"])])
    state.flush()
    assert not state.write_ok
    assert server.aof_write_error.message == "MISCONF Errors writing to the AOF file: Bad file descriptor"
    assert aof.aof_info(server)["aof_last_write_status"] == "err"
    assert len(state.buf) > 0  # kept for the retry
    os.close(state.fd)
    state.fd = good
    aof.cron(server)
    assert state.write_ok and server.aof_write_error is None
    assert (tmp_path / "incr.aof").read_bytes() == aof.select_command(0) + commands([b"SET", b"a", b"1"])
    os.close(good)


def test_always_writes_before_returning(server: Server, tmp_path: Path) -> None:
    state = aof.state(server)
    state.status, state.policy = aof.ON, "always"
    state.fd = os.open(tmp_path / "incr.aof", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    state.feed([(0, [b"SET", b"a", b"1"])])
    assert not state.buf and state.fsync_offset == state.current_size > 0
    os.close(state.fd)


# -- the command-form rewrite -----------------------------------------------------------------------------------

def test_command_form_rewrite_rebuilds_every_type(server: Server, client: Client, tmp_path: Path) -> None:
    setup = [("SET", "str", "v"), ("SET", "int", "12"), ("RPUSH", "list", *[str(i) for i in range(150)]),
             ("SADD", "intset", "1", "2", "3"), ("SADD", "set", *[f"m{i}" for i in range(100)]),
             ("ZADD", "zset", "1.5", "a", "-inf", "b", "3", "c"), ("HSET", "hash", *[f"f{i}" for i in range(140)]),
             ("XADD", "stream", "1-1", "a", "1"), ("XADD", "stream", "1-2", "b", "2"), ("XDEL", "stream", "1-1"),
             ("XGROUP", "CREATE", "stream", "g", "0"), ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "stream", ">"),
             ("XGROUP", "CREATECONSUMER", "stream", "g", "bob"),
             ("XADD", "empty", "MAXLEN", "0", "5-5", "x", "y"), ("PEXPIRE", "list", "100000"),
             ("SELECT", "7"), ("SET", "seven", "7")]
    for args in setup:
        run(server, client, *args)
    path = tmp_path / "base.aof"
    with open(path, "wb") as handle:
        aof.write_commands(server, handle)
    data = path.read_bytes()
    assert data.count(b"RPUSH") == 3  # 64 items per command at most
    replica = make_server()
    aof.replay_commands(replica, data, 0)
    assert dataset_digest(replica) == dataset_digest(server)
    assert replica.dbs[0].expires == server.dbs[0].expires
    stream = replica.dbs[0].data[b"stream"]
    assert (stream.entries_added, stream.max_deleted_id) == (2, server.dbs[0].data[b"stream"].max_deleted_id)
    assert sorted(stream.groups[b"g"].consumers) == [b"alice", b"bob"]


class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


class FakeLoop:
    def __init__(self) -> None:
        self.callbacks: list = []

    def call_soon(self, callback) -> None:
        self.callbacks.append(callback)

    def run_once(self) -> None:
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback()


def test_always_holds_replies_until_one_group_fsync(server: Server, tmp_path: Path) -> None:
    state = aof.state(server)
    state.status, state.policy = aof.ON, "always"
    state.fd = os.open(tmp_path / "incr.aof", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    server.propagator.sinks.append(state.feed)
    server.loop = FakeLoop()
    first, second = (Client(server, FakeTransport(), "a", "b") for _ in range(2))
    real = first.transport, second.transport
    for client in (first, second):
        client.pending.append([b"SET", client.addr.encode() + b"%d" % client.id, b"v"])
        client.process()
    assert real[0].written == real[1].written == []  # nothing acknowledged before the fsync
    assert state.buf and len(server.loop.callbacks) == 1  # one sync for both clients
    server.loop.run_once()
    assert real[0].written == [b"+OK\r\n"] and real[1].written == [b"+OK\r\n"]
    assert first.transport is real[0] and not state.buf and state.fsync_offset == state.current_size
    first.pending.append([b"SET", b"x", b"1"])
    first.process()
    first.close()  # closing lets the held reply out, synced, first
    assert real[0].written[-1] == b"+OK\r\n" and real[0].closed
    os.close(state.fd)
