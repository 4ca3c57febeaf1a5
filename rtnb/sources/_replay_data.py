"""The data a replay plays: read once from a DataFrame, a CSV or a Parquet file, its
time column parsed to tz-naive UTC nanoseconds (bad or missing times raise, naming the
rows), the columns a batch writes (``ts``, ``arrival``) freed, keys and measures
checked or inferred. Used by :class:`~rtnb.Replay` (see :mod:`rtnb.sources.replay`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from .._errors import ParameterError, SourceError, UnknownNameError

__all__ = ["CSV_SUFFIXES", "PARQUET_SUFFIXES", "DataLike"]

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")
PARQUET_SUFFIXES = (".parquet", ".pq")

DataLike = Union[pd.DataFrame, str, "os.PathLike[str]"]

# A string/categorical column with more distinct values than this is text or an id,
# not a dimension one would group by.
_MAX_KEY_CARDINALITY = 100
_SHOWN_BAD_ROWS = 5


def _read_data(data: Any) -> tuple[pd.DataFrame, str]:
    """The data as a DataFrame, and a default name for the source."""
    if isinstance(data, pd.DataFrame):
        return data, "replay"
    if not isinstance(data, (str, os.PathLike)):
        raise ParameterError(
            "data", type(data).__name__, "must be a DataFrame or the path of a CSV or Parquet file"
        )
    path = Path(data)
    lower = path.name.lower()
    suffix = next((s for s in CSV_SUFFIXES + PARQUET_SUFFIXES if lower.endswith(s)), None)
    if suffix is None:
        raise ParameterError(
            "data", str(data), f"unsupported file type {''.join(path.suffixes) or '(none)'!r}",
            choices=CSV_SUFFIXES + PARQUET_SUFFIXES,
        )
    if not path.exists():
        raise SourceError(f"data={str(data)!r} cannot be read: no such file")
    if path.is_dir():
        raise SourceError(f"data={str(data)!r} cannot be read: it is a directory")
    name = path.name[: -len(suffix)] or "replay"
    if suffix in PARQUET_SUFFIXES:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise SourceError(
                f"data={str(data)!r} cannot be read: Parquet needs pyarrow "
                "(pip install 'rtnb[parquet]')"
            ) from None
    try:
        if suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except Exception as exc:  # any reader failure is "this file cannot be read"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"data={str(data)!r} cannot be read: {reason}") from exc
    return frame, name


def _pick_time_col(frame: pd.DataFrame, time_col: Any) -> str:
    columns = list(frame.columns)
    if time_col is None:
        if "ts" in columns:
            return "ts"
        dated = [c for c in columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
        if len(dated) == 1:
            return dated[0]
        found = f"{len(dated)} datetime columns" if dated else "no datetime column"
        raise ParameterError(
            "time_col", None,
            f"give the event-time column (there is no 'ts' and {found}); the columns are: "
            + ", ".join(repr(c) for c in columns),
        )
    if not isinstance(time_col, str) or time_col not in columns:
        raise UnknownNameError("time_col", time_col, columns, reason="not a column of the data")
    return time_col


def _parse_times(values: pd.Series, col: str) -> pd.Series:
    """The time column as tz-naive UTC ``datetime64[ns]``; bad or missing times raise."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
        if getattr(values.dtype, "tz", None) is not None:
            parsed = values.dt.tz_convert("UTC").dt.tz_localize(None)
        bad = pd.Series(False, index=values.index)
    elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise ParameterError(
            "time_col", col,
            f"holds numbers ({values.dtype}), not times; convert them first, e.g. "
            f"df[{col!r}] = pd.to_datetime(df[{col!r}], unit='s')",
        )
    else:
        text = values.astype("object")
        try:
            with np.errstate(all="ignore"):
                parsed = pd.to_datetime(text, utc=True, errors="coerce")
                bad = parsed.isna() & text.notna()
                if bad.any():  # mixed formats: try each value on its own
                    retry = pd.to_datetime(text[bad], utc=True, errors="coerce", format="mixed")
                    parsed = parsed.where(~bad, retry)
                    bad = parsed.isna() & text.notna()
        except (OverflowError, ValueError, TypeError, pd.errors.OutOfBoundsDatetime) as exc:
            # pandas raises even with errors="coerce" for a datetime past 2262
            raise SourceError(f"time_col={col!r}: times that cannot be read as nanosecond times "
                              f"(1677-09-21 to 2262-04-11): {exc}") from None
        parsed = parsed.dt.tz_localize(None)
    if bad.any():
        raise SourceError(
            f"time_col={col!r}: {int(bad.sum())} values are not dates and times, e.g. "
            + _show_rows(values, bad)
        )
    missing = parsed.isna()
    if missing.any():
        raise SourceError(
            f"time_col={col!r}: {int(missing.sum())} rows have no time, e.g. "
            + _show_rows(values, missing)
            + "; drop or fill them before replaying"
        )
    try:
        return parsed.astype("datetime64[ns]")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime) as exc:
        raise SourceError(f"time_col={col!r}: times out of range for nanoseconds: {exc}") from exc


def _show_rows(values: pd.Series, mask: pd.Series) -> str:
    positions = np.flatnonzero(mask.to_numpy())[:_SHOWN_BAD_ROWS]
    return ", ".join(f"row {p}: {values.iloc[p]!r}" for p in positions)


def _free_batch_names(
    frame: pd.DataFrame, time_col: str, keep_ts: bool
) -> tuple[pd.DataFrame, str]:
    """Rename data columns that ``ts``/``arrival`` would overwrite to ``<name>_original``.

    ``keep_ts``: the batch's ``ts`` is the data's own ``ts`` column, which then stays.
    """
    renames = {}
    if "arrival" in frame.columns:
        renames["arrival"] = "arrival_original"
    if "ts" in frame.columns and not (time_col == "ts" and keep_ts):
        renames["ts"] = "ts_original"
    for old, new in renames.items():
        if new in frame.columns:
            raise SourceError(
                f"the data has both {old!r} and {new!r} columns; the replay writes {old!r} "
                f"and would keep the data's {old!r} as {new!r}: rename one of them"
            )
    if not renames:
        return frame, time_col
    return frame.rename(columns=renames), renames.get(time_col, time_col)


def _check_id_col(id_col: Any, columns: list[str]) -> str | None:
    if id_col is None:
        return None
    if not isinstance(id_col, str) or id_col not in columns:
        raise UnknownNameError("id_col", id_col, columns, reason="not a column of the data")
    return id_col


def _columns(param: str, names: Iterable[str] | str, columns: list[str]) -> tuple[str, ...]:
    chosen = (names,) if isinstance(names, str) else tuple(names)
    for n in chosen:
        if n not in columns:
            raise UnknownNameError(param, n, columns, reason="not a column of the data")
    return chosen


def _infer_keys(frame: pd.DataFrame, skip: set[Any]) -> tuple[str, ...]:
    keys = []
    for col in frame.columns:
        if col in skip or col in ("ts_original", "arrival_original"):
            continue
        s = frame[col]
        dimension_like = (
            isinstance(s.dtype, pd.CategoricalDtype)
            or pd.api.types.is_bool_dtype(s)
            or pd.api.types.is_string_dtype(s)
        )
        if dimension_like and s.nunique(dropna=True) <= _MAX_KEY_CARDINALITY:
            keys.append(col)
    return tuple(keys)


def _infer_measures(frame: pd.DataFrame, skip: set[Any]) -> tuple[str, ...]:
    return tuple(
        col
        for col in frame.columns
        if col not in skip
        and pd.api.types.is_numeric_dtype(frame[col])
        and not pd.api.types.is_bool_dtype(frame[col])
    )


def _median_step(t_ns: np.ndarray) -> int:
    """One typical step between distinct event times (1 s if all times are equal)."""
    steps = np.diff(np.unique(t_ns))
    return int(np.median(steps)) if len(steps) else 1_000_000_000
