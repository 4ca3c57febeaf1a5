"""Faults a simulated source can inject, and the arithmetic of holding events back.

:class:`Faults` is the configuration; the simulator (``rtnb.sources.simulate``) applies
it. Every injected row is marked in the batch's ``fault`` column with one of
:data:`FAULT_LABELS` (``""`` for a clean row):

=================  ==============================================================
``late``           delivered ``(ingest cap, max_delay]`` after its event time, so
                   it arrives after newer events (out of order)
``duplicate``      a second delivery of a clean event (same ``event_id``, same
                   values), ``(0, max_delay]`` after the first one
``missing_field``  ``ts`` is NaT, a key is missing (NaN) or a measure is NaN
``wrong_type``     a measure holds a string (``"12.5"``): that batch's column is
                   of ``object`` dtype
``non_finite``     a measure is ``inf``, ``-inf`` or ``NaN``
``bad_timestamp``  ``ts`` is 1 to 3650 days in the future or in the past
``stall``          a clean event held back by a stall, delivered when it ends
``outage``         a clean event held back by an outage, delivered when it ends
=================  ==============================================================

>>> f = Faults(late=0.05, duplicates=0.01, malformed=0.02)
>>> f.rates()["late"], f.rates()["wrong_type"]
(0.05, 0.005)
>>> Faults(late=1.5)
Traceback (most recent call last):
...
rtnb._errors.ParameterError: late=1.5 is invalid: must be a number between 0 and 1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_number, check_probability
from .._errors import ParameterError, UnknownNameError
from .._time import to_duration, to_timestamp

__all__ = ["Faults", "FAULT_LABELS", "MALFORMED_KINDS", "Intervals"]

MALFORMED_KINDS = ("missing_field", "wrong_type", "non_finite", "bad_timestamp")
#: Values of the ``fault`` column, in category order (code 0 is a clean row).
FAULT_LABELS = ("", "late", "duplicate", *MALFORMED_KINDS, "stall", "outage")
CLEAN, LATE, DUPLICATE = 0, 1, 2
MISSING, WRONG_TYPE, NON_FINITE, BAD_TIMESTAMP = 3, 4, 5, 6
STALL, OUTAGE = 7, 8

_FRACTIONS = ("late", "duplicates", "malformed")


def _fraction(name: str, value: Any) -> float:
    return check_probability(name, value)


def _interval_end(value: Any, param: str) -> pd.Timestamp | pd.Timedelta:
    """A timestamp, or a duration; strings are tried as durations first ('10min')."""
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "tzinfo"):
        return to_timestamp(value, param)
    if isinstance(value, str):
        try:
            return to_duration(value, param, allow_zero=True)
        except ParameterError:
            return to_timestamp(value, param)
    return to_duration(value, param, allow_zero=True)


def _intervals(name: str, value: Any) -> tuple[tuple[Any, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, Iterable) or isinstance(value, (str, bytes)):
        raise ParameterError(name, value, "must be a list of (begin, end or length) pairs")
    out = []
    for item in value:
        if isinstance(item, (str, bytes)) or not isinstance(item, Iterable):
            raise ParameterError(name, item, "each interval must be a (begin, end or length) pair")
        pair = tuple(item)
        if len(pair) != 2:
            raise ParameterError(name, item, "each interval must be a (begin, end or length) pair")
        begin = _interval_end(pair[0], name)
        end = _interval_end(pair[1], name)
        if isinstance(end, pd.Timedelta):
            if end <= pd.Timedelta(0):
                raise ParameterError(name, item, "the length of an interval must be positive")
        elif isinstance(begin, pd.Timestamp) and end <= begin:
            raise ParameterError(name, item, "an interval must end after it begins")
        elif isinstance(begin, pd.Timedelta):
            raise ParameterError(
                name, item, "an interval given by an offset needs a length, not an end time"
            )
        if isinstance(begin, pd.Timedelta) and begin < pd.Timedelta(0):
            raise ParameterError(name, item, "an offset from the source's start cannot be negative")
        out.append((begin, end))
    return tuple(out)


@dataclass(frozen=True, kw_only=True)
class Faults:
    """What goes wrong in a simulated stream, and how often.

    Fractions are of the generated events; one event gets at most one of ``late``,
    ``duplicates`` and ``malformed``, so they must add up to at most 1.

    Parameters
    ----------
    late
        Fraction of events delivered late: ``arrival = ts + d`` with ``d`` uniform in
        ``(ingest cap, max_delay]``, so they arrive after newer events.
    duplicates
        Fraction of events delivered twice: the copy (same ``event_id`` and values,
        marked ``"duplicate"``) arrives ``(0, max_delay]`` after the original.
    malformed
        Fraction of malformed rows, split between ``malformed_kinds``.
    malformed_kinds
        Which malformed kinds, as a list of names (equal shares) or a mapping of name
        to weight; any of ``missing_field``, ``wrong_type``, ``non_finite``,
        ``bad_timestamp`` (default: all four, equal shares).
    max_delay
        The longest delay of a late event or of a duplicate (default ``"5min"``).
    stalls
        Intervals during which the source delivers nothing (``read`` returns an empty
        batch); the events held back arrive when the stall ends.
    outages
        Intervals during which ``read`` raises :class:`rtnb.SourceUnavailable` (for a
        read whose whole interval lies inside the outage); events held back arrive
        when it ends, none are lost.

    An interval is ``(begin, end)`` or ``(begin, length)``: ``begin`` a timestamp or an
    offset from the source's ``start`` (``"2h"``, seconds), ``end`` a timestamp, or
    a length (``"5min"``, seconds).

    >>> f = Faults(late=0.02, max_delay="2min", stalls=[("1h", "10min")],
    ...            outages=[("2024-01-01 05:00", "2024-01-01 05:03")])
    >>> f.max_delay
    Timedelta('0 days 00:02:00')
    >>> f.stalls
    ((Timedelta('0 days 01:00:00'), Timedelta('0 days 00:10:00')),)
    >>> Faults(malformed=0.1, malformed_kinds=["wrong_type", "missing_field"]).rates()
    {'late': 0.0, 'duplicate': 0.0, 'missing_field': 0.05, 'wrong_type': 0.05, 'non_finite': 0.0, 'bad_timestamp': 0.0}
    >>> Faults(late=0.7, duplicates=0.5)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: late+duplicates+malformed=1.2 is invalid: the fractions add up to more than 1
    >>> Faults(outages=[("2024-01-01 05:00", "2024-01-01 04:00")])
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: outages=('2024-01-01 05:00', '2024-01-01 04:00') is invalid: an interval must end after it begins
    """

    late: float = 0.0
    duplicates: float = 0.0
    malformed: float = 0.0
    malformed_kinds: Any = MALFORMED_KINDS
    max_delay: Any = "5min"
    stalls: Any = ()
    outages: Any = ()

    def __post_init__(self) -> None:
        put = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 - frozen dataclass
        for name in _FRACTIONS:
            put(name, _fraction(name, getattr(self, name)))
        total = self.late + self.duplicates + self.malformed
        if total > 1.0 + 1e-12:
            raise ParameterError(
                "late+duplicates+malformed", round(total, 12), "the fractions add up to more than 1"
            )
        put("malformed_kinds", self._kinds(self.malformed_kinds))
        put("max_delay", to_duration(self.max_delay, "max_delay"))
        put("stalls", _intervals("stalls", self.stalls))
        put("outages", _intervals("outages", self.outages))

    @staticmethod
    def _kinds(value: Any) -> tuple[tuple[str, float], ...]:
        if isinstance(value, str) or value is None:
            raise ParameterError(
                "malformed_kinds", value, "must be a list of kinds or a mapping of kind to weight",
                MALFORMED_KINDS,
            )
        if isinstance(value, Mapping):
            items = list(value.items())
        else:
            items = [(k, 1.0) for k in value]
        weights = dict.fromkeys(MALFORMED_KINDS, 0.0)
        for kind, w in items:
            if kind not in weights:
                raise UnknownNameError("malformed_kinds", kind, MALFORMED_KINDS)
            weights[kind] += check_number(f"malformed_kinds[{kind!r}]", w, minimum=0)
        total = sum(weights.values())
        if total <= 0:
            raise ParameterError("malformed_kinds", value, "needs at least one kind with a positive weight")
        return tuple((k, w / total) for k, w in weights.items())

    @classmethod
    def coerce(cls, value: Faults | Mapping[str, Any] | None) -> Faults:
        """A :class:`Faults` from ``None`` (no faults), a ``Faults`` or a dict of its fields.

        >>> Faults.coerce({"late": 0.1}).late
        0.1
        >>> Faults.coerce({"lateness": 0.1})
        Traceback (most recent call last):
        ...
        rtnb._errors.UnknownNameError: faults='lateness' is unknown; choose one of: 'late', 'duplicates', 'malformed', 'malformed_kinds', 'max_delay', 'stalls', 'outages'
        """
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            names = [f.name for f in dataclasses.fields(cls)]
            for k in value:
                if k not in names:
                    raise UnknownNameError("faults", k, names)
            return cls(**value)
        raise ParameterError("faults", value, "must be a Faults, a dict of its fields, or None")

    def rates(self) -> dict[str, float]:
        """The expected fraction of events of each row fault kind.

        >>> Faults(duplicates=0.03).rates()["duplicate"]
        0.03
        """
        out = {"late": self.late, "duplicate": self.duplicates}
        out.update({k: self.malformed * share for k, share in self.malformed_kinds})
        return out

    @property
    def any_row_faults(self) -> bool:
        """True when some rows get a fault (late, duplicate or malformed).

        >>> Faults().any_row_faults, Faults(late=0.1).any_row_faults
        (False, True)
        """
        return (self.late + self.duplicates + self.malformed) > 0


class Intervals:
    """Stall and outage intervals resolved to absolute nanoseconds.

    ``hold(arrival)`` moves arrivals that fall inside an interval to its end (merged
    with any interval it touches); ``earliest(t)`` is the smallest natural arrival that
    is delivered at or after ``t``; ``down(start, end)`` says whether a read of
    ``[start, end)`` falls wholly inside an outage.

    >>> iv = Intervals.resolve(Faults(stalls=[(10, 5)], outages=[(30, 10)]),
    ...                        origin=pd.Timestamp("1970-01-01"))
    >>> s = 1_000_000_000
    >>> iv.hold(np.array([9 * s, 12 * s, 31 * s, 45 * s]))[0] // s
    array([ 9, 15, 40, 45])
    >>> iv.earliest(14 * s) // s, iv.earliest(20 * s) // s
    (10, 20)
    >>> iv.down(31 * s, 32 * s) is not None, iv.down(29 * s, 32 * s) is not None
    (True, False)
    """

    def __init__(self, stalls: np.ndarray, outages: np.ndarray) -> None:
        self.stalls = stalls
        self.outages = outages
        both = np.concatenate([stalls, outages]) if len(stalls) or len(outages) else stalls
        self.merged = self._merge(both)
        self.outages_merged = self._merge(outages)
        self.empty = len(self.merged) == 0

    @classmethod
    def resolve(cls, faults: Faults, origin: pd.Timestamp) -> Intervals:
        """Resolve ``faults``' intervals against the source's start ``origin``."""

        def absolute(pairs):
            rows = []
            for begin, end in pairs:
                b = origin + begin if isinstance(begin, pd.Timedelta) else begin
                e = b + end if isinstance(end, pd.Timedelta) else end
                rows.append((b.value, e.value))
            return np.array(rows, dtype=np.int64).reshape(-1, 2)

        return cls(absolute(faults.stalls), absolute(faults.outages))

    @staticmethod
    def _merge(iv: np.ndarray) -> np.ndarray:
        if len(iv) == 0:
            return iv.reshape(0, 2)
        iv = iv[np.argsort(iv[:, 0], kind="stable")]
        out = [list(iv[0])]
        for b, e in iv[1:]:
            if b <= out[-1][1]:
                out[-1][1] = max(out[-1][1], e)
            else:
                out.append([b, e])
        return np.array(out, dtype=np.int64)

    def hold(self, arrival: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Arrivals after holding back, and a label per row (0, STALL or OUTAGE)."""
        label = np.zeros(len(arrival), dtype=np.int8)
        if self.empty or len(arrival) == 0:
            return arrival, label
        m = self.merged
        i = np.searchsorted(m[:, 0], arrival, side="right") - 1
        inside = (i >= 0) & (arrival < m[np.maximum(i, 0), 1])
        if not inside.any():
            return arrival, label
        out = arrival.copy()
        out[inside] = m[i[inside], 1]
        # label by the raw interval the natural arrival fell in (outage wins a tie)
        for kind, iv in ((STALL, self.stalls), (OUTAGE, self.outages)):
            for b, e in iv:
                label[inside & (arrival >= b) & (arrival < e)] = kind
        return out, label

    def earliest(self, t: int) -> int:
        """The smallest natural arrival delivered at or after ``t`` (ns)."""
        m = self.merged
        if self.empty:
            return t
        i = int(np.searchsorted(m[:, 0], t, side="left")) - 1
        if i >= 0 and t <= m[i, 1]:
            return int(m[i, 0])
        return t

    def down(self, start: int, end: int) -> tuple[int, int] | None:
        """The outage ``(begin, end)`` that holds all of ``[start, end)``, or None."""
        o = self.outages_merged
        if len(o) == 0:
            return None
        i = int(np.searchsorted(o[:, 0], start, side="right")) - 1
        if i >= 0 and end <= o[i, 1] and start < o[i, 1]:
            return int(o[i, 0]), int(o[i, 1])
        return None
