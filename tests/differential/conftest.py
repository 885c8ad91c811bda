"""Fixtures for differential tests: one redis-server and one Ember per module, flushed per test."""

from __future__ import annotations

import pytest

from .harness import Differ


@pytest.fixture
def diff(redis_server, ember):
    differ = Differ(redis_server.port, ember.port)
    differ.check("FLUSHALL")
    yield differ
    differ.close()
