"""The frame and snapshot codec: DataFrames and snapshots as compact, pickle-free bytes.

One encoding for every place a table leaves the process: the Redis store writes a
snapshot per put with it, the event log writes batches of rows with it, and the HTTP
server can send the same bytes; the JSON form the HTTP server sends (for browsers) is in
:mod:`rtnb._codec_json`, re-exported here. It imports no client library (no Redis, no HTTP), so
anything below the store may use it.

The layout of one value::

    b"RTNB1"  uint32 (little-endian) header length  JSON header  raw column bytes

The JSON header holds the metadata, dtypes, index and labels; numeric columns (bool,
int, float, complex, datetime, timedelta) are their raw little-endian bytes after the
header, located by offset and length; other columns (strings, objects, nullable
extension types) are JSON values in the header; categoricals are codes plus
categories.

>>> import pandas as pd
>>> table = pd.DataFrame({"count": [3, 1], "mean": [2.5, None]},
...                      index=pd.Index(["FR", "DE"], name="country"))
>>> decode_frame(encode_frame(table)).equals(table)
True
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pandas as pd

from ._errors import StoreError
from .health import Counters, Snapshot

__all__ = ["encode_frame", "decode_frame", "encode_snapshot", "decode_snapshot",
           "snapshot_document", "snapshot_json", "table_from_document", "overall_from_document", "time_ms"]

_MAGIC = b"RTNB1"
_NUMPY_KINDS = frozenset("biufcmM")  # bool, ints, floats, complex, timedelta, datetime


def _label_to_json(label: Any) -> Any:
    """Column and index labels: str, int, float, bool, None, or tuples of them."""
    if isinstance(label, tuple):
        return {"tuple": [_label_to_json(x) for x in label]}
    if isinstance(label, (np.integer,)):
        return int(label)
    if isinstance(label, (np.floating,)):
        return float(label)
    if label is None or isinstance(label, (str, int, float, bool)):
        return label
    raise StoreError(f"label {label!r} cannot be encoded (use str, int or tuples of them)")


def _label_from_json(obj: Any) -> Any:
    if isinstance(obj, dict):
        return tuple(_label_from_json(x) for x in obj["tuple"])
    return obj


def _value_to_json(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, (pd.Timestamp, pd.Timedelta)):
        return {"ns": int(v.value), "t": "ts" if isinstance(v, pd.Timestamp) else "td",
                "tz": str(v.tz) if isinstance(v, pd.Timestamp) and v.tz else None}
    if isinstance(v, (str, int, float, bool)):
        return v
    raise TypeError(type(v).__name__)


def _value_from_json(obj: Any) -> Any:
    if isinstance(obj, dict):
        if obj["t"] == "ts":
            ts = pd.Timestamp(obj["ns"])
            return ts.tz_localize("UTC").tz_convert(obj["tz"]) if obj["tz"] else ts
        return pd.Timedelta(obj["ns"])
    return obj


def _encode_column(name: Any, values: Any, buffers: list[bytes], offset: list[int]) -> dict:
    """One column (or index level) as a spec; numeric data goes to ``buffers``."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in _NUMPY_KINDS:
        arr = np.ascontiguousarray(np.asarray(values))
        raw = arr.tobytes()
        buffers.append(raw)
        spec = {"kind": "np", "dtype": arr.dtype.str, "off": offset[0], "len": len(raw)}
        offset[0] += len(raw)
        return spec
    if isinstance(dtype, pd.CategoricalDtype):
        cat = pd.Categorical(values)
        return {
            "kind": "cat",
            "codes": _encode_column(name, cat.codes, buffers, offset),
            "categories": _encode_column(name, cat.categories, buffers, offset),
            "ordered": bool(cat.ordered),
        }
    try:
        items = values.tolist()
        # pandas' default strings: str or NaN, both JSON as they are (the common key type)
        if not (isinstance(dtype, pd.StringDtype) and dtype.na_value is np.nan):
            items = [_value_to_json(v) for v in items]
    except TypeError as exc:
        raise StoreError(
            f"column {name!r} of dtype {dtype} holds a {exc} value, which RedisStore "
            "cannot encode (use numbers, strings, timestamps or categories)"
        ) from None
    return {"kind": "json", "dtype": str(dtype), "values": items}


def _decode_column(spec: dict, body: memoryview) -> Any:
    kind = spec["kind"]
    if kind == "np":
        dt = np.dtype(spec["dtype"])
        raw = body[spec["off"]: spec["off"] + spec["len"]]
        # copy: the buffer belongs to the Redis reply; tables must be writable values
        return np.frombuffer(raw, dtype=dt).copy()
    if kind == "cat":
        codes = _decode_column(spec["codes"], body)
        cats = _decode_column(spec["categories"], body)
        return pd.Categorical.from_codes(codes, categories=cats, ordered=spec["ordered"])
    values = [_value_from_json(v) for v in spec["values"]]
    dtype = spec["dtype"]
    if dtype == "object":
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return pd.array(values, dtype=dtype)


def _frame_spec(frame: pd.DataFrame, buffers: list[bytes], offset: list[int]) -> dict:
    index = frame.index
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    cols = frame.columns
    return {
        "nrows": len(frame),
        "multi": isinstance(index, pd.MultiIndex),
        "index_names": [_label_to_json(n) for n in index.names],
        "index": [_encode_column(lvl.name, lvl, buffers, offset) for lvl in levels],
        "labels": [_label_to_json(c) for c in cols],
        "col_multi": isinstance(cols, pd.MultiIndex),
        "col_dtype": None if isinstance(cols, pd.MultiIndex) else str(cols.dtype),
        "col_names": [_label_to_json(n) for n in cols.names],
        "columns": [_encode_column(c, frame.iloc[:, i], buffers, offset)
                    for i, c in enumerate(cols)],
    }


def _frame_from_spec(spec: dict, body: memoryview) -> pd.DataFrame:
    names = [_label_from_json(n) for n in spec["index_names"]]
    levels = [_decode_column(s, body) for s in spec["index"]]
    if spec["multi"]:
        index = pd.MultiIndex.from_arrays(levels, names=names)
    else:
        index = pd.Index(levels[0], name=names[0])
    labels = [_label_from_json(c) for c in spec["labels"]]
    data = {i: _decode_column(s, body) for i, s in enumerate(spec["columns"])}
    frame = pd.DataFrame(data, index=index, copy=False)  # the arrays are fresh copies
    col_names = [_label_from_json(n) for n in spec["col_names"]]
    if spec["col_multi"]:
        frame.columns = pd.MultiIndex.from_tuples(labels, names=col_names)
    else:
        dtype = spec.get("col_dtype") or (object if not labels else None)
        frame.columns = pd.Index(labels, name=col_names[0], dtype=dtype)
    return frame


def _pack(header: dict, buffers: list[bytes]) -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([_MAGIC, struct.pack("<I", len(head)), head, *buffers])


def _unpack(blob: bytes) -> tuple[dict, memoryview]:
    """The header and body of one value, checked: sizes within the value, a dict header."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise StoreError(f"not an rtnb value: {type(blob).__name__}, not bytes")
    blob = bytes(blob)
    if not blob.startswith(_MAGIC):
        raise StoreError("not an rtnb value (bad magic)")
    start = len(_MAGIC) + 4
    if len(blob) < start:
        raise StoreError(f"not an rtnb value: {len(blob)} bytes, shorter than a header")
    (n,) = struct.unpack_from("<I", blob, len(_MAGIC))
    if n > len(blob) - start:
        raise StoreError(f"not an rtnb value: the header claims {n} bytes, "
                         f"the value has {len(blob) - start}")
    try:
        header = json.loads(blob[start: start + n])
    except (ValueError, RecursionError) as exc:  # bad JSON or bad UTF-8
        raise StoreError(f"not an rtnb value: the header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise StoreError("not an rtnb value: the header is not a JSON object")
    return header, memoryview(blob)[start + n:]


def _column_length(spec: Any, body_len: int) -> int:
    """The number of values a column spec holds, checked against the body before any
    allocation (a value claiming 2e9 rows must not make a reader allocate 16 GB)."""
    if not isinstance(spec, dict):
        raise StoreError("not an rtnb value: a column spec is not an object")
    kind = spec.get("kind")
    if kind == "np":
        try:
            dt = np.dtype(spec["dtype"])
        except (TypeError, ValueError, KeyError):
            raise StoreError(f"not an rtnb value: bad dtype {spec.get('dtype')!r}") from None
        off, size = spec.get("off"), spec.get("len")
        if dt.kind not in _NUMPY_KINDS or dt.hasobject or dt.itemsize == 0:
            raise StoreError(f"not an rtnb value: dtype {dt} is not a numeric dtype")
        if not (type(off) is int and type(size) is int and 0 <= off and 0 <= size
                and off + size <= body_len and size % dt.itemsize == 0):
            raise StoreError(f"not an rtnb value: a column's bytes ({off}+{size}) are "
                             f"outside the {body_len} bytes of data")
        return size // dt.itemsize
    if kind == "cat":
        n = _column_length(spec.get("codes"), body_len)
        _column_length(spec.get("categories"), body_len)
        return n
    if kind == "json":
        values = spec.get("values")
        if not isinstance(values, list) or not isinstance(spec.get("dtype"), str):
            raise StoreError("not an rtnb value: a JSON column without values or dtype")
        return len(values)
    raise StoreError(f"not an rtnb value: unknown column kind {kind!r}")


def _check_frame_spec(spec: Any, body_len: int) -> dict:
    """``spec`` if every column and index level has ``nrows`` values inside the body."""
    if not isinstance(spec, dict):
        raise StoreError("not an rtnb value: the table spec is not an object")
    nrows = spec.get("nrows")
    index, columns = spec.get("index"), spec.get("columns")
    labels, names = spec.get("labels"), spec.get("index_names")
    if type(nrows) is not int or nrows < 0:
        raise StoreError(f"not an rtnb value: bad row count {nrows!r}")
    if not (isinstance(index, list) and index and isinstance(columns, list)
            and isinstance(labels, list) and len(labels) == len(columns)
            and isinstance(names, list) and len(names) == len(index)
            and isinstance(spec.get("col_names"), list) and spec["col_names"]):
        raise StoreError("not an rtnb value: the table spec's index or columns are malformed")
    for col in [*index, *columns]:
        n = _column_length(col, body_len)
        if n != nrows:
            raise StoreError(f"not an rtnb value: a column holds {n} values, "
                             f"the table claims {nrows} rows")
    return spec


def _decoding(what: str, build: Any, *args: Any) -> Any:
    """Run ``build`` on checked specs; anything it still refuses is a StoreError."""
    try:
        return build(*args)
    except StoreError:
        raise
    except Exception as exc:  # pandas/numpy refusing a spec the checks let through
        raise StoreError(f"not an rtnb {what}: {type(exc).__name__}: {exc}") from None


def encode_frame(frame: pd.DataFrame) -> bytes:
    """A DataFrame as compact bytes (dtypes, index and column labels kept, no pickle).

    >>> df = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="k"))
    >>> decode_frame(encode_frame(df)).equals(df)
    True
    """
    buffers: list[bytes] = []
    spec = _frame_spec(frame, buffers, [0])
    return _pack({"frame": spec}, buffers)


def decode_frame(blob: bytes) -> pd.DataFrame:
    """The DataFrame encoded by :func:`encode_frame`.

    >>> decode_frame(encode_frame(pd.DataFrame({"n": [1, 2]}))).n.tolist()
    [1, 2]
    """
    header, body = _unpack(blob)
    spec = _check_frame_spec(header.get("frame"), len(body))
    return _decoding("frame", _frame_from_spec, spec, body)


def _ns(ts: Any) -> int | None:
    return None if ts is None or pd.isna(ts) else int(pd.Timestamp(ts).as_unit("ns").value)


def _td_ns(td: Any) -> int | None:
    return None if td is None or pd.isna(td) else int(pd.Timedelta(td).as_unit("ns").value)


def encode_snapshot(snapshot: Snapshot, *, store_version: int = 0) -> bytes:
    """A :class:`rtnb.Snapshot` as one compact value (what ``RedisStore`` writes).

    >>> snap = Snapshot(metric="orders", table=pd.DataFrame({"count": [3]}, index=["FR"]),
    ...                 window=pd.Timedelta("60s"), watermark=pd.Timestamp("2024-01-01 09:00"),
    ...                 newest_event=pd.Timestamp("2024-01-01 09:00"),
    ...                 processed_at=pd.Timestamp("2024-01-01 09:00:02"),
    ...                 counters=Counters(received=3, accepted=3), version=7)
    >>> back = decode_snapshot(encode_snapshot(snap))
    >>> back.metric, back.version, back.data_age, back.table.loc["FR", "count"]
    ('orders', 7, Timedelta('0 days 00:00:02'), np.int64(3))
    """
    buffers: list[bytes] = []
    offset = [0]
    header = {
        "metric": snapshot.metric,
        "window": _td_ns(snapshot.window),
        "watermark": _ns(snapshot.watermark),
        "newest_event": _ns(snapshot.newest_event),
        "processed_at": _ns(snapshot.processed_at),
        "counters": snapshot.counters.as_dict(),
        "version": int(snapshot.version),
        "store_version": int(store_version),
        "table": _frame_spec(snapshot.table, buffers, offset),
        "series": None if snapshot.series is None
        else _frame_spec(snapshot.series, buffers, offset),
    }
    if snapshot.overall is not None:  # only then: snapshots without it keep their bytes
        overall = snapshot.overall
        header["overall"] = _frame_spec(overall.to_frame(name=0), buffers, offset)
        header["overall_name"] = _label_to_json(overall.name)
    return _pack(header, buffers)


def _snapshot_from(header: dict, body: memoryview) -> Snapshot:
    def ts(v: int | None) -> pd.Timestamp | None:
        if v is not None and type(v) is not int:
            raise StoreError(f"not an rtnb snapshot: a time of {v!r}, not nanoseconds")
        return None if v is None else pd.Timestamp(v, unit="ns")

    return Snapshot(
        metric=header["metric"],
        table=_frame_from_spec(header["table"], body),
        window=None if header["window"] is None else pd.Timedelta(header["window"], unit="ns"),
        watermark=ts(header["watermark"]),
        newest_event=ts(header["newest_event"]),
        processed_at=ts(header["processed_at"]),
        counters=Counters(**header["counters"]),
        series=None if header["series"] is None else _frame_from_spec(header["series"], body),
        version=header["version"],
        overall=None if header.get("overall") is None else
        _frame_from_spec(header["overall"], body).iloc[:, 0].rename(
            _label_from_json(header.get("overall_name"))),
    )


def decode_snapshot(blob: bytes) -> Snapshot:
    """The :class:`rtnb.Snapshot` encoded by :func:`encode_snapshot`.

    Every size is checked before anything is allocated; whatever the bytes, the only
    error is a :class:`rtnb.StoreError`:

    >>> decode_snapshot(b"not a snapshot")
    Traceback (most recent call last):
    ...
    rtnb._errors.StoreError: not an rtnb value (bad magic)
    """
    header, body = _unpack(blob)
    _check_frame_spec(header.get("table"), len(body))
    for part in ("series", "overall"):
        if header.get(part) is not None:
            _check_frame_spec(header[part], len(body))
    return _decoding("snapshot", _snapshot_from, header, body)


# The JSON form the HTTP server sends lives next door (same conventions, no bytes):
from ._codec_json import overall_from_document, snapshot_document, snapshot_json, table_from_document, time_ms  # noqa: E402, E501
