"""Per-command latency histograms (Redis 7's latency tracking): INFO latencystats and LATENCY
HISTOGRAM.

Redis records every call's duration, in whole microseconds as nanoseconds, in an HDR histogram
that spans 1 ns to 1 s with two significant figures (256 sub-buckets per power of two). Ember
records the same values into a plain dict, which costs a call one dict update instead of a
Python model of the HDR arrays: durations under ~1 ms are kept as measured (at most 1024 keys),
longer ones by the HDR sub-bucket they fall in, so a histogram stays small. HDR's bucketing is
only applied when a report is asked for, and the reports (percentiles and the power-of-two CDF)
are then the ones Redis prints for the same recorded values.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..config import format_percentile

MIN_NS = 1  # a call of 0 µs is recorded as Redis records it: its histogram's floor
MAX_NS = 1_000_000_000  # and anything past a second as a second
# Keys under this are whole µs as measured (so a record is a floor division and a dict update);
# longer calls are keyed by the HDR sub-bucket (ns) they fall in, which starts at 1_024_000 ns.
_EXACT_US_BELOW = 1024
# The highest value the HDR arrays for 1 ns..1 s hold: the power-of-two report's last step
# (2**30 ns) runs off their end and is labelled with it.
_LAST_HIGHEST_NS = (1 << 30) - 1
_FIRST_REPORT_NS = 1024  # the CDF's first step; each next one doubles


def record(histogram: dict[int, int], duration_ns: int, count: int = 1) -> None:
    """Add count calls of duration_ns each, truncated to whole µs as Redis measures them."""
    key = duration_ns // 1000
    if key >= _EXACT_US_BELOW:
        key = _lowest_equivalent(min(key * 1000, MAX_NS))
    histogram[key] = histogram.get(key, 0) + count


def _bucket_shift(value: int) -> int:
    """log2 of the width of the HDR sub-bucket holding value (0 below 256 ns)."""
    return (value | 255).bit_length() - 8


def _lowest_equivalent(value: int) -> int:
    shift = _bucket_shift(value)
    return value >> shift << shift


def _highest_equivalent(value: int) -> int:
    return _lowest_equivalent(value) + (1 << _bucket_shift(value)) - 1


def _buckets(histogram: dict[int, int]) -> list[tuple[int, int]]:
    """(lowest value, count) of each HDR sub-bucket with calls, in value order."""
    merged: dict[int, int] = {}
    for key, count in histogram.items():
        lowest = _lowest_equivalent(key * 1000 or MIN_NS) if key < _EXACT_US_BELOW else key
        merged[lowest] = merged.get(lowest, 0) + count
    return sorted(merged.items())


def value_at_percentile(histogram: dict[int, int], percentile: float) -> int:
    """The value (ns) Redis reports for a percentile: the end of the sub-bucket where the
    calls reach it (its start for percentile 0)."""
    buckets = _buckets(histogram)
    total = sum(count for _, count in buckets)
    wanted = min(int(min(percentile, 100.0) / 100 * total + 0.5), total)
    reached = 0
    for lowest, count in buckets:  # (wanting 0 calls stops at the first, as Redis does)
        reached += count
        if reached >= wanted:
            return lowest if percentile == 0.0 else _highest_equivalent(lowest)
    return 0


def percentiles_text(histogram: dict[int, int], percentiles: Iterable[float]) -> str:
    """INFO latencystats' value: 'p50=1.003,p99=...' in µs with three decimals, each
    percentile printed as Redis prints it ('%f' trimmed)."""
    return ",".join(f"p{format_percentile(p)}={value_at_percentile(histogram, p) / 1000:.3f}" for p in percentiles)


def cumulative_distribution(histogram: dict[int, int]) -> dict[int, int]:
    """LATENCY HISTOGRAM's histogram_usec: calls up to each power-of-two step from 1024 ns,
    keyed by the step's upper end in whole µs, for the steps where the count grows (Redis
    iterates its HDR histogram by powers of two and prints those)."""
    buckets = _buckets(histogram)
    total = sum(count for _, count in buckets)
    steps: dict[int, int] = {}
    reached = index = 0
    level = _FIRST_REPORT_NS
    while reached < total:
        previous = reached
        while index < len(buckets) and buckets[index][0] <= level:
            reached += buckets[index][1]
            index += 1
        if reached > previous:
            steps[min(level + (level >> 7) - 1, _LAST_HIGHEST_NS) // 1000] = reached
        level <<= 1
    return steps
