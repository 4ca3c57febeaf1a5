"""Numbers, durations and money as people read them, and axis ticks that do not collide.

One place for every view's formatting, so a dashboard and the tiers lab say "12k",
"48 min" and "$1,200–4,800" alike:

- :data:`SI_TICKS` — the d3 format bqplot axes use for SI ticks ("12k", "1.2M");
- :func:`si` — the same in Python, for text (badges, tables);
- :func:`duration` — an age or a span in words ("48 min", "1.5 s", "120 ms");
- :func:`money` — an amount or a low–high range in dollars, on one line;
- :func:`log_ticks` and :func:`linear_ticks` — a bounded number of round tick values
  for a data range, for bqplot's ``Axis.tick_values``; :func:`nice_ticks` — the same
  reaching past both ends of the data, for an axis whose ends are labelled ticks;
- :func:`time_ticks` — the same for a time axis, with a 24 h format that fits the step;
- :func:`clock_time` — a clock's reading at a glance ("09:00:03 UTC, Mon 01 Jan");
- :func:`tick_labels` — tick values labelled in words ("100 µs", "10,000"), for bqplot's
  ``Axis.tick_labels`` (d3's formats cannot say "ms").

Pure Python (numpy and pandas only): the tiers lab and tests use it without a browser.

>>> si(120_000), duration(2878.64), money((200, 800))
('120k', '48 min', '$200–800')
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from .._time import clock_time  # (there: the checkpoint's messages say times the same way, without widgets)

__all__ = ["SI_TICKS", "AXIS_NUMBER", "si", "duration", "money", "log_ticks", "linear_ticks", "nice_ticks",
           "time_ticks", "tick_labels", "clock_time", "NOWRAP"]

#: d3-format for SI-prefixed ticks with trailing zeros trimmed: 12000 → "12k".
SI_TICKS = "~s"
#: d3-format for plain numbers with thousands separators, trailing zeros trimmed.
AXIS_NUMBER = ",~g"
#: CSS that keeps a short text (a badge, a cost) on one line.
NOWRAP = "white-space:nowrap"

_PREFIXES = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]


def si(value: float | None, digits: int = 3) -> str:
    """``value`` with an SI prefix and ``digits`` significant digits, zeros trimmed.

    >>> [si(v) for v in (0, 7, 999, 1_000, 12_345, 1_234_567, -2_500, 0.25)]
    ['0', '7', '999', '1k', '12.3k', '1.23M', '-2.5k', '0.25']
    >>> si(None), si(float("nan"))
    ('–', '–')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = float(value)
    for scale, prefix in _PREFIXES:
        # the prefix is chosen on the rounded value, so 999_999 is '1M', not '1e+03k'
        if abs(float(f"{v:.{digits}g}")) >= scale:
            return f"{_trim(v / scale, digits)}{prefix}"
    return _trim(v, digits)


def _trim(v: float, digits: int) -> str:
    text = f"{v:.{digits}g}"
    if "e" in text:  # small numbers: fixed notation, never '1e-03'
        text = f"{v:.{max(digits, 1) + 2}f}".rstrip("0").rstrip(".")
    return text


def duration(value: float | pd.Timedelta | None, digits: int = 2) -> str:
    """A span in words: seconds (a number) or a Timedelta, in the largest unit that
    keeps the number at least 1 (``digits`` significant digits, whole below 100).

    >>> [duration(s) for s in (0.0004, 0.12, 1.5, 42, 2878.64, 5400, 86400 * 7)]
    ['400 µs', '120 ms', '1.5 s', '42 s', '48 min', '1.5 h', '7 d']
    >>> duration(pd.Timedelta("1min")), duration(None), duration(float("inf"))
    ('1 min', '–', 'never')
    """
    if value is None:
        return "–"
    s = value.total_seconds() if isinstance(value, pd.Timedelta) else float(value)
    if math.isnan(s):
        return "–"
    if math.isinf(s):
        return "never"
    if s == 0:
        return "0 s"
    for unit, n in (("d", 86_400.0), ("h", 3_600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        text = _round(s / n, digits)  # the unit is chosen on the rounded value: never '60 s'
        if abs(float(text.replace(",", ""))) >= 1:
            return f"{text} {unit}"
    return f"{_round(s / 1e-9, digits)} ns"


def _round(x: float, digits: int) -> str:
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    text = f"{x:.{digits}g}"
    return f"{float(text):,.0f}" if "e" in text else text


def money(value: Any, digits: int | None = None) -> str:
    """Dollars on one line: a number, or a range (anything with ``low`` and ``high``,
    or a pair) as "low–high"; whole dollars from 100 up, cents below.

    >>> money(8000), money(0.0123), money((11_000, 14_000)), money((5, 5))
    ('$8,000', '$0.01', '$11,000–14,000', '$5.00')
    >>> money(None), money(float("nan")), money(0)   # nothing is "$0", not "$0.00"
    ('–', '–', '$0')
    """
    if value is None:
        return "–"
    if hasattr(value, "low") and hasattr(value, "high"):
        lo, hi = float(value.low), float(value.high)
    elif isinstance(value, (tuple, list)):
        lo, hi = (float(v) for v in value)
    else:
        lo = hi = float(value)
    if math.isnan(lo) or math.isnan(hi):
        return "–"
    d = digits if digits is not None else (0 if max(abs(lo), abs(hi)) >= 100 or lo == hi == 0 else 2)
    a, b = f"{lo:,.{d}f}", f"{hi:,.{d}f}"
    return f"${a}" if a == b else f"${a}–{b}"


def log_ticks(values: Iterable[float], max_ticks: int = 6) -> list[float]:
    """Powers of ten covering the positive ``values``, at most ``max_ticks`` of them
    (every second, third... decade when the data spans many).

    >>> log_ticks([0.05, 3000], max_ticks=8)
    [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0]
    >>> log_ticks([0.05, 3000])
    [0.01, 1.0, 100.0, 10000.0]
    >>> log_ticks([])
    [1.0, 10.0]
    """
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return [1.0, 10.0]
    lo, hi = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
    hi = max(hi, lo + 1)
    step = math.ceil((hi - lo + 1) / max(max_ticks, 2))
    return [float(10.0 ** e) for e in range(lo, hi + step, step)]


def linear_ticks(lo: float, hi: float, max_ticks: int = 6) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 x a power of ten apart) from ``lo`` to ``hi``, at
    most ``max_ticks``.

    >>> linear_ticks(0, 120_000, max_ticks=7)
    [0.0, 20000.0, 40000.0, 60000.0, 80000.0, 100000.0, 120000.0]
    >>> linear_ticks(0, 120_000)
    [0.0, 25000.0, 50000.0, 75000.0, 100000.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [float(lo)] if math.isfinite(lo) else [0.0]
    span = (hi - lo) / max(max_ticks - 1, 1)
    if not math.isfinite(span) or span < sys.float_info.min:  # past float64's range, or subnormal
        return [float(lo), float(hi)]  # no round grid there: the ends
    mag = 10.0 ** math.floor(math.log10(span))
    for step in (m * mag for m in (1, 2, 2.5, 5, 10, 20)):  # the finest that fits max_ticks
        first = math.ceil(lo / step - 1e-9) * step
        n = int(math.floor((hi - first) / step + 1e-9)) + 1
        if n <= max_ticks:
            break
    if n < 2:  # a narrow range between two round values: its ends
        return [float(lo), float(hi)]
    ticks = [float(round(first + i * step, 12)) for i in range(n)]
    ok = ticks[0] >= lo - step and ticks[-1] <= hi + step  # round()'s 12 digits kept the values
    return ticks if ok else [float(lo), float(hi)]


def nice_ticks(lo: float, hi: float, max_ticks: int = 6) -> list[float]:
    """Round ticks from one at or below ``lo`` to one at or above ``hi`` (at most
    ``max_ticks``, 1, 2, 2.5 or 5 x a power of ten apart; a value on a tick gets the
    next one, but zero stays the end): an axis whose domain is
    ``(ticks[0], ticks[-1])`` has a labelled tick at both ends. (d3 draws a short outer
    tick at each end of an axis's domain: a domain ending between round ticks showed
    a tick without a label above the top label.)

    >>> nice_ticks(3.9, 30.1)
    [0.0, 10.0, 20.0, 30.0, 40.0]
    >>> nice_ticks(0, 8.1), nice_ticks(-7.9, 0)
    ([0.0, 2.0, 4.0, 6.0, 8.0, 10.0], [-8.0, -6.0, -4.0, -2.0, 0.0])
    >>> nice_ticks(3870, 120_000), nice_ticks(-1.0, 2.0)
    ([0.0, 25000.0, 50000.0, 75000.0, 100000.0, 125000.0], [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    max_ticks = max(int(max_ticks), 2)
    span = (hi - lo) / (max_ticks - 1)
    if not math.isfinite(span) or span < sys.float_info.min:  # past float64's range, or subnormal
        return [float(lo), float(hi)]  # no round grid there: the ends
    mag = 10.0 ** math.floor(math.log10(span))
    for step in (m * mag for m in (1, 2, 2.5, 5, 10, 20, 25, 50, 100)):  # the finest that fits
        first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
        # Past the data, not on it (a line on the frame's edge is cut in half), except
        # at zero: values from zero up start at zero.
        first -= lo != 0 and abs(lo - first * step) <= 1e-9 * step
        last += hi != 0 and abs(hi - last * step) <= 1e-9 * step
        if last == first:
            last += 1
        if last - first + 1 <= max_ticks:
            break
    ticks = [float(round(i * step, 12)) + 0.0 for i in range(first, last + 1)]
    ok = math.isfinite(ticks[0]) and math.isfinite(ticks[-1]) and ticks[0] <= lo and ticks[-1] >= hi
    return ticks if ok else [float(lo), float(hi)]  # past float64's range, or below round()'s 12 digits


#: Round steps of a time axis, in seconds: sub-second to two weeks (longer: calendar months).
_TIME_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800,
               21_600, 43_200, 86_400, 172_800, 604_800, 1_209_600)
#: Steps in calendar months past that (ticks on the first of a month).
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200)


def _time_format(step_s: float, lo: pd.Timestamp, hi: pd.Timestamp) -> str:
    """A d3 (UTC) time format, 24 h, as precise as the step and no more."""
    if step_s < 1:
        return "%H:%M:%S.%L"
    if step_s < 60:
        return "%H:%M:%S"
    if step_s < 86_400:
        return "%H:%M" if lo.normalize() == hi.normalize() else "%d %b %H:%M"
    return "%d %b"


def _month_ticks(a: pd.Timestamp, b: pd.Timestamp, max_ticks: int) -> tuple[np.ndarray, str]:
    starts = pd.date_range(a.normalize().replace(day=1), b, freq="MS")
    starts = starts[starts >= a]
    months = starts.year * 12 + starts.month - 1
    for m in _MONTH_STEPS:
        ticks = starts[months % m == 0]
        if len(ticks) <= max_ticks:
            break
    return ticks.as_unit("ns").to_numpy(), ("%b %Y" if m < 12 else "%Y")


def time_ticks(lo: Any, hi: Any, max_ticks: int = 6) -> tuple[np.ndarray, str]:
    """Round times (whole seconds, 5 s, 1 min, 1 h, days, months...) from ``lo`` to
    ``hi``, at most ``max_ticks`` of them (4 when a label carries day and time), and the
    d3 time format (24 h, UTC) that reads them: every label in full ("12:00:05", never
    d3's ":05" after "12:00"), with the date only when the axis spans days.

    >>> t, fmt = time_ticks("2024-01-01 12:00:03", "2024-01-01 12:00:21")   # 18 s
    >>> [str(x)[11:19] for x in t], fmt
    (['12:00:05', '12:00:10', '12:00:15', '12:00:20'], '%H:%M:%S')
    >>> t, fmt = time_ticks("2024-01-01 09:00", "2024-01-03 09:00")          # 2 days
    >>> [str(x)[:16] for x in t], fmt
    (['2024-01-01T12:00', '2024-01-02T00:00', '2024-01-02T12:00', '2024-01-03T00:00'], '%d %b %H:%M')
    >>> t, fmt = time_ticks("2024-01-10", "2024-12-20")                       # a year
    >>> [str(x)[5:10] for x in t], fmt
    (['03-01', '05-01', '07-01', '09-01', '11-01'], '%b %Y')
    """
    a, b = pd.Timestamp(lo), pd.Timestamp(hi)
    if pd.isna(a) or pd.isna(b) or b <= a:
        return np.array([], dtype="datetime64[ns]"), "%H:%M:%S"
    a_ns, b_ns = a.value, b.value
    for step_s in _TIME_STEPS:
        fmt = _time_format(step_s, a, b)
        most = min(max_ticks, 4) if "%H" in fmt and "%d" in fmt else max_ticks
        step = int(round(step_s * 1e9))
        first = -(-a_ns // step) * step
        n = (b_ns - first) // step + 1 if b_ns >= first else 0
        if n <= most:
            if step_s < 1 and (b_ns // 10**9) - (-(-a_ns // 10**9)) >= 1:
                continue  # whole seconds give two ticks or more: shorter labels than "12:00:03.500"
            ticks = (first + step * np.arange(int(n), dtype=np.int64)).astype("datetime64[ns]")
            return ticks, fmt
    return _month_ticks(a, b, max_ticks)


def tick_labels(values: Iterable[float], words: Callable[[float], str] = duration) -> dict[str, str]:
    """``{value: words(value)}`` for bqplot's ``Axis.tick_labels``, beside ``tick_values=values``:
    an axis of seconds labelled "100 µs", "1 ms", "10 ms" instead of d3's "0.0001".

    bqplot looks each tick's label up by the number as the browser writes it (JavaScript's
    ``String(0.00001)`` is "0.00001", Python's ``str`` says "1e-05"), so the keys are written
    that way; a tick with no key keeps the axis's ``tick_format``.

    >>> tick_labels([1e-7, 1e-5, 0.001, 1.0, 10_000_000.0])
    {'1e-7': '100 ns', '0.00001': '10 µs', '0.001': '1 ms', '1': '1 s', '10000000': '116 d'}
    >>> tick_labels([1_000, 100_000], "{:,.0f}".format)
    {'1000': '1,000', '100000': '100,000'}
    """
    return {_js_number(float(v)): words(v) for v in values}


def _js_number(v: float) -> str:
    """``v`` as JavaScript's ``String(v)`` writes it (shortest round trip, like Python's
    ``repr``; fixed notation from 1e-6 up to 1e21, an exponent without zero padding outside)."""
    if not math.isfinite(v):
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(v, "NaN")
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    text = repr(v)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    e = int(exponent)
    if -7 < e < 21:
        return f"{Decimal(text):f}"
    return f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"
