"""Declared schemas: split every batch into accepted rows and rejected rows with reasons.

A :class:`Schema` is a tuple of :class:`Field` rules (name, dtype, value rules, a
plausible event-time range). :meth:`Schema.validate` never raises on data: whatever
comes in (a DataFrame with missing, extra or mixed-type columns, an empty frame, or
something that is not a DataFrame at all) is split into

- ``accepted`` — the rows that pass every rule, with columns converted to the declared
  dtypes (``time`` → ``datetime64[ns]``, ``float`` → ``float64``, ``int`` → ``int64``);
- ``rejected`` — the other rows, *as they came in*, plus two columns: ``reason`` (the
  human reasons, e.g. ``"amount is NaN"``, joined by ``"; "`` when several rules fail)
  and ``rule`` (the same without the offending values, for counting per reason).

So ``len(accepted) + len(rejected)`` is always the number of rows received.

Conventions (documented choices):

- **Extra columns** are kept (``extra="keep"``, the default) or dropped
  (``extra="drop"``).
- **A batch that is not a DataFrame** is rejected whole with the reason
  ``"batch is a <type>, not a DataFrame"``. It counts as ``len(batch)`` rows when it is a
  list, tuple, numpy array or Series (a list of records is that many events), and as one
  row otherwise (``None``, a dict, a string, a number). The rejected frame has one row
  per counted row and a ``value`` column with the (shortened) repr of the batch.
- **A missing required column** rejects every row (``"missing column country"``); a
  missing optional column is added, filled with missing values.
- **Object columns** (mixed types) are converted where every value is of the right
  kind: Python or numpy numbers for numbers; text, datetimes and ``datetime64`` for
  times (text is parsed). **Numbers sent as text** (``"12.5"``) are rejected by default,
  as a producer's type error (the simulated sources' ``wrong_type`` fault);
  ``Field(parse_text=True)`` parses them instead. Booleans and bytes are not numbers;
  numbers are not times.

The clean path is vectorised (numpy masks over whole columns); Python only runs per row
to write the reasons of rejected rows.

>>> import pandas as pd
>>> schema = Schema(fields=(
...     Field(name="ts", dtype="time", max_future="1h"),
...     Field(name="country", dtype="str"),
...     Field(name="amount", dtype="float", min=0),
... ))
>>> batch = pd.DataFrame({
...     "ts": ["2024-01-01 09:00", "2024-01-04 09:00", "2024-01-01 09:01"],
...     "country": ["FR", "DE", "FR"],
...     "amount": [12.5, 3, "abc"],
... })
>>> out = schema.validate(batch, now=pd.Timestamp("2024-01-01 09:05"))
>>> out.accepted
                   ts country  amount
0 2024-01-01 09:00:00      FR    12.5
>>> out.accepted.dtypes["ts"], out.accepted.dtypes["amount"]
(dtype('<M8[ns]'), dtype('float64'))
>>> list(out.rejected["reason"])
['ts is 3 days in the future', "amount is not a number: 'abc'"]
>>> list(out.rejected["rule"])
['ts is in the future', 'amount is not a number']

The rules of each dtype, applied to one column's values, are in
:mod:`rtnb.pipeline._column_checks` (numbers, text, keys, ids) and
:mod:`rtnb.pipeline._time_checks` (event times); this module declares the schema and
splits the batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._errors import ParameterError, UnknownNameError
from .._time import DurationLike, to_duration
from ._column_checks import (
    Values,
    _Problem,
    _check_any,
    _check_float,
    _check_id,
    _check_int,
    _check_key,
    _check_str,
    _column,
    _const,
    _missing_column,
    _short,
)
from ._time_checks import _check_time

__all__ = ["Field", "Schema", "Validation", "DTYPES"]

DTYPES = ("time", "float", "int", "str", "key", "id", "any")
"""The dtypes a :class:`Field` can declare (``key``: text, or a column of integers or
booleans; ``id``: present and hashable; ``any``: present)."""


@dataclass(frozen=True, kw_only=True)
class Field:
    """One column of a schema and the rules its values must follow.

    Parameters
    ----------
    name
        The column name.
    dtype
        ``"time"`` (event times, converted to ``datetime64[ns]``, tz-aware values to UTC),
        ``"float"``, ``"int"``, ``"str"`` (text), ``"key"`` (a grouping key: text, or a
        column of integers or booleans), ``"id"`` (an event id:
        present and a hashable scalar such as a number or text, not a list) or ``"any"``
        (only checked for presence).
    required
        A missing column rejects every row (True) or is added with missing values (False).
    nullable
        Whether missing values (None, NaN, NaT) are allowed.
    min, max
        Inclusive bounds for numbers (``min=0`` is "non-negative").
    finite
        For floats: reject ``inf`` and ``-inf``.
    choices
        For text: the allowed values (categories).
    max_future, max_age
        For times: how far after / before the clock's ``now`` a value may be (``None``:
        no limit). Checked only when :meth:`Schema.validate` is given ``now``.
    parse_text
        For numbers: parse text such as ``"12.5"`` (True) or reject it (False, the
        default: text where a number is expected is a producer's type error).

    >>> Field(name="amount", dtype="float", min=0)
    Field(name='amount', dtype='float', required=True, nullable=False, min=0, max=None, finite=True, choices=None, max_future=None, max_age=None, parse_text=False)
    >>> Field(name="amount", dtype="decimal")
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: dtype='decimal' is unknown; choose one of: 'time', 'float', 'int', 'str', 'key', 'id', 'any'
    """

    name: str
    dtype: str
    required: bool = True
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    finite: bool = True
    choices: tuple[Any, ...] | None = None
    max_future: pd.Timedelta | None = None
    max_age: pd.Timedelta | None = None
    parse_text: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("name", self.name, "must be a non-empty column name")
        if self.dtype not in DTYPES:
            raise UnknownNameError("dtype", self.dtype, DTYPES)
        for p in ("min", "max"):
            v = getattr(self, p)
            if v is None:
                continue
            if self.dtype not in ("float", "int"):
                raise ParameterError(p, v, f"only numbers have bounds, not dtype={self.dtype!r}")
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or np.isnan(v):
                raise ParameterError(p, v, "must be a number")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ParameterError("max", self.max, f"must be at least min={self.min}")
        if self.choices is not None:
            if self.dtype != "str":
                raise ParameterError("choices", self.choices, f"only text has choices, not dtype={self.dtype!r}")
            if isinstance(self.choices, str) or not isinstance(self.choices, Iterable):
                raise ParameterError("choices", self.choices, "must be a list of allowed values")
            choices = tuple(self.choices)
            if not choices:
                raise ParameterError("choices", self.choices, "must not be empty")
            object.__setattr__(self, "choices", choices)
        for p in ("max_future", "max_age"):
            v = getattr(self, p)
            if v is None:
                continue
            if self.dtype != "time":
                raise ParameterError(p, v, f"only times have a plausible range, not dtype={self.dtype!r}")
            object.__setattr__(self, p, to_duration(v, p, allow_zero=True))
        if not isinstance(self.parse_text, bool):
            raise ParameterError("parse_text", self.parse_text, "must be True or False")
        if self.parse_text and self.dtype not in ("float", "int"):
            raise ParameterError("parse_text", self.parse_text, f"only numbers are parsed from text, not dtype={self.dtype!r}")
        if not self.required and not self.nullable:
            # A missing optional column is filled with missing values, so it must allow them.
            object.__setattr__(self, "nullable", True)


@dataclass(frozen=True)
class Validation:
    """The result of :meth:`Schema.validate`: ``accepted`` rows and ``rejected`` rows.

    ``rejected`` has the rows as they came in plus ``reason`` and ``rule`` columns;
    ``received`` is the number of rows the batch counted as.

    >>> v = Schema(fields=(Field(name="x", dtype="float"),)).validate(
    ...     pd.DataFrame({"x": [1.0, float("nan")]}))
    >>> v.received, len(v.accepted), len(v.rejected)
    (2, 1, 1)
    """

    accepted: pd.DataFrame
    rejected: pd.DataFrame

    @property
    def received(self) -> int:
        return len(self.accepted) + len(self.rejected)


@dataclass(frozen=True, kw_only=True)
class Schema:
    """The columns a batch must have and the rules its values must follow.

    Parameters
    ----------
    fields
        The :class:`Field` rules, checked in order (reasons are written in that order).
    extra
        What to do with columns the schema does not name: ``"keep"`` or ``"drop"``.

    >>> s = Schema.infer(time="ts", keys=("country",), measures=("amount",))
    >>> [(f.name, f.dtype) for f in s.fields]
    [('ts', 'time'), ('country', 'key'), ('amount', 'float')]
    >>> s.validate(pd.DataFrame({"ts": ["2024-01-01"], "amount": [1.0]})).rejected["reason"].tolist()
    ['missing column country']
    >>> Schema(fields=(Field(name="a", dtype="float"), Field(name="a", dtype="int")))
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: fields='a' is invalid: is declared twice
    """

    fields: tuple[Field, ...]
    extra: Literal["keep", "drop"] = "keep"
    names: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.fields, Field):
            object.__setattr__(self, "fields", (self.fields,))
        try:
            fields = tuple(self.fields)
        except TypeError:
            raise ParameterError("fields", self.fields, "must be a sequence of Field") from None
        seen: set[str] = set()
        for f in fields:
            if not isinstance(f, Field):
                raise ParameterError("fields", f, "must be a Field(name=..., dtype=...)")
            if f.name in seen:
                raise ParameterError("fields", f.name, "is declared twice")
            seen.add(f.name)
        if self.extra not in ("keep", "drop"):
            raise UnknownNameError("extra", self.extra, ("keep", "drop"))
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "names", tuple(f.name for f in fields))

    # ------------------------------------------------------------------ builders
    @classmethod
    def infer(
        cls,
        *,
        time: str | None = "ts",
        keys: str | Sequence[str] = (),
        measures: str | Sequence[str] = (),
        id_col: str | None = None,
        non_negative: bool = False,
        max_future: DurationLike | None = "1h",
        max_age: DurationLike | None = "24h",
        extra: Literal["keep", "drop"] = "keep",
    ) -> Schema:
        """The usual schema of an event stream: a time, keys, finite numeric measures.

        Keys are ``"key"`` fields: text, or a column of integers or booleans (which
        :class:`rtnb.Rolling` groups by and :func:`rtnb.replay` infers as keys too).

        ``max_future`` (default one hour) and ``max_age`` (default a day) bound the event
        time around the clock's ``now`` (rows older than ``max_age`` are malformed, not
        merely late; pass ``None`` to replay old data against a clock that is not moved
        with it); ``non_negative`` adds ``min=0`` to every measure.

        >>> Schema.infer(keys="k", measures="v", id_col="id").names
        ('ts', 'k', 'v', 'id')
        """
        keys = (keys,) if isinstance(keys, str) else tuple(keys)
        measures = (measures,) if isinstance(measures, str) else tuple(measures)
        fields: list[Field] = []
        if time is not None:
            fields.append(Field(name=time, dtype="time", max_future=max_future, max_age=max_age))
        fields += [Field(name=k, dtype="key") for k in keys]
        fields += [
            Field(name=m, dtype="float", min=0 if non_negative else None) for m in measures
        ]
        if id_col is not None and id_col not in {f.name for f in fields}:
            fields.append(Field(name=id_col, dtype="id"))
        return cls(fields=tuple(fields), extra=extra)

    @classmethod
    def from_source(cls, source: Any, **options: Any) -> Schema:
        """The schema of a :class:`rtnb.Source`: ``ts``, its keys, measures and id column.

        ``options`` are passed to :meth:`infer` (``non_negative``, ``max_future``, ...).

        >>> class Orders:
        ...     name, keys, measures, id_col = "orders", ("country",), ("amount",), "order_id"
        >>> Schema.from_source(Orders(), non_negative=True).names
        ('ts', 'country', 'amount', 'order_id')
        """
        return cls.infer(
            keys=tuple(getattr(source, "keys", ())),
            measures=tuple(getattr(source, "measures", ())),
            id_col=getattr(source, "id_col", None),
            **options,
        )

    # ------------------------------------------------------------------ validation
    def validate(self, batch: Any, now: pd.Timestamp | None = None) -> Validation:
        """Split ``batch`` into accepted and rejected rows; never raises on data.

        ``now`` is the clock's current time, for the fields' ``max_future`` / ``max_age``.
        """
        if not isinstance(batch, pd.DataFrame):
            return Validation(accepted=self.empty(), rejected=_reject_whole(batch))
        n = len(batch)
        if not batch.columns.is_unique:
            dup = batch.columns[batch.columns.duplicated()].unique().tolist()
            reason = "duplicate column names: " + ", ".join(_short(c) for c in dup)
            rejected = pd.DataFrame({"value": [_short(batch)] * n}, index=batch.index)
            return Validation(
                accepted=self.empty(),
                rejected=rejected.assign(reason=reason, rule="duplicate column names"),
            )
        if n == 0:  # nothing to check: the schema's columns (and kept extras), empty
            empty = self.empty()
            if self.extra == "keep":
                extras = [c for c in batch.columns if c not in set(self.names)]
                empty = pd.concat([empty, batch.iloc[:0][extras].reset_index(drop=True)], axis=1)
            return Validation(accepted=empty, rejected=_NO_REJECTS)
        now_ns = None if now is None else pd.Timestamp(now).as_unit("ns").value
        columns = set(batch.columns)

        converted: dict[str, Any] = {}
        problems: list[_Problem] = []
        for f in self.fields:
            if f.name not in columns:
                if f.required:
                    problems.append((np.ones(n, dtype=bool), f"missing column {f.name}", _const(f"missing column {f.name}")))
                else:
                    converted[f.name] = _missing_column(f, n)
                continue
            col = _column(batch, f.name)
            values, found = _CHECKS[f.dtype](f, col, now_ns)
            if values is not None:
                converted[f.name] = values
            problems += found

        if problems:
            bad = problems[0][0].copy()
            for mask, _, _ in problems[1:]:
                bad |= mask
        else:
            bad = None

        out = batch
        if self.extra == "drop":
            keep = [c for c in batch.columns if c in set(self.names)]
            if len(keep) != batch.shape[1]:
                out = out[keep]
        if converted:
            out = out.assign(**converted)
        if bad is None or not bad.any():
            return Validation(accepted=out, rejected=_empty_rejected(batch))
        good = ~bad
        accepted = out[good]
        rejected = batch[bad]
        reasons, rules = _write_reasons(batch, bad, problems)
        rejected = rejected.assign(reason=reasons, rule=rules)
        return Validation(accepted=accepted, rejected=rejected)

    def empty(self) -> pd.DataFrame:
        """An empty frame with the schema's columns and dtypes.

        >>> Schema.infer(keys="k", measures="v").empty().dtypes.astype(str).tolist()
        ['datetime64[ns]', 'object', 'float64']
        """
        return pd.DataFrame({f.name: pd.Series([], dtype=_OUT_DTYPE[f.dtype]) for f in self.fields})


_OUT_DTYPE = {"time": "datetime64[ns]", "float": "float64", "int": "int64", "str": "str", "key": object, "id": object,
              "any": object}


# ---------------------------------------------------------------------- helpers



def _reject_whole(batch: Any) -> pd.DataFrame:
    """The rejected rows of a batch that is not a DataFrame (see the module docstring)."""
    if isinstance(batch, (list, tuple, np.ndarray, pd.Series)):
        try:
            n = len(batch)
        except TypeError:  # a 0-d numpy array has no length
            n = 1
    else:
        n = 1
    kind = type(batch).__name__
    reason = f"batch is a {kind}, not a DataFrame"
    return pd.DataFrame(
        {"value": [_short(batch)] * n, "reason": [reason] * n, "rule": ["batch is not a DataFrame"] * n},
        dtype=object,
    )


def _empty_rejected(batch: pd.DataFrame) -> pd.DataFrame:
    # Shared and tiny: building an empty frame with the batch's columns would cost more
    # than validating a clean batch. Copy-on-write keeps the shared frame unchanged.
    return _NO_REJECTS


_NO_REJECTS = pd.DataFrame({"reason": pd.Series([], dtype=object), "rule": pd.Series([], dtype=object)})


def _write_reasons(
    batch: pd.DataFrame, bad: np.ndarray, problems: list[_Problem]
) -> tuple[list[str], list[str]]:
    """The reason and rule of each rejected row (Python per rejected row only)."""
    rows = np.flatnonzero(bad)
    pos = {r: i for i, r in enumerate(rows)}
    reasons: list[list[str]] = [[] for _ in rows]
    rules: list[list[str]] = [[] for _ in rows]
    for mask, rule, write in problems:
        for r in np.flatnonzero(mask):
            i = pos[r]
            reasons[i].append(write(r))
            rules[i].append(rule)
    return ["; ".join(x) for x in reasons], ["; ".join(x) for x in rules]


_CHECKS: dict[str, Callable[[Field, Values, int | None], tuple[Any, list[_Problem]]]] = {
    "time": _check_time,
    "float": _check_float,
    "int": _check_int,
    "str": _check_str,
    "key": _check_key,
    "id": _check_id,
    "any": _check_any,
}
