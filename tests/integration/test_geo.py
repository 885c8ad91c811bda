"""GEO commands against a real Ember process through redis-py (RESP2 and RESP3), plus unit checks
of the geohash arithmetic against values Redis produces."""

from __future__ import annotations

import pytest
import redis

from ember.commands.geo import format_distance, human_double
from ember.keyspace import geohash
from tests.conftest import raw

SICILY = (13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania")


def test_geoadd_stores_redis_scores(r):
    assert r.geoadd("g", SICILY) == 2
    assert r.zscore("g", "Palermo") == 3479099956230698
    assert r.zscore("g", "Catania") == 3479447370796909
    assert r.geoadd("g", (13.4, 38.1, "Palermo"), ch=True) == 1
    assert r.geoadd("g", (1, 1, "new"), nx=True) == 1
    with pytest.raises(redis.ResponseError, match=r"invalid longitude,latitude pair 1\.000000,100\.000000"):
        r.geoadd("g", (1, 100, "x"))


def test_geopos_geohash_geodist(r):
    r.geoadd("g", SICILY)
    assert r.geopos("g", "Palermo", "nope") == [(13.361389338970184, 38.1155563954963), None]
    assert raw(r, "GEOPOS", "g", "Palermo") == [[b"13.36138933897018433", b"38.11555639549629859"]]
    assert r.geohash("g", "Palermo", "Catania", "nope") == ["sqc8b49rny0", "sqdtr74hyu0", None]
    assert r.geodist("g", "Palermo", "Catania") == 166274.1516
    assert r.geodist("g", "Palermo", "Catania", "km") == 166.2742
    assert r.geodist("g", "Palermo", "nope") is None
    with pytest.raises(redis.ResponseError, match="unsupported unit provided. please use M, KM, FT, MI"):
        r.execute_command("GEODIST", "g", "Palermo", "Catania", "yd")


def test_resp3_coordinates_are_doubles(r3):
    r3.geoadd("g", SICILY)
    assert raw(r3, "GEOPOS", "g", "Palermo", "nope") == [[13.361389338970184, 38.1155563954963], None]
    reply = raw(r3, "GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHDIST", "WITHCOORD")
    assert reply[0][:2] == [b"Catania", b"56.4413"]  # distances stay bulk strings
    assert reply[0][2] == [15.087267458438873, 37.50266842333162]


def test_searches(r):
    r.geoadd("g", SICILY)
    assert r.geosearch("g", longitude=15, latitude=37, radius=200, unit="km", sort="ASC") == [b"Catania", b"Palermo"]
    assert r.geosearch("g", member="Palermo", width=400, height=400, unit="km", withdist=True, sort="DESC") == [
        [b"Catania", 166.2742], [b"Palermo", 0.0]]
    assert r.georadius("g", 15, 37, 100, unit="km") == [b"Catania"]
    assert r.georadiusbymember("g", "Palermo", 200, unit="km", count=1, sort="ASC") == [b"Palermo"]
    assert r.geosearchstore("dst", "g", longitude=15, latitude=37, radius=200, unit="km", storedist=True) == 2
    assert raw(r, "ZSCORE", "dst", "Catania") == b"56.4412578701582"  # 7.0 prints 56.441257870158204
    with pytest.raises(redis.ResponseError, match="exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch"):
        r.execute_command("geosearch", "g", "BYRADIUS", "1", "km", "ASC", "WITHDIST")
    with pytest.raises(redis.ResponseError, match="the ANY argument requires COUNT argument"):
        r.execute_command("GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "ANY")


def test_geohash_arithmetic():
    score = geohash.encode_score(13.361389, 38.115556)
    assert score == 3479099956230698
    assert geohash.decode_score(score) == (13.361389338970184, 38.1155563954963)
    assert geohash.geohash_string(score) == b"sqc8b49rny0"
    assert geohash.encode_score(0, 86) is None
    assert geohash.estimate_step(0, 0) == 26
    assert geohash.estimate_step(200_000, 0) == 6
    assert geohash.estimate_step(200_000, 70) == 5
    boxes = geohash.search_boxes(geohash.Shape(15, 37, 1000.0, radius=200))
    assert len(boxes) == 9 and not boxes[0].is_zero()


def test_number_formats():
    assert format_distance(0.0) == b"0.0000"
    assert format_distance(0.00004) == b"0.0000"
    assert format_distance(0.00005) == b"0.0000"  # rounded half to even in the double domain
    assert format_distance(0.00015) == b"0.0001"  # 0.00015 * 10000 is 1.4999999999999998
    assert format_distance(0.00016) == b"0.0002"
    assert format_distance(166274.15156960033) == b"166274.1516"
    assert human_double(13.361389338970184) == b"13.36138933897018433"
    assert human_double(-0.0) == b"0"
    assert human_double(2.0) == b"2"
