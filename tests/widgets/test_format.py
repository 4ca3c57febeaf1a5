"""The shared formatting of rtnb.widgets._format: bounded, readable ticks and words."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from rtnb.widgets._format import duration, linear_ticks, log_ticks, money, si, tick_labels


@given(st.floats(0, 1e9), st.floats(1e-3, 1e9), st.integers(3, 10))
def test_linear_ticks_are_bounded_round_and_inside(lo, span, n):
    hi = lo + span
    ticks = linear_ticks(lo, hi, max_ticks=n)
    assert 2 <= len(ticks) <= n
    assert all(lo - 1e-6 * span <= t <= hi + 1e-6 * span for t in ticks)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) - min(gaps) <= 1e-9 * max(abs(hi), 1)  # evenly spaced


@given(st.floats(1e-6, 1e6), st.floats(1.0, 1e6), st.integers(2, 8))
def test_log_ticks_cover_the_data_with_at_most_max_ticks(lo, factor, n):
    ticks = log_ticks([lo, lo * factor], max_ticks=n)
    assert len(ticks) <= n + 1  # the last decade is always reached
    assert ticks[0] <= lo * (1 + 1e-9) and ticks[-1] >= lo * factor * (1 - 1e-9)
    assert all(math.isclose(math.log10(t), round(math.log10(t)), abs_tol=1e-9) for t in ticks)


def test_si_never_prints_scientific_notation_or_long_digits():
    for v in (0.001, 0.5, 3, 950, 999_999, 12_345_678, 7.2e11):
        text = si(v)
        assert "e" not in text and len(text) <= 6, text
    assert si(999_999) == "1M" and si(1_440) == "1.44k" and si(86_156) == "86.2k"


def test_durations_read_in_the_largest_unit():
    assert duration(2878.64) == "48 min"
    assert duration(0.00002) == "20 µs"
    assert duration(59.9) == "1 min"
    assert duration(float("nan")) == "–" and duration(float("inf")) == "never"


def test_money_is_one_line_with_an_en_dash():
    assert money((0.01, 0.02)) == "$0.01–0.02"
    assert " " not in money((11_000, 14_000))


def test_tick_labels_are_keyed_as_the_browser_writes_the_tick_values():
    # bqplot looks a tick's label up by String(value) in JavaScript: these are its answers
    js = {1e-9: "1e-9", 1e-7: "1e-7", 1.5e-7: "1.5e-7", 1e-6: "0.000001", 1e-5: "0.00001", 2.5e-5: "0.000025",
          1e-4: "0.0001", 0.1: "0.1", 1.0: "1", 10.0: "10", 1e6: "1000000", 1e20: "100000000000000000000",
          1e21: "1e+21", -0.001: "-0.001", 12.5: "12.5"}
    assert list(tick_labels(js, str)) == list(js.values())
    labels = tick_labels([10.0 ** e for e in range(-7, 1)])
    assert list(labels.values()) == ["100 ns", "1 µs", "10 µs", "100 µs", "1 ms", "10 ms", "100 ms", "1 s"]


def test_an_axis_sends_its_tick_labels_beside_its_tick_values():
    import bqplot as bq

    ticks = log_ticks([2e-7, 0.3], max_ticks=9)
    axis = bq.Axis(scale=bq.LogScale(), tick_values=ticks, tick_labels=tick_labels(ticks))
    state = axis.get_state()
    assert set(state["tick_labels"]) == {tick_labels([t], str).popitem()[0] for t in ticks}
    assert state["tick_labels"]["0.001"] == "1 ms" and state["tick_labels"]["1e-7"] == "100 ns"
