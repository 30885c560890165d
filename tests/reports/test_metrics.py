"""The pure parts: duration buckets, histogram percentiles, rates, the ranking score."""

from __future__ import annotations

from collections import Counter

from app.reports.metrics import BUCKET_BOUNDS, bucket_of, bucket_value, derive, percentile
from app.reports.rankings import competition_ranks, score


def test_buckets_are_inclusive_upper_bounds():
    assert BUCKET_BOUNDS[:3] == (5, 10, 15)
    assert 420 in BUCKET_BOUNDS and 2100 in BUCKET_BOUNDS and BUCKET_BOUNDS[-1] == 42000
    assert bucket_value(bucket_of(0)) == 5
    assert bucket_value(bucket_of(5)) == 5
    assert bucket_value(bucket_of(5.0001)) == 10
    assert bucket_value(bucket_of(61)) == 90
    assert bucket_value(bucket_of(10**7)) == 42000  # the overflow bucket reports the last bound


def test_percentiles_take_the_nearest_rank():
    durations = [1, 7, 8, 30, 400]  # buckets 5, 10, 10, 30, 420
    histogram = Counter(bucket_of(d) for d in durations)
    assert percentile(histogram, 0.5) == 10  # the 3rd smallest of 5
    assert percentile(histogram, 0.9) == 420  # the 5th
    assert percentile(histogram, 0.2) == 5  # the 1st
    assert percentile({}, 0.5) is None


def test_rates_have_their_denominators_and_none_when_empty():
    counts = Counter(reported=10, cancelled=2, suspended=1, closed=5, dispatched=4,
                     responded=3, rated=0)
    m = derive(counts, {})
    assert m["valid"] == 8
    assert m["resolution_rate"] == round(5 / 7, 4)  # (应结案 − 缓办) = 8 − 1
    assert m["response_rate"] == 0.75
    assert m["satisfaction_rate"] is None and m["claim_minutes_p50"] is None


def test_the_score_scales_up_the_weights_of_the_rates_that_exist():
    rates = {"on_time_response_rate": 1.0, "resolution_rate": 0.5, "satisfaction_rate": None}
    assert score(rates, {"response": 0.1, "resolution": 0.5, "satisfaction": 0.4}) == round(
        (0.1 * 1.0 + 0.5 * 0.5) / 0.6, 4)
    assert score({k: None for k in rates}, {"response": 1, "resolution": 1,
                                            "satisfaction": 1}) is None


def test_equal_scores_share_a_rank():
    assert competition_ranks({"a": 0.9, "b": 0.8, "c": 0.8, "d": 0.7, "e": None}) == {
        "a": 1, "b": 2, "c": 2, "d": 4}
