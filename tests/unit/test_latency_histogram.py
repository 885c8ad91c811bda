"""Unit tests of the per-command latency histograms (server/latency_histogram.py).

Two oracles: figures read off Debian's redis-server 7.0 for known durations (a SET of 8 µs, an
INFO of ~100 µs, DEBUG SLEEP 1.2/0.6/0.003), and a model of the HDR histogram Redis uses, kept
here as arrays indexed the way the HDR algorithm indexes them (1 ns..1 s, two significant
figures), which the dict-based implementation must agree with for any recorded durations.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from ember.server.latency_histogram import (
    cumulative_distribution,
    percentiles_text,
    record,
    value_at_percentile,
)

# -- the HDR model: counts in arrays, as hdr_histogram lays them out --------------------------

SUB_BUCKET_COUNT = 256  # 2 * 10**2 rounded up to a power of two
HALF = SUB_BUCKET_COUNT // 2
BUCKETS = 23  # enough doublings of 256 to pass 10**9
COUNTS_LEN = (BUCKETS + 1) * HALF


def _bucket_index(value: int) -> int:
    return (value | (SUB_BUCKET_COUNT - 1)).bit_length() - 8


def _counts_index(value: int) -> int:
    bucket = _bucket_index(value)
    return ((bucket + 1) << 7) + (value >> bucket) - HALF


def _value_at_index(index: int) -> int:
    bucket, sub = (index >> 7) - 1, (index & (HALF - 1)) + HALF
    if bucket < 0:
        bucket, sub = 0, sub - HALF
    return sub << bucket


def _range_end(value: int) -> int:
    """The highest value counted with value (its sub-bucket's last)."""
    bucket = _bucket_index(value)
    return (value >> bucket << bucket) + (1 << bucket) - 1


class HdrModel:
    def __init__(self, durations_ns: list[int]) -> None:
        self.counts = [0] * COUNTS_LEN
        for duration in durations_ns:
            value = min(max(duration // 1000 * 1000, 1), 10**9)
            self.counts[_counts_index(value)] += 1
        self.total = len(durations_ns)

    def percentile(self, percentile: float) -> int:
        wanted = min(max(int(min(percentile, 100.0) / 100 * self.total + 0.5), 1), self.total)
        reached = 0
        for index, count in enumerate(self.counts):
            reached += count
            if reached >= wanted:
                value = _value_at_index(index)
                return value >> _bucket_index(value) << _bucket_index(value) if percentile == 0.0 else _range_end(value)
        raise AssertionError("unreachable")

    def log_steps(self) -> dict[int, int]:
        """Walk the indexes; at each power-of-two level from 1024 ns, report the cumulative
        count up to the first index at or past the level (the last level runs off the end)."""
        steps, reached, index, level = {}, 0, -1, 1024
        while reached < self.total:
            previous = reached
            end = None
            while index + 1 < COUNTS_LEN:
                index += 1
                reached += self.counts[index]
                if _value_at_index(index) >= level:
                    end = _range_end(_value_at_index(index))
                    break
            else:
                end = _range_end(_value_at_index(COUNTS_LEN - 1))
            if reached > previous:
                steps[end // 1000] = reached
            level *= 2
        return steps


def _histogram(durations_ns: list[int]) -> dict[int, int]:
    histogram: dict[int, int] = {}
    for duration in durations_ns:
        record(histogram, duration)
    return histogram


# -- what Redis printed -----------------------------------------------------------------------

def test_a_single_call_as_redis_reports_it():
    # SET took 8 µs on redis-server: p50=8.031, p0=8.000, LATENCY HISTOGRAM {8: 1}
    histogram = _histogram([8_400])
    assert percentiles_text(histogram, (50.0, 0.0, 100.0, 12.5)) == \
        "p50=8.031,p0=8.000,p100=8.031,p12.5=8.031"
    assert cumulative_distribution(histogram) == {8: 1}
    # INFO of 100 µs: p50=100.351; CONFIG SET of 29 µs and GET of 13 µs: steps 33 and 16
    assert value_at_percentile(_histogram([100_000]), 50.0) == 100_351
    assert cumulative_distribution(_histogram([29_000])) == {33: 1}
    assert cumulative_distribution(_histogram([13_999])) == {16: 1}
    # 33 µs lies in the sub-bucket that starts the 32768 ns step, so that step counts it
    assert cumulative_distribution(_histogram([33_000, 66_000])) == {33: 1, 66: 2}


def test_calls_of_a_second_and_longer_end_in_the_last_step():
    # DEBUG SLEEP 1.2, 0.6 and 0.003 on redis-server gave exactly these
    histogram = _histogram([1_200_150_000, 600_400_000, 3_100_000])
    assert cumulative_distribution(histogram) == {4227: 1, 1073741: 3}
    assert percentiles_text(histogram, (50.0, 99.0, 99.9)) == \
        "p50=603979.775,p99=1002438.655,p99.9=1002438.655"


def test_sub_microsecond_calls_are_recorded_as_one_nanosecond():
    histogram = _histogram([0, 999, 1_500])
    assert histogram == {0: 2, 1: 1}  # (whole µs)
    assert [value_at_percentile(histogram, p) for p in (0.0, 50.0, 100.0)] == [1, 1, 1003]
    assert cumulative_distribution(histogram) == {1: 3}


def test_no_percentiles_configured_gives_an_empty_value():
    assert percentiles_text(_histogram([5_000]), ()) == ""


def test_a_group_of_calls_is_recorded_at_once():
    histogram: dict[int, int] = {}
    record(histogram, 2_000, 16)
    record(histogram, 2_000)
    assert histogram == {2: 17}
    assert cumulative_distribution(histogram) == {2: 17}


def test_long_calls_share_hdr_buckets_so_a_histogram_stays_small():
    histogram = _histogram([us * 1000 for us in range(0, 2_000_000, 7)])  # 285,715 different durations
    # under ~1 ms each µs its own key (1024 at most), past it the HDR sub-buckets (far fewer
    # than the model's arrays)
    assert len([key for key in histogram if key < 1024]) == 1024 // 7 + 1
    assert len(histogram) < 1024 + COUNTS_LEN // 2


# -- against the HDR model --------------------------------------------------------------------

durations = st.lists(
    st.one_of(st.integers(0, 3_000_000), st.integers(0, 300).map(lambda us: us * 1000),
              st.integers(0, 3_000_000_000)), min_size=1, max_size=60)
percentiles = st.floats(0.0, 100.0, allow_nan=False)


@given(durations, percentiles)
def test_percentiles_match_the_hdr_model(values, percentile):
    assert value_at_percentile(_histogram(values), percentile) == HdrModel(values).percentile(percentile)


@given(durations)
@example([33_000, 1_049_000, 2_000_000_000])
def test_power_of_two_distribution_matches_the_hdr_model(values):
    steps = cumulative_distribution(_histogram(values))
    assert steps == HdrModel(values).log_steps()
    assert list(steps.values()) == sorted(set(steps.values())) and steps[max(steps)] == len(values)
