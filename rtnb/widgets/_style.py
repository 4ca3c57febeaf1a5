"""How the views look alike: one colour per key, readable axes, numbers in SI form.

- :class:`KeyColours` gives each key one colour for the life of a dashboard, and never
  the same colour to two keys shown at once. The line chart and the bars of a
  dashboard share one, so a country has the same colour in both. Keys take their
  first colour in the order a notebook (the Python process) first saw them, so the
  same key gets the same colour in every dashboard of a notebook when it can.
- :func:`value_axis` and :func:`time_axis` are the axes every chart uses: SI ticks
  (``12k``, ``1.2M``, the format of :mod:`._format`), the unit in the label, a bounded number of ticks, and the label
  set off so it never prints over the tick text.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterable, Sequence
from typing import Any

import bqplot as bq

import numpy as np
import pandas as pd

from .._checks import check_str
from ._format import SI_TICKS, nice_ticks, time_ticks

__all__ = ["PALETTE", "KeyColours", "value_axis", "time_axis", "show_time_range", "time_domain_steps", "axis_label",
           "shifted_ticks", "VALUE_LABELS_OUT_PX", "TIME_LABELS_DOWN_PX",
           "colour_number"]

#: Colours of the keys, in order: Okabe–Ito (colour-blind safe) first, then Tableau's.
PALETTE = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
    "#8C564B", "#BCBD22", "#7F7F7F", "#9467BD", "#17BECF",
]

#: At most this many ticks on an axis.
MAX_TICKS = 6

#: Calls in a row (frames) whose values fit a smaller value domain before an axis
#: shrinks to it; a value outside the domain grows it at once.
SHRINK_FRAMES = 8

# Keys in the order this process first coloured them (strings only, bounded): the
# "same palette order across the dashboards of a notebook". It holds no object.
_FIRST_SEEN: dict[str, int] = {}
_FIRST_SEEN_MAX = 4096


def _extra_colour(i: int) -> str:
    """Colour number ``i`` past the palette: hues spread by the golden angle."""
    h = (0.11 + 0.618034 * i) % 1.0
    r, g, b = colorsys.hls_to_rgb(h, 0.42, 0.65)
    return f"#{int(r * 255):02X}{int(g * 255):02X}{int(b * 255):02X}"


def colour_number(i: int) -> str:
    """The ``i``-th colour: the palette's, then generated ones (never repeating).

    >>> colour_number(0), colour_number(len(PALETTE)) not in PALETTE
    ('#0072B2', True)
    """
    return PALETTE[i] if i < len(PALETTE) else _extra_colour(i - len(PALETTE))


def _notebook_rank(key: Any) -> int:
    name = str(key)
    rank = _FIRST_SEEN.get(name)
    if rank is None:
        rank = len(_FIRST_SEEN)
        if rank < _FIRST_SEEN_MAX:
            _FIRST_SEEN[name] = rank
    return rank


class KeyColours:
    """One colour per key for the life of a dashboard; two shown keys never share one.

    :meth:`assign` takes the keys a view shows now (in the order it draws them) and
    returns their colours. A key keeps its colour while it stays shown; one that comes
    back keeps its old colour only if no shown key has taken it meanwhile. A new key
    takes the colour of its rank in the notebook (the order the process first saw
    keys), or the first free one.

    >>> colours = KeyColours(shared=False)
    >>> colours.assign(["FR", "DE"])
    ['#0072B2', '#E69F00']
    >>> colours.assign(["DE", "IT"])         # DE keeps its colour; IT takes a free one
    ['#E69F00', '#0072B2']
    >>> colours.assign(["FR", "IT", "DE"])   # FR's old colour is IT's now: FR gets another
    ['#009E73', '#0072B2', '#E69F00']
    """

    def __init__(self, palette: Sequence[str] | None = None, *, shared: bool = True, memory: int = 256) -> None:
        self.palette = [check_str("palette", c) for c in (palette if palette is not None else PALETTE)]
        self.shared = shared
        self.memory = memory
        self._colour: dict[Any, str] = {}
        self._shown: set[Any] = set()

    def _nth(self, i: int) -> str:
        return self.palette[i] if i < len(self.palette) else _extra_colour(i - len(self.palette))

    def assign(self, keys: Iterable[Any]) -> list[str]:
        """The colours of ``keys`` (the keys shown now), all different."""
        keys = list(keys)
        taken: dict[str, Any] = {}
        out: dict[Any, str] = {}
        # Keys shown last time keep their colours first: nothing on screen changes colour.
        for k in keys:
            c = self._colour.get(k)
            if k in self._shown and c is not None and c not in taken:
                taken[c] = k
                out[k] = c
        for k in keys:
            if k in out:
                continue
            wanted = [self._colour.get(k)]
            if self.shared:
                wanted.append(self._nth(_notebook_rank(k)))
            c = next((w for w in wanted if w is not None and w not in taken), None)
            i = 0
            while c is None:
                cand = self._nth(i)
                c = cand if cand not in taken else None
                i += 1
            taken[c] = k
            out[k] = c
        self._colour.update(out)
        if len(self._colour) > self.memory:  # bounded: forget keys not shown now
            self._colour = {k: out[k] for k in keys}
        self._shown = set(keys)
        return [out[k] for k in keys]

    def colour_of(self, key: Any) -> str | None:
        """The colour ``key`` has (or last had), or None."""
        return self._colour.get(key)

    def __repr__(self) -> str:
        return f"KeyColours({len(self._colour)} keys)"


def axis_label(name: str, unit: str = "") -> str:
    """An axis label with its unit: ``sum (EUR)``.

    >>> axis_label("sum", "EUR"), axis_label("count")
    ('sum (EUR)', 'count')
    """
    return f"{name} ({unit})" if unit else name


#: The length of the tick bqplot draws at each end of an axis line (d3's outer tick,
#: fixed at 6 px). The labels of the ticks at the ends sit at those ends, and 3 px from
#: the line (d3's padding) the end ticks ran through them ("12:0|0:00" under the first
#: point, the top value's "k"): the labels are moved out past them.
END_TICK_PX = 6
#: How far the time labels move down, and the value labels out (left or right), so they
#: clear the end ticks: the padding plus this is more than :data:`END_TICK_PX`.
TIME_LABELS_DOWN_PX = 5
VALUE_LABELS_OUT_PX = 4


def shifted_ticks(dx: int, dy: int) -> dict[str, str]:
    """A tick-text style moving the labels by (dx, dy) px (a CSS transform: bqplot sets
    the text's own ``transform`` attribute to its rotation, 0 here, which CSS overrides)."""
    return {"transform": f"translate({dx}px, {dy}px)"}


def value_axis(scale: bq.Scale, label: str, *, side: str = "left") -> bq.Axis:
    """A value axis: SI ticks, their labels clear of the end ticks and the axis label
    clear of them; :func:`show_value_range` puts at most :data:`MAX_TICKS` round ticks on it."""
    out = -VALUE_LABELS_OUT_PX if side == "left" else VALUE_LABELS_OUT_PX
    return bq.Axis(
        scale=scale, side=side, label=label, tick_format=SI_TICKS,
        label_offset="50px", grid_color="#eee", tick_values=np.array([0.0]), tick_style=shifted_ticks(out, 0),
    )


def value_domain(lo: float, hi: float, max_ticks: int = MAX_TICKS) -> tuple[float, float]:
    """A domain from a round tick at or below ``lo`` to one at or above ``hi``
    (:func:`._format.nice_ticks`): both ends of the axis are labelled ticks (a domain
    ending between ticks showed d3's outer tick with no label at the top); it changes
    only when a value crosses a tick, and never crosses zero for values that do not.

    >>> value_domain(3.9, 30.1), value_domain(0.0, 30.1), value_domain(-2.0, 7.0)
    ((0.0, 40.0), (0.0, 40.0), (-2.5, 7.5))
    """
    ticks = nice_ticks(lo, hi, max_ticks)
    return ticks[0], ticks[-1]


def show_value_range(axis: bq.Axis, values: np.ndarray, *, floor: float | None = None) -> None:
    """Fix the axis's scale to :func:`value_domain` of the finite ``values`` and put its
    round ticks (at most :data:`MAX_TICKS`, one at each end) on it, each sent only when
    it changes. (Left to itself, bqplot's scale takes its domain from the data: it
    changed on every frame and the page redrew the axis each time. Its ``num_ticks``
    splits the domain evenly: 3.87, 10.4, 17...) The domain is sticky: it grows as soon
    as a value leaves it, and shrinks only once the values have fitted a smaller domain
    for :data:`SHRINK_FRAMES` calls in a row, or fit one of half its span or less.

    >>> import bqplot as bq
    >>> axis = value_axis(bq.LinearScale(), "sum")
    >>> show_value_range(axis, np.array([3.9, 30.1, np.nan])); axis.tick_values.tolist()
    [0.0, 10.0, 20.0, 30.0, 40.0]
    >>> axis.scale.min, axis.scale.max
    (0.0, 40.0)
    """
    finite = values[np.isfinite(values)] if values.size else values
    if not finite.size:
        return
    lo, hi = float(finite.min()), float(finite.max())
    if floor is not None:
        lo = min(lo, floor)
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
        if not math.isfinite(hi):  # one value past half float64's max: from zero to it
            lo, hi = 0.0, lo
    ticks = np.array(nice_ticks(lo, hi, MAX_TICKS), dtype=np.float64)
    dlo, dhi = float(ticks[0]), float(ticks[-1])
    scale = axis.scale
    # Sticky: a maximum that hovers around a tick (99, 101, 99...) relabelled the axis
    # on every frame (0-100, 0-125, 0-100...). The domain grows at once when a value
    # leaves it, and shrinks only after SHRINK_FRAMES calls in a row whose values fit a
    # smaller one, or at once to half its span or less (the data fell well inside).
    shown, old = (scale.min, scale.max), axis.tick_values
    if ((dlo, dhi) != shown and None not in shown and old is not None and len(old) >= 2
            and (float(old[0]), float(old[-1])) == shown and _inside(lo, hi, *shown)
            and dhi - dlo > (shown[1] - shown[0]) / 2):
        waited = getattr(axis, "_rtnb_shrink_wait", 0) + 1
        if waited < SHRINK_FRAMES:
            axis._rtnb_shrink_wait = waited
            return
    axis._rtnb_shrink_wait = 0
    if (scale.min, scale.max) != (dlo, dhi):
        with scale.hold_sync():  # min and max in one message
            scale.min, scale.max = dlo, dhi
    if old is None or not np.array_equal(old, ticks):
        axis.tick_values = ticks


def _inside(lo: float, hi: float, dlo: float, dhi: float) -> bool:
    """Whether values from ``lo`` to ``hi`` fit the domain ``(dlo, dhi)`` as
    :func:`._format.nice_ticks` would draw them: off its ends, except at zero."""
    return (dlo < lo or lo == dlo == 0) and (hi < dhi or hi == dhi == 0)


def time_axis(scale: bq.Scale, label: str = "event time") -> bq.Axis:
    """A time axis with its label under the ticks; :func:`show_time_range` puts at most
    :data:`MAX_TICKS` round times on it, in 24 h. (bqplot's own date ticks are d3's ten
    per axis: a 20 s span got 20 one-second ticks, and ":01" after "12:00".) The tick
    labels sit below the end ticks (:data:`END_TICK_PX`), the axis label below them."""
    return bq.Axis(scale=scale, label=label, label_offset="36px", grid_color="#eee", tick_format="%H:%M:%S",
                   tick_style=shifted_ticks(0, TIME_LABELS_DOWN_PX))


def show_time_range(axis: bq.Axis, lo: Any, hi: Any) -> None:
    """Round time ticks (at most :data:`MAX_TICKS`, :func:`._format.time_ticks`) from
    ``lo`` to ``hi`` and their 24 h format, in one message sent only when they change
    (every few seconds of a live axis, not every frame). Tick positions only: the lines
    are not redrawn. (Looks' edit of frames' file: the time axis' tick count.)

    >>> import bqplot as bq, pandas as pd
    >>> axis = time_axis(bq.DateScale())
    >>> show_time_range(axis, pd.Timestamp("2024-01-01 12:00:03"), pd.Timestamp("2024-01-01 12:00:24"))
    >>> len(axis.tick_values), axis.tick_format
    (4, '%H:%M:%S')
    """
    ticks, fmt = time_ticks(lo, hi, MAX_TICKS)
    if not len(ticks):
        return
    old = axis.tick_values
    if (old is not None and axis.tick_format == fmt and len(old) == len(ticks)
            and np.array_equal(np.asarray(old).astype("datetime64[ns]"), ticks)):
        return
    with axis.hold_sync():
        axis.tick_values = ticks
        axis.tick_format = fmt


#: A live time axis's ends move in steps of this part of its tick step (see
#: :func:`time_domain_steps`): the page redraws the axis (three d3 axis renders, its
#: grid and every mark on its scale) when a step is crossed, not on every frame.
TIME_STEPS_PER_TICK = 4


def _time_quantum_ns(lo_ns: int, hi_ns: int) -> int:
    """A quarter of the tick step :func:`._format.time_ticks` puts on ``lo``..``hi`` (ns,
    whole milliseconds, at least 1 ms)."""
    hi_ns = max(hi_ns, lo_ns + 10**9)  # one point (or none yet): a 1 s axis
    ticks, _ = time_ticks(pd.Timestamp(lo_ns), pd.Timestamp(hi_ns), MAX_TICKS)
    step = int(ticks[1].astype(np.int64) - ticks[0].astype(np.int64)) if len(ticks) > 1 else hi_ns - lo_ns
    return max(10**6, step // TIME_STEPS_PER_TICK // 10**6 * 10**6)


def time_domain_steps(first: Any, now: Any, current: tuple[Any, Any] | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The span of a time axis that follows now, in steps: from the step (a quarter of
    the tick step) holding the ``first`` point to the end of the step holding ``now``.
    The ``current`` span is kept while ``now`` is inside it and no point is left of it,
    so it changes once per step, not on every frame; a stall still shows as a gap
    (the line stops, the axis moves on past it) and the axis ends at most one step
    (a quarter tick) after now.

    >>> t = pd.Timestamp("2024-01-01 12:00:00")
    >>> time_domain_steps(t + pd.Timedelta("3.2s"), t + pd.Timedelta("21.3s"))  # 5 s ticks: 1.25 s steps
    (Timestamp('2024-01-01 12:00:02.500000'), Timestamp('2024-01-01 12:00:22.500000'))
    >>> span = _
    >>> time_domain_steps(t + pd.Timedelta("3.4s"), t + pd.Timedelta("22.4s"), span) == span  # same step
    True
    >>> time_domain_steps(t + pd.Timedelta("3.4s"), t + pd.Timedelta("22.6s"), span)[1]     # now crossed it
    Timestamp('2024-01-01 12:00:23.750000')
    """
    a, b = pd.Timestamp(first).value, pd.Timestamp(now).value
    b = max(a, b)
    if current is not None and current[0] is not None and current[1] is not None:
        lo0, hi0 = pd.Timestamp(current[0]).value, pd.Timestamp(current[1]).value
        q0 = _time_quantum_ns(lo0, hi0)
        if lo0 <= a and b <= hi0 and hi0 - b < 2 * q0 and a - lo0 < 2 * q0:
            return pd.Timestamp(lo0), pd.Timestamp(hi0)
    q = _time_quantum_ns(a, b)
    lo, hi = a // q * q, -(-b // q) * q
    if hi <= lo:
        hi = lo + q
    return pd.Timestamp(lo), pd.Timestamp(hi)


#: Figure margins that leave room for SI ticks and the axis labels outside them.
MARGINS = {"top": 40, "bottom": 48, "left": 72, "right": 30}  # right: room for half the last tick ("12:10")
