"""GEO commands: GEOADD GEODIST GEOHASH GEOPOS and the searches (GEOSEARCH, GEOSEARCHSTORE,
GEORADIUS, GEORADIUSBYMEMBER and their _RO forms).

Points are members of a sorted set whose score is the 52-bit geohash of the point
(`keyspace/geohash.py` owns the arithmetic). As in Redis's geo.c, GEOADD is ZADD with computed
scores, and every search command is one generic routine (`search_command`) whose variants differ
by where the centre comes from, which shapes are allowed and whether results are stored.

Number formats are Redis's: distances with 4 decimals, coordinates as "%.17Lf" with trailing
zeros removed (a bulk string in RESP2, a double in RESP3).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..keyspace import geohash
from ..keyspace.zsets import ScoreRange, ZSet
from ..protocol import encoder
from ..protocol.errors import SYNTAX, CommandError
from .table import command, parse_int
from .zsets import NULL_ARRAY, parse_score, read_zset, store_result, zadd_generic

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "geo"
ACL = "geo"

UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
BAD_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
BAD_MEMBER = "ERR could not decode requested zset member"

# COMMAND DOCS complexity texts (part of the reply, so Redis's own wording).
_RADIUS_COST = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."
_SEARCH_COST = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"
COMPLEXITY = {
    "geoadd": "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
    "geodist": "O(log(N))",
    "geohash": "O(log(N)) for each member requested, where N is the number of elements in the sorted set.",
    "geopos": "O(N) where N is the number of members requested.",
    "georadius": _RADIUS_COST,
    "georadius_ro": _RADIUS_COST,
    "georadiusbymember": _RADIUS_COST,
    "georadiusbymember_ro": _RADIUS_COST,
    "geosearch": _SEARCH_COST,
    "geosearchstore": _SEARCH_COST,
}


class DoubleText(bytes):
    """A double already printed in Redis's text: a bulk string in RESP2, a double in RESP3
    (Redis's addReplyHumanLongDouble)."""

    __slots__ = ()


def _encode_double_text(out: list, value: DoubleText, resp: int) -> None:
    if resp == 3:
        out.append(b"," + value + b"\r\n")
    else:
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))


# The encoder maps reply classes to writers; this reply type is only produced here.
encoder._ENCODERS.setdefault(DoubleText, _encode_double_text)


def human_double(value: float) -> DoubleText:
    """C's "%.17Lf" of the value with trailing zeros (and a bare '.') removed."""
    text = format(Decimal(value), ".17f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return DoubleText(b"0" if text == "-0" else text.encode())


def format_distance(meters: float) -> bytes:
    """Redis 7.2's fixed-point distance: rounded to 4 decimals in the double domain."""
    if meters == 0:
        return b"0.0000"
    scaled = round(meters * 10000.0)
    sign = b"-" if scaled < 0 else b""
    digits = b"%05d" % abs(scaled)
    return sign + digits[:-4] + b"." + digits[-4:]


def parse_unit(raw: bytes) -> float:
    unit = UNITS.get(raw.lower())
    if unit is None:
        raise CommandError(BAD_UNIT)
    return unit


def parse_lonlat(lon_raw: bytes, lat_raw: bytes) -> tuple[float, float]:
    lon, lat = parse_score(lon_raw), parse_score(lat_raw)
    if not geohash.coordinates_valid(lon, lat):
        raise CommandError(f"ERR invalid longitude,latitude pair {lon:f},{lat:f}")
    return lon, lat


def member_position(zset: ZSet, member: bytes) -> tuple[float, float] | None:
    score = zset.scores.get(member)
    return None if score is None else geohash.decode_score(score)


# -- GEOADD GEODIST GEOHASH GEOPOS --------------------------------------------------------------

@command("geoadd", -5, complexity=COMPLEXITY["geoadd"],
         flags="write denyoom", keys=(1, 1, 1), acl=ACL, group=GROUP, since="3.2.0",
         summary="Adds one or more members to a geospatial index. The key is created if it doesn't exist.")
def geoadd(client: Client, args: list[bytes]):
    first = 2
    while first < len(args) and args[first].lower() in (b"nx", b"xx", b"ch"):
        first += 1
    options = {option.lower() for option in args[2:first]}
    if (len(args) - first) % 3 or {b"nx", b"xx"} <= options:
        raise CommandError(SYNTAX)
    zadd_args = [b"zadd", args[1], *args[2:first]]
    for index in range(first, len(args), 3):
        lon, lat = parse_lonlat(args[index], args[index + 1])
        zadd_args.append(b"%d" % geohash.encode_score(lon, lat))
        zadd_args.append(args[index + 2])
    return zadd_generic(client, zadd_args, incr=False)  # GEOADD is ZADD, as in Redis


@command("geodist", -4, complexity=COMPLEXITY["geodist"],
         flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="3.2.0",
         summary="Returns the distance between two members of a geospatial index.")
def geodist(client: Client, args: list[bytes]):
    if len(args) > 5:
        raise CommandError(SYNTAX)
    to_meters = parse_unit(args[4]) if len(args) == 5 else 1.0
    zset = read_zset(client, args[1])
    if zset is None:
        return None
    first, second = member_position(zset, args[2]), member_position(zset, args[3])
    if first is None or second is None:
        return None
    return format_distance(geohash.distance(*first, *second) / to_meters)


@command("geohash", -2, complexity=COMPLEXITY["geohash"],
         flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="3.2.0",
         summary="Returns members from a geospatial index as geohash strings.")
def geohash_(client: Client, args: list[bytes]):
    zset = read_zset(client, args[1])
    scores = {} if zset is None else zset.scores
    return [None if (score := scores.get(member)) is None else geohash.geohash_string(score)
            for member in args[2:]]


@command("geopos", -2, complexity=COMPLEXITY["geopos"],
         flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="3.2.0",
         summary="Returns the longitude and latitude of members from a geospatial index.")
def geopos(client: Client, args: list[bytes]):
    zset = read_zset(client, args[1])
    scores = {} if zset is None else zset.scores
    reply: list = []
    for member in args[2:]:
        score = scores.get(member)
        if score is None:
            reply.append(NULL_ARRAY)
        else:
            lon, lat = geohash.decode_score(score)
            reply.append([human_double(lon), human_double(lat)])
    return reply


# -- searches -----------------------------------------------------------------------------------

COORDS, MEMBER, NOSTORE, SEARCH, SEARCHSTORE = 1, 2, 4, 8, 16


class SearchOptions:
    __slots__ = ("withdist", "withhash", "withcoord", "ascending", "count", "any", "store_key",
                 "store_dist", "center", "shape_args")

    def __init__(self) -> None:
        self.withdist = self.withhash = self.withcoord = self.any = self.store_dist = False
        self.ascending: bool | None = None
        self.count = 0
        self.store_key: bytes | None = None
        self.center: tuple[float, float] | None = None
        # (to_meters, radius) for a circle, (to_meters, width, height) for a box
        self.shape_args: tuple[float, ...] | None = None

    def shape(self) -> geohash.Shape:
        assert self.center is not None and self.shape_args is not None
        lon, lat = self.center
        if len(self.shape_args) == 2:
            return geohash.Shape(lon, lat, self.shape_args[0], radius=self.shape_args[1])
        to_meters, width, height = self.shape_args
        return geohash.Shape(lon, lat, to_meters, width=width, height=height)


def parse_radius(args: list[bytes], index: int) -> tuple[float, float]:
    """(to_meters, radius) from "<radius> <unit>"."""
    radius = parse_score(args[index], "ERR need numeric radius")
    if radius < 0:
        raise CommandError("ERR radius cannot be negative")
    return parse_unit(args[index + 1]), radius


def parse_box(args: list[bytes], index: int) -> tuple[float, float, float]:
    """(to_meters, width, height) from "<width> <height> <unit>"."""
    width = parse_score(args[index], "ERR need numeric width")
    height = parse_score(args[index + 1], "ERR need numeric height")
    if width < 0 or height < 0:
        raise CommandError("ERR height or width cannot be negative")
    return parse_unit(args[index + 2]), width, height


def _parse_center_and_radius(args: list[bytes], zset: ZSet | None, flags: int, opts: SearchOptions) -> int:
    """GEORADIUS* fixed arguments; returns where the options start."""
    if flags & COORDS:
        opts.center = parse_lonlat(args[2], args[3])
        opts.shape_args = parse_radius(args, 4)
        return 6
    if zset is not None:  # by member; with no key Redis only parses the options
        opts.center = member_position(zset, args[2])
        if opts.center is None:
            raise CommandError(BAD_MEMBER)
        opts.shape_args = parse_radius(args, 3)
    return 5


def parse_search(args: list[bytes], zset: ZSet | None, flags: int) -> SearchOptions:
    """Every search variant's arguments, in the order Redis checks them (georadiusGeneric)."""
    opts = SearchOptions()
    if flags & SEARCH:
        first = 3 if flags & SEARCHSTORE else 2
        if flags & SEARCHSTORE:
            opts.store_key = args[1]
    else:
        first = _parse_center_and_radius(args, zset, flags, opts)
    from_member = from_lonlat = by_radius = by_box = False
    index = first
    end = len(args)
    while index < end:
        option = args[index].lower()
        more = end - index - 1
        if option == b"withdist":
            opts.withdist = True
        elif option == b"withhash":
            opts.withhash = True
        elif option == b"withcoord":
            opts.withcoord = True
        elif option == b"any":
            opts.any = True
        elif option in (b"asc", b"desc"):
            opts.ascending = option == b"asc"
        elif option == b"count" and more >= 1:
            opts.count = parse_int(args[index + 1])
            if opts.count <= 0:
                raise CommandError("ERR COUNT must be > 0")
            index += 1
        elif option in (b"store", b"storedist") and more >= 1 and not flags & (NOSTORE | SEARCH):
            opts.store_key = args[index + 1]
            opts.store_dist = option == b"storedist"
            index += 1
        elif option == b"storedist" and flags & SEARCHSTORE:
            opts.store_dist = True
        elif option == b"frommember" and more >= 1 and flags & SEARCH and not from_lonlat:
            if zset is not None:
                opts.center = member_position(zset, args[index + 1])
                if opts.center is None:
                    raise CommandError(BAD_MEMBER)
            from_member = True
            index += 1
        elif option == b"fromlonlat" and more >= 2 and flags & SEARCH and not from_member:
            opts.center = parse_lonlat(args[index + 1], args[index + 2])
            from_lonlat = True
            index += 2
        elif option == b"byradius" and more >= 2 and flags & SEARCH and not by_box:
            opts.shape_args = parse_radius(args, index + 1)
            by_radius = True
            index += 2
        elif option == b"bybox" and more >= 3 and flags & SEARCH and not by_radius:
            opts.shape_args = parse_box(args, index + 1)
            by_box = True
            index += 3
        else:
            raise CommandError(SYNTAX)
        index += 1
    _check_search_options(args, flags, opts, from_member or from_lonlat, by_radius or by_box)
    return opts


def _check_search_options(args: list[bytes], flags: int, opts: SearchOptions, has_from: bool,
                          has_by: bool) -> None:
    if opts.store_key is not None and (opts.withdist or opts.withhash or opts.withcoord):
        what = "GEOSEARCHSTORE" if flags & SEARCHSTORE else "STORE option in GEORADIUS"
        raise CommandError(f"ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    name = args[0].decode("utf-8", "replace")
    if flags & SEARCH and not has_from:
        raise CommandError(f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")
    if flags & SEARCH and not has_by:
        raise CommandError(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")
    if opts.any and not opts.count:
        raise CommandError("ERR the ANY argument requires COUNT argument")


class Point:
    __slots__ = ("member", "score", "lon", "lat", "dist")

    def __init__(self, member: bytes, score: float, lon: float, lat: float, dist: float) -> None:
        self.member = member
        self.score = score
        self.lon = lon
        self.lat = lat
        self.dist = dist


def find_points(zset: ZSet, shape: geohash.Shape, limit: int) -> list[Point]:
    """Points inside the shape, visiting the 9 boxes in Redis's order (stops at limit > 0)."""
    found: list[Point] = []
    previous: geohash.Hash | None = None
    for box in geohash.search_boxes(shape):
        if box.is_zero():
            continue
        if box == previous:  # huge radii make adjacent boxes coincide
            continue
        if limit and len(found) >= limit:
            break
        _points_in_box(zset, box, shape, found, limit)
        previous = box
    return found


def _points_in_box(zset: ZSet, box: geohash.Hash, shape: geohash.Shape, found: list[Point], limit: int) -> None:
    low, high = geohash.box_score_range(box)
    span = zset.score_span(ScoreRange(float(low), False, float(high), True))
    for score, member in zset.slice(*span):
        lon, lat = geohash.decode_score(score)
        dist = shape.distance_if_inside(lon, lat)
        if dist is not None:
            found.append(Point(member, score, lon, lat, dist))
        if limit and len(found) >= limit:
            return


def point_reply(point: Point, opts: SearchOptions) -> Any:
    if not (opts.withdist or opts.withhash or opts.withcoord):
        return point.member
    item: list = [point.member]
    if opts.withdist:
        item.append(format_distance(point.dist))
    if opts.withhash:
        item.append(int(point.score))
    if opts.withcoord:
        item.append([human_double(point.lon), human_double(point.lat)])
    return item


def store_points(client: Client, points: list[Point], opts: SearchOptions, event: str) -> int:
    result = ZSet()
    result.skiplist = True  # built like Redis's (as a skiplist), then refitted by store_result
    for point in points:
        if point.member not in result.scores:
            result.insert(point.member, point.dist if opts.store_dist else point.score)
    assert opts.store_key is not None
    return store_result(client, opts.store_key, result, event)


def search_command(client: Client, args: list[bytes], src_index: int, flags: int) -> Any:
    zset = read_zset(client, args[src_index])
    opts = parse_search(args, zset, flags)
    event = "geosearchstore" if flags & SEARCH else "georadiusstore"
    if zset is None:
        if opts.store_key is None:
            return []
        return store_result(client, opts.store_key, ZSet(), event)
    shape = opts.shape()
    points = find_points(zset, shape, opts.count if opts.any else 0)
    if opts.count and opts.ascending is None and not opts.any:
        opts.ascending = True  # the N closest need sorting
    if opts.ascending is not None:
        sort_points(points, opts.ascending, opts.count)
    if opts.count:
        del points[opts.count:]
    for point in points:
        point.dist /= shape.to_meters
    if opts.store_key is not None:
        return store_points(client, points, opts, event)
    return [point_reply(point, opts) for point in points]


def _by_distance(point: Point) -> float:
    return point.dist


def sort_points(points: list[Point], ascending: bool, count: int) -> None:
    """Order points by distance the way Redis does: all of them with the C library's qsort
    (glibc's is a stable merge sort), or only the first `count` with Redis's partial quicksort,
    whose order of equally distant points is its own."""
    if not count or count >= len(points):
        points.sort(key=_by_distance, reverse=not ascending)
        return
    sign = 1 if ascending else -1

    def compare(a: Point, b: Point) -> int:
        return sign * ((a.dist > b.dist) - (a.dist < b.dist))

    partial_quicksort(points, 0, len(points), compare, 0, count - 1)


def _median_of_three(items: list, a: int, b: int, c: int, compare: Callable[[Any, Any], int]) -> int:
    if compare(items[a], items[b]) < 0:
        if compare(items[b], items[c]) < 0:
            return b
        return c if compare(items[a], items[c]) < 0 else a
    if compare(items[b], items[c]) > 0:
        return b
    return a if compare(items[a], items[c]) < 0 else c


def _swap_runs(items: list, a: int, b: int, length: int) -> None:
    for offset in range(length):
        items[a + offset], items[b + offset] = items[b + offset], items[a + offset]


def partial_quicksort(items: list, base: int, n: int, compare: Callable[[Any, Any], int], first: int,
                      last: int) -> None:
    """Sort items[base:base + n] enough that positions first..last hold what a full sort puts
    there: Bentley & McIlroy's quicksort (as in NetBSD's qsort) skipping the partitions that
    do not meet [first, last], which is Redis's pqsort step for step (equal elements included)."""
    while True:
        if n < 7:  # insertion sort
            for moving in range(base + 1, base + n):
                position = moving
                while position > base and compare(items[position - 1], items[position]) > 0:
                    items[position - 1], items[position] = items[position], items[position - 1]
                    position -= 1
            return
        middle = base + n // 2
        if n > 7:
            low, high = base, base + n - 1
            if n > 40:
                step = n // 8
                low = _median_of_three(items, low, low + step, low + 2 * step, compare)
                middle = _median_of_three(items, middle - step, middle, middle + step, compare)
                high = _median_of_three(items, high - 2 * step, high - step, high, compare)
            middle = _median_of_three(items, low, middle, high, compare)
        items[base], items[middle] = items[middle], items[base]
        pivot = items[base]
        # Partition into [== pivot | < pivot | > pivot | == pivot], then move the equal runs in.
        pa = pb = base + 1
        pc = pd = base + n - 1
        while True:
            while pb <= pc and (order := compare(items[pb], pivot)) <= 0:
                if order == 0:
                    items[pa], items[pb] = items[pb], items[pa]
                    pa += 1
                pb += 1
            while pb <= pc and (order := compare(items[pc], pivot)) >= 0:
                if order == 0:
                    items[pc], items[pd] = items[pd], items[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            items[pb], items[pc] = items[pc], items[pb]
            pb += 1
            pc -= 1
        end = base + n
        run = min(pa - base, pb - pa)
        _swap_runs(items, base, pb - run, run)
        run = min(pd - pc, end - pd - 1)
        _swap_runs(items, pb, end - run, run)
        smaller = pb - pa
        if smaller > 1 and not (last < base or first >= base + smaller):
            partial_quicksort(items, base, smaller, compare, first, last)
        larger = pd - pc
        if larger <= 1:
            return
        base, n = end - larger, larger  # the larger side by iteration, as the C code does
        if last < base or first >= base + n:
            return


def _store_key_positions(args: list[bytes]) -> list[int]:
    """GEORADIUS[BYMEMBER]'s keys: the source and, with STORE/STOREDIST, the destination."""
    positions = [1]
    for index in range(len(args) - 2, 1, -1):
        if args[index].lower() in (b"store", b"storedist"):
            positions.append(index + 1)
            break
    return positions


def _search(name: str, arity: int, flags: int, src_index: int, summary: str, since: str,
            store: bool = False, get_keys: Callable[[list[bytes]], list[int]] | None = None) -> None:
    command_flags = "write denyoom" if store else "readonly"
    keys = (1, 2, 1) if flags & SEARCHSTORE else (1, 1, 1)

    @command(name, arity, complexity=COMPLEXITY[name],
             flags=command_flags, keys=keys, acl=ACL, group=GROUP, since=since,
             summary=summary, get_keys=get_keys)
    def handler(client: Client, args: list[bytes]):
        return search_command(client, args, src_index, flags)


_search("georadius", -6, COORDS, 1, "Queries a geospatial index for members within a distance from a coordinate, "
        "optionally stores the result.", "3.2.0", store=True, get_keys=_store_key_positions)
_search("georadius_ro", -6, COORDS | NOSTORE, 1, "Returns members from a geospatial index that are within a "
        "distance from a coordinate.", "3.2.10")
_search("georadiusbymember", -5, MEMBER, 1, "Queries a geospatial index for members within a distance from a "
        "member, optionally stores the result.", "3.2.0", store=True, get_keys=_store_key_positions)
_search("georadiusbymember_ro", -5, MEMBER | NOSTORE, 1, "Returns members from a geospatial index that are "
        "within a distance from a member.", "3.2.10")
_search("geosearch", -7, SEARCH, 1, "Queries a geospatial index for members inside an area of a box or a circle.",
        "6.2.0")
_search("geosearchstore", -8, SEARCH | SEARCHSTORE, 2, "Queries a geospatial index for members inside an area of "
        "a box or a circle, optionally stores the result.", "6.2.0", store=True)
