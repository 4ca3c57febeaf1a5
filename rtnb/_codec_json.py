"""The JSON form of a snapshot, what the HTTP server (rtnb.serve) sends: one document
per snapshot version, encoded once and sent to every viewer::

    {"metric": "orders", "version": 12, "snapshot_version": 12,
     "window_s": 60.0, "watermark": "2024-01-01T09:00:00", "watermark_ms": ...,
     "newest_event": "...", "newest_event_ms": ..., "processed_at": "...",
     "processed_at_ms": ..., "data_age_s": 2.0,
     "counters": {"received": 3, ...},
     "table": {"index_names": ["country"], "columns": ["count"],
               "index": [["FR"]], "data": [[3]]}}

Times are ISO strings (tz-naive UTC, as the clocks give them) and milliseconds since
the epoch (``*_ms``) so a browser can age them without parsing. ``version`` is the
store's version (the ``ETag`` and SSE ``id``); ``snapshot_version`` the pipeline's.
NaN and missing values are ``null``; numbers stay numbers. A snapshot with an overall
row (``Snapshot.overall``, a :class:`rtnb.Metric`'s answer over every key) carries it
as ``"overall": {"column": value, ...}`` (:func:`overall_from_document` reads it back).

Re-exported by :mod:`rtnb.codec`, so the Redis store and the HTTP server take their
encodings from one module.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from .health import Counters, Snapshot  # noqa: F401  (Counters: the doctests)

__all__ = ["snapshot_document", "snapshot_json", "table_from_document", "overall_from_document", "time_ms"]

_EPOCH = pd.Timestamp(0)


def time_ms(ts: pd.Timestamp | None) -> float | None:
    """Milliseconds since the epoch of a tz-naive UTC timestamp (``None`` stays ``None``).

    >>> time_ms(pd.Timestamp("1970-01-01 00:00:01.5"))
    1500.0
    """
    if ts is None or pd.isna(ts):
        return None
    ts = pd.Timestamp(ts)
    if ts.tz is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return (ts - _EPOCH) / pd.Timedelta(1, "ms")


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).isoformat()


def _plain(v: Any) -> Any:
    """A cell or label as JSON: numbers stay numbers, NaN/NaT/NA are null."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        return None if not math.isfinite(v) else v
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return _iso(pd.Timestamp(v))
    if isinstance(v, (pd.Timedelta, np.timedelta64)):
        return pd.Timedelta(v).total_seconds()
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, (str, int, bool)):
        return v
    return str(v)


def _table(frame: pd.DataFrame) -> dict:
    index = frame.index
    names = [None if n is None else str(n) for n in index.names]
    keys = [[_plain(x) for x in (k if isinstance(k, tuple) else (k,))] for k in index.tolist()]
    cols = [_plain(c) for c in frame.columns]
    data = []
    if len(frame.columns):
        for row in frame.itertuples(index=False, name=None):
            data.append([_plain(x) for x in row])
    else:
        data = [[] for _ in keys]
    return {"index_names": names, "columns": cols, "index": keys, "data": data}


def snapshot_document(snapshot: Snapshot, *, version: int) -> dict:
    """The JSON-ready dict of ``snapshot`` served as store version ``version``.

    >>> snap = Snapshot(metric="orders", table=pd.DataFrame({"count": [3, 1], "mean": [2.5, None]},
    ...                 index=pd.Index(["FR", "DE"], name="country")), window=pd.Timedelta("60s"),
    ...                 watermark=pd.Timestamp("2024-01-01 09:00"), newest_event=pd.Timestamp("2024-01-01 09:00"),
    ...                 processed_at=pd.Timestamp("2024-01-01 09:00:02"), counters=Counters(received=3, accepted=3))
    >>> doc = snapshot_document(snap, version=4)
    >>> doc["version"], doc["data_age_s"], doc["table"]["data"]
    (4, 2.0, [[3, 2.5], [1, None]])
    >>> table_from_document(doc["table"]).loc["FR", "count"]
    np.int64(3)
    """
    age = snapshot.data_age
    window = snapshot.window
    doc = {
        "metric": snapshot.metric,
        "version": int(version),
        "snapshot_version": int(snapshot.version),
        "window_s": None if window is None or pd.isna(window) else pd.Timedelta(window).total_seconds(),
        "watermark": _iso(snapshot.watermark),
        "watermark_ms": time_ms(snapshot.watermark),
        "newest_event": _iso(snapshot.newest_event),
        "newest_event_ms": time_ms(snapshot.newest_event),
        "processed_at": _iso(snapshot.processed_at),
        "processed_at_ms": time_ms(snapshot.processed_at),
        "data_age_s": None if age is None or pd.isna(age) else age.total_seconds(),
        "counters": {k: _plain(v) for k, v in snapshot.counters.as_dict().items()},
        "table": _table(snapshot.table),
    }
    if snapshot.overall is not None:  # only then: documents without it keep their bytes
        doc["overall"] = {str(k): _plain(v) for k, v in snapshot.overall.items()}
    return doc


def snapshot_json(snapshot: Snapshot, *, version: int) -> bytes:
    """:func:`snapshot_document` as compact UTF-8 JSON bytes (encoded once per version).

    >>> s = Snapshot(metric="m", table=pd.DataFrame({"x": [float("nan")]}), window=None,
    ...              watermark=None, newest_event=None, processed_at=pd.Timestamp(0))
    >>> json.loads(snapshot_json(s, version=1))["table"]["data"]
    [[None]]
    """
    return json.dumps(snapshot_document(snapshot, version=version), separators=(",", ":"),
                      allow_nan=False).encode()


def table_from_document(doc: dict) -> pd.DataFrame:
    """The table of a snapshot document back as a DataFrame (values as JSON gave them).

    Index labels come back as JSON scalars (a tuple key as a MultiIndex level each).
    """
    names = doc["index_names"]
    keys = [tuple(k) for k in doc["index"]]
    if len(names) == 1:
        index = pd.Index([k[0] for k in keys], name=names[0])
    else:
        index = pd.MultiIndex.from_tuples(keys, names=names)
    return pd.DataFrame(doc["data"] if doc["columns"] else None, index=index,
                        columns=doc["columns"] if doc["columns"] else None)


def overall_from_document(doc: dict) -> pd.Series | None:
    """The overall row of a snapshot document as a Series named ``"overall"`` (``None``
    when the snapshot had none); values as JSON gave them (``null`` is NaN).

    >>> s = Snapshot(metric="m", table=pd.DataFrame({"rate": [0.5]}), window=None, watermark=None,
    ...              newest_event=None, processed_at=pd.Timestamp(0),
    ...              overall=pd.Series({"count": 4, "rate": 0.25}, name="overall"))
    >>> overall_from_document(snapshot_document(s, version=1)).to_dict()
    {'count': 4.0, 'rate': 0.25}
    """
    row = doc.get("overall")
    if row is None:
        return None
    return pd.Series({k: np.nan if v is None else v for k, v in row.items()}, name="overall")
