"""The shared formatting of rtnb.widgets._format: bounded, readable ticks and words."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from rtnb.widgets._format import duration, linear_ticks, log_ticks, money, si


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
