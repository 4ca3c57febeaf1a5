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
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._errors import ParameterError, UnknownNameError
from .._time import DurationLike, to_duration

__all__ = ["Field", "Schema", "Validation", "DTYPES"]

DTYPES = ("time", "float", "int", "str", "key", "id", "any")
"""The dtypes a :class:`Field` can declare (``key``: text, or a column of integers or
booleans; ``id``: present and hashable; ``any``: present)."""

_NAT = np.iinfo(np.int64).min
# dtype objects compared by identity-fast equality (comparing with strings parses them)
_NS = np.dtype("datetime64[ns]")
_F8 = np.dtype("float64")
_I8 = np.dtype("int64")
_OBJ = np.dtype("object")
_REPR_MAX = 40


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


# A problem found by a rule: which rows, the rule's name, and how to write each reason.
_Problem = tuple[np.ndarray, str, Callable[[Any], str]]


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


def _short(value: Any) -> str:
    """A value as it appears in a reason: its repr, shortened."""
    try:
        r = repr(value)
    except Exception:  # a broken __repr__ must not break validation
        r = f"<{type(value).__name__}>"
    r = " ".join(r.split())
    return r if len(r) <= _REPR_MAX else r[: _REPR_MAX - 3] + "..."


def _const(text: str) -> Callable[[Any], str]:
    return lambda _v: text


def _describe_duration(td: pd.Timedelta | int) -> str:
    """A duration in words for a reason: '45 s', '12 min', '2.5 h', '3 days'.

    Also takes integer nanoseconds (a year-1700 event is more than a Timedelta holds).

    >>> _describe_duration(324 * 365 * 86400 * 10**9)
    '118,260 days'
    """
    s = abs(td.total_seconds()) if isinstance(td, pd.Timedelta) else abs(int(td)) / 1e9
    if s < 60:
        return f"{s:.3g} s"
    if s < 3600:
        return f"{s / 60:.3g} min"
    if s < 86400:
        return f"{s / 3600:.3g} h"
    d = s / 86400
    return "1 day" if d < 1.05 else f"{d:.3g} days" if d < 100 else f"{d:,.0f} days"  # not 1.04e+03


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


def _isna(col: Values) -> np.ndarray:
    """Missing values of a column as a numpy mask (fast for Arrow-backed text)."""
    if isinstance(col, pd.api.extensions.ExtensionArray):
        return np.asarray(col.isna(), dtype=bool)
    return pd.isna(np.asarray(col))


def _missing_column(f: Field, n: int) -> Any:
    if f.dtype == "time":
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if f.dtype == "float":
        return np.full(n, np.nan)
    if f.dtype == "int":
        return pd.array([pd.NA] * n, dtype="Int64")
    return pd.Series([None] * n, dtype=object).to_numpy()


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


# Checks work on a column's values (a numpy array or a pandas ExtensionArray), not on a
# Series: building a Series per column and batch costs more than the checks themselves.
Values = Any


def _column(batch: pd.DataFrame, name: str) -> Values:
    """The values of one column, without building a Series when pandas allows it."""
    get = getattr(batch, "_get_column_array", None)
    if get is not None:
        try:
            loc = batch.columns.get_loc(name)
            if isinstance(loc, (int, np.integer)):
                return get(int(loc))
        except Exception:  # a pandas without this fast path: use the public API
            pass
    return batch[name].array


def _obj(col: Values) -> np.ndarray:
    return np.asarray(col, dtype=object)


def _to_float64(col: Values) -> np.ndarray:
    if isinstance(col, pd.api.extensions.ExtensionArray):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(col, dtype=np.float64)


def _raw(col: Values) -> Callable[[int], Any]:
    """The value at row ``r`` as it came in (converted to objects only when asked)."""
    cache: list[np.ndarray] = []

    def value(r: int) -> Any:
        if not cache:
            cache.append(_obj(col))
        return cache[0][r]

    return value


def _is_missing_scalar(v: Any) -> bool:
    try:
        return v is None or v is pd.NA or v is pd.NaT or bool(pd.isna(v))
    except (TypeError, ValueError):  # lists, arrays: not a missing scalar
        return False


# Each check returns (converted values or None when the column is already right, problems).


def _check_float(f: Field, col: Values, now_ns: int | None) -> tuple[Any, list[_Problem]]:
    name = f.name
    raw = _raw(col)
    problems: list[_Problem] = []
    dt = col.dtype
    not_number = None
    if dt is _F8 or dt == _F8:
        arr, converted = np.asarray(col), None
    elif pd.api.types.is_bool_dtype(dt):
        arr = np.full(len(col), np.nan)
        converted, not_number = arr, ~_isna(col)
    elif (pd.api.types.is_integer_dtype(dt) or pd.api.types.is_float_dtype(dt)) and not isinstance(
        dt, pd.CategoricalDtype
    ):
        # int64, float32, nullable Int64/Float64: exact conversions to float64.
        arr = _to_float64(col)
        converted = arr
    else:
        arr, not_number = _coerce_numbers(col, f.parse_text)
        converted = arr
    missing = np.isnan(arr)
    if not_number is not None and not_number.any():
        problems.append((not_number, f"{name} is not a number", lambda r: f"{name} is not a number: {_short(raw(r))}"))
        missing &= ~not_number
    if not f.nullable and missing.any():
        problems.append((missing, f"{name} is missing or NaN", lambda r: f"{name} is NaN" if isinstance(raw(r), (float, np.floating, str)) else f"{name} is missing"))
    problems += _number_rules(f, arr, raw)
    return converted, problems


def _number_rules(f: Field, arr: np.ndarray, raw: Callable[[int], Any]) -> list[_Problem]:
    name = f.name
    problems: list[_Problem] = []
    skip = None
    if f.finite and f.dtype == "float":
        inf = np.isinf(arr)
        if inf.any():
            problems.append((inf, f"{name} is not finite", lambda r: f"{name} is not finite: {arr[r]}"))
            skip = inf  # one reason is enough for an infinity
    with np.errstate(invalid="ignore"):
        if f.min is not None:
            low = arr < f.min
            if skip is not None:
                low &= ~skip
            if low.any():
                problems.append((low, f"{name} is below the minimum", lambda r: f"{name} is {_short(raw(r))}, below the minimum {f.min}"))
        if f.max is not None:
            high = arr > f.max
            if skip is not None:
                high &= ~skip
            if high.any():
                problems.append((high, f"{name} is above the maximum", lambda r: f"{name} is {_short(raw(r))}, above the maximum {f.max}"))
    return problems


def _coerce_numbers(col: Values, parse_text: bool) -> tuple[np.ndarray, np.ndarray]:
    """Object/str column → float64 array, with a mask of the values that are not numbers.

    Missing values (None, NA, NaN; with ``parse_text`` the text 'nan') become NaN and
    are not "not numbers". Without ``parse_text`` any text is not a number.
    """
    obj = _obj(col)
    try:
        with warnings.catch_warnings():  # a complex value's real part is not kept: `odd` rejects it below
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            arr = pd.to_numeric(pd.Series(obj, dtype=object), errors="coerce").to_numpy(dtype=np.float64,
                                                                                        na_value=np.nan)
    except (TypeError, ValueError, OverflowError):
        arr = np.array([_to_float(v) for v in obj], dtype=np.float64)
    # Booleans and bytes convert to numbers in pandas, but a flag is not an amount.
    odd_types = (bool, np.bool_, bytes, bytearray, complex, np.complexfloating, decimal.Decimal)
    if not parse_text:
        odd_types = (*odd_types, str)
    odd = np.fromiter((isinstance(v, odd_types) for v in obj), dtype=bool, count=len(obj))
    arr = np.where(odd, np.nan, arr)
    not_number = np.isnan(arr)
    for r in np.flatnonzero(not_number):
        v = obj[r]
        if odd[r]:
            continue
        if _is_missing_scalar(v) or (parse_text and isinstance(v, str) and v.strip().lower() == "nan"):
            not_number[r] = False
    return arr, not_number


def _to_float(v: Any) -> float:
    try:
        return float(v) if isinstance(v, (int, float, str, np.number)) else np.nan
    except (TypeError, ValueError, OverflowError):
        return np.nan


def _check_int(f: Field, col: Values, now_ns: int | None) -> tuple[Any, list[_Problem]]:
    name = f.name
    raw = _raw(col)
    dt = col.dtype
    if dt is _I8 or dt == _I8:
        problems = _number_rules(f, np.asarray(col), raw)
        return None, problems
    as_float = Field(name=name, dtype="float", nullable=f.nullable, finite=True, parse_text=f.parse_text)
    values, problems = _check_float(as_float, col, now_ns)
    arr = _to_float64(col) if values is None else values
    with np.errstate(invalid="ignore"):
        frac = np.isfinite(arr) & (arr != np.round(arr))
        big = np.isfinite(arr) & (np.abs(arr) >= 2.0**63)
    if frac.any():
        problems.append((frac, f"{name} is not a whole number", lambda r: f"{name} is not a whole number: {_short(raw(r))}"))
    if big.any():
        problems.append((big, f"{name} is too large", lambda r: f"{name} is too large: {_short(raw(r))}"))
    problems += _number_rules(f, arr, raw)
    clean = np.where(np.isfinite(arr) & ~frac & ~big, arr, 0)
    if f.nullable:
        out = pd.array(clean.astype(np.int64), dtype="Int64")
        out[~np.isfinite(arr)] = pd.NA
        return out, problems
    return clean.astype(np.int64), problems


def _check_str(f: Field, col: Values, now_ns: int | None) -> tuple[Any, list[_Problem]]:
    name = f.name
    raw = _raw(col)
    problems: list[_Problem] = []
    dt = col.dtype
    if isinstance(dt, pd.StringDtype) or _arrow_text(dt):
        missing = _isna(col)
        not_text = None
    elif dt is _OBJ or (isinstance(dt, np.dtype) and dt.kind == "O"):
        kind = pd.api.types.infer_dtype(col, skipna=True)
        missing = _isna(col)
        if kind in ("string", "empty"):
            not_text = None
        else:
            obj = np.asarray(col)
            not_text = np.fromiter((not isinstance(v, str) for v in obj), dtype=bool, count=len(obj)) & ~missing
    elif isinstance(dt, pd.CategoricalDtype) and pd.api.types.infer_dtype(dt.categories, skipna=True) == "string":
        missing = _isna(col)
        not_text = None
    else:
        missing = _isna(col)
        not_text = ~missing
    if not_text is not None and not_text.any():
        problems.append((not_text, f"{name} is not text", lambda r: f"{name} is not text: {_short(raw(r))}"))
    if not f.nullable and missing.any():
        problems.append((missing, f"{name} is missing", _const(f"{name} is missing")))
    if f.choices is not None:
        outside = ~pd.Series(col, copy=False).isin(f.choices).to_numpy() & ~missing
        if not_text is not None:
            outside &= ~not_text
        if outside.any():
            shown = ", ".join(_short(c) for c in f.choices[:6]) + (", ..." if len(f.choices) > 6 else "")
            problems.append((outside, f"{name} is not an allowed value", lambda r: f"{name} is {_short(raw(r))}, not one of {shown}"))
    return None, problems


def _check_key(f: Field, col: Values, now_ns: int | None) -> tuple[Any, list[_Problem]]:
    # A whole column of integers or booleans (or categories) is a key column as much as
    # text is; values of another kind in a text column are still a producer's error.
    dt = col.dtype
    if isinstance(dt, pd.CategoricalDtype) or pd.api.types.is_integer_dtype(dt) or pd.api.types.is_bool_dtype(dt):
        return _check_any(f, col, now_ns)
    if dt is _OBJ and pd.api.types.infer_dtype(col, skipna=True) in ("integer", "boolean"):
        return _check_any(f, col, now_ns)
    return _check_str(f, col, now_ns)


def _check_any(f: Field, col: Values, now_ns: int | None) -> tuple[Any, list[_Problem]]:
    if f.nullable:
        return None, []
    missing = _isna(col)
    if missing.any():
        return None, [(missing, f"{f.name} is missing", _const(f"{f.name} is missing"))]
    return None, []


def _check_id(f: Field, col: Values, now_ns: int | None) -> tuple[Any, list[_Problem]]:
    _, problems = _check_any(f, col, now_ns)
    if not (isinstance(col.dtype, np.dtype) and col.dtype.kind == "O") or pd.api.types.infer_dtype(col, skipna=True) in ("string", "integer", "empty"):
        return None, problems
    raw = _raw(col)
    odd = np.fromiter((not _hashable_scalar(v) for v in np.asarray(col)), dtype=bool, count=len(col))
    odd &= ~_isna(col)
    if odd.any():
        problems.append((odd, f"{f.name} is not a valid id", lambda r: f"{f.name} is not a valid id: {_short(raw(r))}"))
    return None, problems


def _hashable_scalar(v: Any) -> bool:
    if isinstance(v, (list, dict, set, tuple, np.ndarray, pd.Series, pd.DataFrame)):
        return False  # containers: not an event id (a tuple may hold a list, too)
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _check_time(f: Field, col: Values, now_ns: int | None) -> tuple[Any, list[_Problem]]:
    name = f.name
    raw = _raw(col)
    problems: list[_Problem] = []
    dt = col.dtype
    converted = None
    not_time = None
    if dt is _NS or dt == _NS:
        arr = np.asarray(col)
    elif isinstance(dt, pd.DatetimeTZDtype) or (isinstance(dt, np.dtype) and dt.kind == "M") or _arrow_time(dt):
        # any unit, any zone, Arrow-backed: converted safely (a year-2300 date is out of
        # range, never wrapped to 1715)
        from ._input import utc_nanoseconds

        i8, found, _zone = utc_nanoseconds(pd.Series(col, copy=False), name)
        arr = i8.view("datetime64[ns]")
        converted = arr
        outside = [p for p in found if p[1].endswith("nanosecond range")]
        problems += outside
        if outside:
            not_time = np.zeros(len(col), dtype=bool)  # reasons given; keep NaT checks apart
            nat_skip = outside[0][0]
            arr = np.where(nat_skip, np.datetime64("NaT"), arr)
    elif (isinstance(dt, np.dtype) and dt.kind == "O") or isinstance(dt, pd.StringDtype):
        arr, not_time = _coerce_times(col)
        converted = arr
    else:  # numbers, booleans, categories: not times
        arr = np.full(len(col), np.datetime64("NaT"), dtype="datetime64[ns]")
        not_time = ~_isna(col)
        converted = arr
    i8 = arr.view(np.int64)
    nat = i8 == _NAT
    if problems:  # out of range: one reason is enough
        for mask, _, _ in problems:
            nat = nat & ~mask
    if not_time is not None and not_time.any():
        problems.append((not_time, f"{name} is not a time", lambda r: f"{name} is not a time: {_short(raw(r))}"))
        nat = nat & ~not_time
    if not f.nullable and nat.any():
        problems.append((nat, f"{name} is missing", _const(f"{name} is missing")))
    if now_ns is not None:
        if f.max_future is not None:
            future = (i8 != _NAT) & (i8 > now_ns + f.max_future.value)
            if not_time is not None:
                future &= ~not_time
            if future.any():
                problems.append((future, f"{name} is in the future", lambda r: f"{name} is {_describe_duration(int(i8[r]) - now_ns)} in the future"))
        if f.max_age is not None:
            old = (i8 != _NAT) & (i8 < now_ns - f.max_age.value)
            if not_time is not None:
                old &= ~not_time
            if old.any():
                problems.append((old, f"{name} is too old", lambda r: f"{name} is {_describe_duration(now_ns - int(i8[r]))} old, more than {_describe_duration(f.max_age)}"))
    return converted, problems


def _arrow_time(dt: Any) -> bool:
    if not isinstance(dt, pd.ArrowDtype):
        return False
    import pyarrow as pa

    return pa.types.is_timestamp(dt.pyarrow_dtype)


def _arrow_text(dt: Any) -> bool:
    if not isinstance(dt, pd.ArrowDtype):
        return False
    import pyarrow as pa

    t = dt.pyarrow_dtype
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _times_from_datetimes(col: Values) -> tuple[np.ndarray, np.ndarray | None]:
    """Datetime column of another unit or time zone → datetime64[ns] (UTC)."""
    s = pd.Series(col, copy=False)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    arr = s.to_numpy()
    unit, _ = np.datetime_data(arr.dtype)
    per = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}.get(unit)
    if per is not None:
        i8 = arr.view(np.int64)
        valid = i8 != _NAT
        # numpy wraps around silently on overflow: check the range first.
        if per == 1 or not valid.any() or np.abs(i8[valid]).max() < np.iinfo(np.int64).max // per:
            return arr.astype("datetime64[ns]"), None
    return _coerce_times(_obj(col))


def _coerce_times(col: Values) -> tuple[np.ndarray, np.ndarray]:
    """Object/str column → datetime64[ns] array (UTC), with a mask of non-times."""
    obj = _obj(col)
    out = np.full(len(obj), _NAT, dtype=np.int64)
    not_time = np.zeros(len(obj), dtype=bool)
    timey = (str, _dt.datetime, np.datetime64, _dt.date)
    for r, v in enumerate(obj):  # object path only: sources send datetime64 columns
        if _is_missing_scalar(v):
            continue
        if not isinstance(v, timey):
            not_time[r] = True
            continue
        try:
            ts = pd.Timestamp(v)
            if ts is pd.NaT:
                not_time[r] = True
                continue
            if ts.tzinfo is not None:
                ts = ts.tz_convert("UTC").tz_localize(None)
            out[r] = ts.as_unit("ns").value
        except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
            not_time[r] = True
    return out.view("datetime64[ns]"), not_time


_CHECKS: dict[str, Callable[[Field, Values, int | None], tuple[Any, list[_Problem]]]] = {
    "time": _check_time,
    "float": _check_float,
    "int": _check_int,
    "str": _check_str,
    "key": _check_key,
    "id": _check_id,
    "any": _check_any,
}
