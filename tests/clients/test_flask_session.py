"""Flask-Session's Redis backend against Ember: server-side sessions (tests/clients/apps/
flask_app.py) kept as `session:<sid>` keys with the session lifetime as TTL, driven through
Flask's test client.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.clients.conftest import server_url, unexpected_errors
from tests.conftest import wait_until

pytest.importorskip("flask_session")
from tests.clients.apps.flask_app import create_app  # noqa: E402  (after the importorskip guard)

LIFETIME = timedelta(minutes=5)


@pytest.fixture
def browser(ember, r):
    return create_app(server_url(ember), LIFETIME).test_client()


def session_id(response) -> str:
    """The session id from the response's Set-Cookie header."""
    cookie = response.headers["Set-Cookie"]
    return cookie.split(";", 1)[0].split("=", 1)[1]


def test_session_persists_across_requests(browser, r):
    first = browser.post("/cart/apple")
    assert first.json == {"cart": ["apple"]}
    assert browser.post("/cart/pear").json == {"cart": ["apple", "pear"]}
    assert browser.get("/cart").json == {"cart": ["apple", "pear"]}
    key = f"session:{session_id(first)}"
    assert r.keys("session:*") == [key.encode()]
    assert b"pear" in r.get(key)  # the serialized session data
    assert LIFETIME.total_seconds() - 5 <= r.ttl(key) <= LIFETIME.total_seconds()


def test_sessions_are_per_cookie(ember, browser, r):
    browser.post("/cart/apple")
    other = create_app(server_url(ember), LIFETIME).test_client()
    assert other.get("/cart").json == {"cart": []}
    other.post("/cart/plum")
    assert browser.get("/cart").json == {"cart": ["apple"]}
    assert len(r.keys("session:*")) == 2


def test_each_request_refreshes_the_ttl(browser, r):
    key = f"session:{session_id(browser.post('/cart/apple'))}"
    r.expire(key, 30)
    browser.get("/cart")
    assert r.ttl(key) > 30


def test_logout_deletes_the_stored_session(browser, r):
    browser.post("/cart/apple")
    assert len(r.keys("session:*")) == 1
    assert browser.post("/logout").json == {"cart": []}
    assert r.keys("session:*") == []


def test_session_expires_on_the_server(ember, r):
    browser = create_app(server_url(ember), timedelta(seconds=1)).test_client()
    sid = session_id(browser.post("/cart/apple"))
    key = f"session:{sid}"
    assert 0 < r.pttl(key) <= 1000
    # active expiry removes the key without anyone reading it
    wait_until(lambda: r.dbsize() == 0, timeout=5, message="the session key to expire")
    assert r.info("stats")["expired_keys"] >= 1
    # the browser still presenting the old cookie gets an empty session
    browser.set_cookie("session", sid)
    assert browser.get("/cart").json == {"cart": []}


def test_no_command_failed_on_the_server(r):
    assert unexpected_errors(r) == {}
