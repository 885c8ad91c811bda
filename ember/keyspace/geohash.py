"""Geohash arithmetic for the GEO commands: Redis's 52-bit interleaved encoding, its haversine
distance and its 9-box radius/box search plan.

GEO points are sorted set members whose score is a 52-bit geohash (26 bits of longitude and 26
of latitude interleaved, latitude in the even bits), computed over Redis's Web-Mercator-safe
latitude range (+-85.05112878). Every number here follows Redis's arithmetic step by step (same
operation order, same constants, same truncations), because the scores, the decoded coordinates
and the choice of search boxes must be bit-identical to Redis's for replies to match byte for byte.
Floats are IEEE doubles and `math` calls the platform libm, as Redis does.

A search covers the shape with the geohash box of the centre plus its 8 neighbours at a step
(precision) chosen from the radius; each box is a contiguous score interval of the sorted set.
"""

from __future__ import annotations

import math
from typing import NamedTuple

LONG_MIN, LONG_MAX = -180.0, 180.0
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
STEP_MAX = 26  # 26 bits per coordinate: 52-bit scores, exactly representable in a double

EARTH_RADIUS_M = 6372797.560856
MERCATOR_MAX = 20037726.37
_DEG_TO_RAD = math.pi / 180.0

_MASK64 = (1 << 64) - 1
_EVEN_BITS = 0x5555555555555555
_ODD_BITS = 0xAAAAAAAAAAAAAAAA

# Bit-spreading masks and shifts for interleaving two 32-bit numbers (the classic "binary
# magic numbers" method).
_SPREAD = ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
           (2, 0x3333333333333333), (1, 0x5555555555555555))
_SQUEEZE = ((0, 0x5555555555555555), (1, 0x3333333333333333), (2, 0x0F0F0F0F0F0F0F0F),
            (4, 0x00FF00FF00FF00FF), (8, 0x0000FFFF0000FFFF), (16, 0x00000000FFFFFFFF))


def _cos(x: float) -> float:
    """C's cos: NaN for an infinite argument where Python raises (huge search shapes)."""
    return math.cos(x) if math.isfinite(x) else math.nan


class Range(NamedTuple):
    low: float
    high: float


class Area(NamedTuple):
    """The rectangle a geohash denotes."""

    lon: Range
    lat: Range


class Hash(NamedTuple):
    bits: int
    step: int

    def is_zero(self) -> bool:
        return self.bits == 0 and self.step == 0


ZERO_HASH = Hash(0, 0)
MERCATOR_LON = Range(LONG_MIN, LONG_MAX)
MERCATOR_LAT = Range(LAT_MIN, LAT_MAX)
# GEOHASH answers standard geohash strings, which use the full latitude range.
STANDARD_LAT = Range(-90.0, 90.0)


def _spread(value: int) -> int:
    for shift, mask in _SPREAD:
        value = (value | (value << shift)) & mask
    return value


def _squeeze(value: int) -> int:
    for shift, mask in _SQUEEZE:
        value = (value | (value >> shift)) & mask
    return value


def interleave(lat_bits: int, lon_bits: int) -> int:
    return _spread(lat_bits) | (_spread(lon_bits) << 1)


def deinterleave(bits: int) -> tuple[int, int]:
    """(latitude part, longitude part) of interleaved bits."""
    return _squeeze(bits), _squeeze(bits >> 1)


def coordinates_valid(lon: float, lat: float) -> bool:
    return LONG_MIN <= lon <= LONG_MAX and LAT_MIN <= lat <= LAT_MAX


def encode(lon: float, lat: float, step: int = STEP_MAX, lon_range: Range = MERCATOR_LON,
           lat_range: Range = MERCATOR_LAT) -> Hash | None:
    """The geohash of a point at `step` bits per coordinate, or None outside the ranges."""
    if not coordinates_valid(lon, lat):
        return None
    if not (lat_range.low <= lat <= lat_range.high and lon_range.low <= lon <= lon_range.high):
        return None
    cells = float(1 << step)
    lat_offset = (lat - lat_range.low) / (lat_range.high - lat_range.low) * cells
    lon_offset = (lon - lon_range.low) / (lon_range.high - lon_range.low) * cells
    # C converts the offsets to uint32_t: truncation toward zero.
    return Hash(interleave(int(lat_offset) & 0xFFFFFFFF, int(lon_offset) & 0xFFFFFFFF), step)


def decode(hash_: Hash, lon_range: Range = MERCATOR_LON, lat_range: Range = MERCATOR_LAT) -> Area:
    lat_cell, lon_cell = deinterleave(hash_.bits)
    cells = float(1 << hash_.step)
    lat_scale = lat_range.high - lat_range.low
    lon_scale = lon_range.high - lon_range.low
    return Area(
        Range(lon_range.low + (lon_cell / cells) * lon_scale, lon_range.low + ((lon_cell + 1) / cells) * lon_scale),
        Range(lat_range.low + (lat_cell / cells) * lat_scale, lat_range.low + ((lat_cell + 1) / cells) * lat_scale),
    )


def area_center(area: Area) -> tuple[float, float]:
    lon = min(max((area.lon.low + area.lon.high) / 2, LONG_MIN), LONG_MAX)
    lat = min(max((area.lat.low + area.lat.high) / 2, LAT_MIN), LAT_MAX)
    return lon, lat


def score_to_bits(score: float) -> int:
    """C's (uint64_t) conversion of a double on x86-64, for scores that may not be geohashes."""
    if not math.isfinite(score):
        return 1 << 63
    if score < 2.0**63:
        value = int(score)
        return value & _MASK64 if value >= -(2**63) else 1 << 63
    return int(score) if score < 2.0**64 else 0


def decode_score(score: float) -> tuple[float, float]:
    """(longitude, latitude) of a GEO member's score: the centre of its 52-bit cell."""
    return area_center(decode(Hash(score_to_bits(score), STEP_MAX)))


def encode_score(lon: float, lat: float) -> int | None:
    """The sorted set score GEOADD stores for a point (None when the pair is out of range)."""
    hashed = encode(lon, lat)
    return None if hashed is None else align52(hashed)


def align52(hash_: Hash) -> int:
    return (hash_.bits << (52 - hash_.step * 2)) & _MASK64


BASE32 = b"0123456789bcdefghjkmnpqrstuvwxyz"


def geohash_string(score: float) -> bytes:
    """GEOHASH's 11-character standard geohash of a stored score."""
    lon, lat = decode_score(score)
    hashed = encode(lon, lat, STEP_MAX, MERCATOR_LON, STANDARD_LAT)
    bits = hashed.bits if hashed is not None else 0
    chars = bytearray(BASE32[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10))
    chars.append(BASE32[0])  # 52 bits fill 10 characters; the 11th is always '0', as in Redis
    return bytes(chars)


# -- distances ---------------------------------------------------------------------------------

def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS_M * abs(lat2 * _DEG_TO_RAD - lat1 * _DEG_TO_RAD)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine great-circle distance in meters (Redis 7.2's formula, shortcut included)."""
    v = math.sin((lon2 * _DEG_TO_RAD - lon1 * _DEG_TO_RAD) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = lat1 * _DEG_TO_RAD
    lat2r = lat2 * _DEG_TO_RAD
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


# -- search shapes -----------------------------------------------------------------------------

class Shape(NamedTuple):
    """A search area around (lon, lat): a circle (width None) or an axis-aligned box.

    radius, width and height are in the request's unit; `to_meters` converts them.
    """

    lon: float
    lat: float
    to_meters: float
    radius: float = 0.0
    width: float | None = None
    height: float = 0.0

    @property
    def is_box(self) -> bool:
        return self.width is not None

    def distance_if_inside(self, lon: float, lat: float) -> float | None:
        """Distance in meters from the centre to a point inside the shape, None if outside."""
        if not self.is_box:
            meters = distance(self.lon, self.lat, lon, lat)
            return None if meters > self.radius * self.to_meters else meters
        # Cheaper latitude test first, as Redis 7.2 does.
        if lat_distance(lat, self.lat) > self.height * self.to_meters / 2:
            return None
        if distance(lon, lat, self.lon, lat) > self.width * self.to_meters / 2:
            return None
        return distance(self.lon, self.lat, lon, lat)

    def bounding_box(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) enclosing the shape."""
        half_height = self.to_meters * (self.height / 2 if self.is_box else self.radius)
        half_width = self.to_meters * (self.width / 2 if self.is_box else self.radius)  # type: ignore[operator]
        lat_delta = (half_height / EARTH_RADIUS_M) / _DEG_TO_RAD
        lon_delta_top = (half_width / EARTH_RADIUS_M / _cos((self.lat + lat_delta) * _DEG_TO_RAD)) / _DEG_TO_RAD
        lon_delta_bottom = (half_width / EARTH_RADIUS_M / _cos((self.lat - lat_delta) * _DEG_TO_RAD)) / _DEG_TO_RAD
        # The box's wider edge is the one nearer the equator.
        lon_delta = lon_delta_bottom if self.lat < 0 else lon_delta_top
        return self.lon - lon_delta, self.lat - lat_delta, self.lon + lon_delta, self.lat + lat_delta

    def radius_meters(self) -> float:
        if self.is_box:
            half_w, half_h = self.width / 2, self.height / 2  # type: ignore[operator]
            return math.sqrt(half_w * half_w + half_h * half_h) * self.to_meters
        return self.radius * self.to_meters


def estimate_step(range_meters: float, lat: float) -> int:
    """Geohash precision whose boxes are about the size of the search radius."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2  # make sure the range fits in the base cases
    if lat > 66 or lat < -66:  # boxes get narrower towards the poles
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


def _move(hash_: Hash, axis_mask: int, other_mask: int, direction: int) -> Hash:
    """Shift a geohash one cell along the axis whose bits are in axis_mask (wrapping around)."""
    if direction == 0:
        return hash_
    width = 64 - hash_.step * 2
    moving = hash_.bits & axis_mask
    kept = hash_.bits & other_mask
    filler = (other_mask & _MASK64) >> width  # 1s on the other axis' bits carry the +1 across
    # +1: add with the other axis' bits set so the carry crosses them; -1: borrow likewise.
    moving = (moving + filler + 1) if direction > 0 else ((moving | filler) - (filler + 1))
    moving &= _MASK64
    moving &= (axis_mask & _MASK64) >> width
    return Hash(moving | kept, hash_.step)


def _neighbor(hash_: Hash, east: int, north: int) -> Hash:
    # Longitude lives in the odd bits, latitude in the even bits.
    moved = _move(hash_, _ODD_BITS, _EVEN_BITS, east)
    return _move(moved, _EVEN_BITS, _ODD_BITS, north)


# Redis's visiting order of the 9 boxes: centre, N, S, E, W, NE, NW, SE, SW.
_NEIGHBOR_OFFSETS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))


def _boxes_at(lon: float, lat: float, step: int) -> tuple[Hash, list[Hash]]:
    center = encode(lon, lat, step)
    assert center is not None
    return center, [_neighbor(center, east, north) for east, north in _NEIGHBOR_OFFSETS]


def search_boxes(shape: Shape) -> list[Hash]:
    """The 9 geohash boxes (centre first; zero hashes for boxes the shape cannot touch) that
    cover the shape, chosen exactly as Redis chooses them."""
    min_lon, min_lat, max_lon, max_lat = shape.bounding_box()
    step = estimate_step(shape.radius_meters(), shape.lat)
    center, neighbors = _boxes_at(shape.lon, shape.lat, step)
    north, south, east, west = (decode(neighbors[i]) for i in range(4))
    # Near a box edge the neighbours may not reach far enough: use bigger boxes.
    too_small = (north.lat.high < max_lat or south.lat.low > min_lat
                 or east.lon.high < max_lon or west.lon.low > min_lon)
    if step > 1 and too_small:
        step -= 1
        center, neighbors = _boxes_at(shape.lon, shape.lat, step)
    if step >= 2:
        _drop_useless_neighbors(decode(center), neighbors, (min_lon, min_lat, max_lon, max_lat))
    return [center, *neighbors]


# Indexes into the neighbour list (N, S, E, W, NE, NW, SE, SW) on each side of the centre.
_SOUTH_SIDE, _NORTH_SIDE, _WEST_SIDE, _EAST_SIDE = (1, 7, 6), (0, 4, 5), (3, 7, 5), (2, 6, 4)


def _drop_useless_neighbors(area: Area, neighbors: list[Hash], bounds: tuple[float, float, float, float]) -> None:
    min_lon, min_lat, max_lon, max_lat = bounds
    sides = ((area.lat.low < min_lat, _SOUTH_SIDE), (area.lat.high > max_lat, _NORTH_SIDE),
             (area.lon.low < min_lon, _WEST_SIDE), (area.lon.high > max_lon, _EAST_SIDE))
    for outside, indexes in sides:
        if outside:
            for index in indexes:
                neighbors[index] = ZERO_HASH


def box_score_range(hash_: Hash) -> tuple[int, int]:
    """Scores [low, high) of the points inside a geohash box."""
    return align52(hash_), align52(Hash(hash_.bits + 1, hash_.step))
