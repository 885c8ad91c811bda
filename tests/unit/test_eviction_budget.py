"""maxmemory-eviction-tenacity's time budget per eviction pass (Redis's evictionTimeLimitUs)."""

from __future__ import annotations

import math

import pytest

from ember.server.memory import eviction_budget_ns


@pytest.mark.parametrize(("tenacity", "budget_us"), [(0, 0), (1, 50), (10, 500), (11, 575), (20, 500 * 1.15**10)])
def test_linear_to_ten_then_fifteen_percent_a_step(tenacity, budget_us):
    assert eviction_budget_ns(tenacity) == pytest.approx(budget_us * 1000)


def test_about_two_minutes_at_99_and_no_limit_at_100():
    assert 110 < eviction_budget_ns(99) / 1e9 < 140
    assert eviction_budget_ns(100) == math.inf
