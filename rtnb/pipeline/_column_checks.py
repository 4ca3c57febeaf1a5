"""One column's values against a :class:`~rtnb.pipeline.schema.Field`'s rules: numbers, text, keys, ids.

Each check takes a field, the column's values (a numpy array or a pandas
ExtensionArray, see :data:`Values`) and the clock's ``now`` in nanoseconds, and returns
the converted values (``None`` when the column is already right) and the problems
found: which rows, the rule's name, and how to write each row's reason. The checks of
event times are in :mod:`rtnb.pipeline._time_checks`; :meth:`rtnb.Schema.validate`
picks one per dtype and writes the rejected rows' reasons.

The helpers here (a value in a reason, missing values, a column's values as objects)
are shared by both check modules and by the schema.
"""

from __future__ import annotations

import decimal
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .schema import Field


_NAT = np.iinfo(np.int64).min
# dtype objects compared by identity-fast equality (comparing with strings parses them)
_NS = np.dtype("datetime64[ns]")
_F8 = np.dtype("float64")
_I8 = np.dtype("int64")
_OBJ = np.dtype("object")
_REPR_MAX = 40


# A problem found by a rule: which rows, the rule's name, and how to write each reason.
_Problem = tuple[np.ndarray, str, Callable[[Any], str]]


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
    as_float = type(f)(name=name, dtype="float", nullable=f.nullable, finite=True, parse_text=f.parse_text)
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


def _arrow_text(dt: Any) -> bool:
    if not isinstance(dt, pd.ArrowDtype):
        return False
    import pyarrow as pa

    t = dt.pyarrow_dtype
    return pa.types.is_string(t) or pa.types.is_large_string(t)
