"""The frame/snapshot codec: round trips with dtypes and index, compact, no pickle."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from rtnb import Counters, Snapshot, StoreError
from rtnb.codec import decode_frame, decode_snapshot, encode_frame, encode_snapshot
from tests.conftest import assert_same

T0 = pd.Timestamp("2024-01-01 09:00")


def snap(i: int, **kw) -> Snapshot:
    table = pd.DataFrame({"count": np.arange(2, dtype="int64") + i,
                          "mean": np.linspace(1.0, 2.0, 2) * i},
                         index=pd.Index(["FR", "DE"], name="country"))
    return Snapshot(metric="orders", table=table, window=pd.Timedelta("60s"),
                    watermark=T0 + pd.Timedelta(seconds=i - 1),
                    newest_event=T0 + pd.Timedelta(seconds=i),
                    processed_at=T0 + pd.Timedelta(seconds=i, milliseconds=500),
                    counters=Counters(received=i, accepted=i), version=i, **kw)


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"n": [1, 2], "x": [0.5, np.nan], "ok": [True, False]},
                 index=pd.Index(["a", "b"], name="k")),
    pd.DataFrame({"n": pd.array([1, None], dtype="Int64"),
                  "s": pd.Series(["u", None], dtype="str"),
                  "c": pd.Categorical(["lo", "hi"], categories=["lo", "hi"], ordered=True),
                  "t": pd.to_datetime(["2024-01-01", None]).as_unit("ns"),
                  "d": pd.to_timedelta(["1s", "2min"]).as_unit("ns"),
                  "o": np.array([1, "x"], dtype=object),
                  "z": np.array([np.nan, None], dtype=object)},
                 index=pd.MultiIndex.from_tuples([("FR", 1), ("DE", 2)], names=["c", "n"])),
    pd.DataFrame({("amount", "sum"): [1.0], ("amount", "max"): [2.0]}, index=[7]),
    pd.DataFrame({"count": pd.Series([], dtype="int64")},
                 index=pd.Index([], dtype="str", name="country")),
    pd.DataFrame([[1, 2.0]], columns=pd.Index(["count", "sum"], dtype=object)),
    pd.DataFrame([[1, 2.0]], columns=pd.Index([3, 4], name="level")),
])
def test_frames_round_trip_with_dtypes_and_index(frame):
    pd.testing.assert_frame_equal(decode_frame(encode_frame(frame)), frame)


def test_snapshot_round_trips_with_series_and_none_times():
    series = pd.DataFrame({"count": [1, 2]},
                          index=pd.DatetimeIndex(["2024-01-01", "2024-01-01 00:01"]).as_unit("ns"))
    s = snap(3, series=series)
    assert_same(decode_snapshot(encode_snapshot(s)), s)
    empty = Snapshot(metric="m", table=pd.DataFrame({"count": pd.Series([], dtype="int64")}),
                     window=None, watermark=None, newest_event=None, processed_at=T0)
    back = decode_snapshot(encode_snapshot(empty))
    assert back.newest_event is None and back.window is None and back.data_age is None


def test_encoding_refuses_python_objects_with_the_column_name():
    frame = pd.DataFrame({"weird": [object()]})
    with pytest.raises(StoreError, match="column 'weird'"):
        encode_frame(frame)


def test_encoding_is_compact():
    # 100 keys x 5 float aggregates: raw floats plus a small header, far below JSON text
    frame = pd.DataFrame(np.random.default_rng(0).random((100, 5)),
                         columns=["count", "sum", "mean", "min", "max"],
                         index=pd.Index([f"k{i}" for i in range(100)], name="key"))
    assert len(encode_frame(frame)) < 100 * 5 * 8 + 2500
    assert len(encode_frame(frame)) < len(frame.to_json())




def test_the_codec_imports_no_client_library():
    # the HTTP server and the event log use the codec without the Redis client
    import subprocess
    import sys

    code = "import sys, rtnb.codec; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


# ------------------------------------------------------------------ untrusted bytes

import json  # noqa: E402
import struct  # noqa: E402
import tracemalloc  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_GOOD = encode_snapshot(snap(3, series=pd.DataFrame(
    {"count": [1, 2]}, index=pd.DatetimeIndex(["2024-01-01", "2024-01-02"]).as_unit("ns"))))


def _with_header(blob: bytes, edit) -> bytes:
    (n,) = struct.unpack_from("<I", blob, 5)
    header = json.loads(blob[9: 9 + n])
    edit(header)
    head = json.dumps(header).encode()
    return blob[:5] + struct.pack("<I", len(head)) + head + blob[9 + n:]


def _decode_within_bound(blob: bytes, decode) -> None:
    """Decoding ``blob`` raises StoreError (or succeeds) and never allocates much more
    than the value's own size."""
    tracemalloc.start()
    try:
        decode(blob)
    except StoreError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 2_000_000 + 50 * len(blob), peak


def test_a_value_claiming_two_billion_rows_is_refused_before_allocating():
    def claim(header):
        header["table"]["nrows"] = 2_000_000_000
        header["table"]["columns"][0]["len"] = 16_000_000_000
    blob = _with_header(_GOOD, claim)
    assert len(blob) < 2000
    with pytest.raises(StoreError, match="not an rtnb value"):
        decode_snapshot(blob)
    _decode_within_bound(blob, decode_snapshot)


@pytest.mark.parametrize("edit", [
    lambda h: h["table"].update(nrows=5),                      # rows disagree with columns
    lambda h: h["table"]["columns"][0].update(dtype="O"),      # object dtype: no pickle
    lambda h: h["table"]["columns"][0].update(kind="pickle"),
    lambda h: h["table"]["index"][0].update(values=[1]),       # an index level too short
    lambda h: h["table"]["columns"][0].update(off=-8),
    lambda h: h.update(counters={"received": -1}),
    lambda h: h.update(counters={"bogus": 1}),
    lambda h: h.update(watermark="noon"),
    lambda h: h.pop("table"),
    lambda h: h["table"].update(labels=[{"x": 1}, "mean"]),
])
def test_malformed_headers_are_one_store_error(edit):
    with pytest.raises(StoreError, match="not an rtnb"):
        decode_snapshot(_with_header(_GOOD, edit))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_bytes_only_ever_raise_store_error(data):
    choice = data.draw(st.sampled_from(["random", "flip", "truncate", "splice"]))
    if choice == "random":
        blob = data.draw(st.binary(max_size=300))
        blob = data.draw(st.sampled_from([blob, b"RTNB1" + blob]))
    elif choice == "flip":
        pos = data.draw(st.lists(st.integers(0, len(_GOOD) - 1), min_size=1, max_size=8))
        arr = bytearray(_GOOD)
        for p in pos:
            arr[p] = data.draw(st.integers(0, 255))
        blob = bytes(arr)
    elif choice == "truncate":
        blob = _GOOD[: data.draw(st.integers(0, len(_GOOD)))]
    else:
        a, b = sorted(data.draw(st.tuples(st.integers(0, len(_GOOD)), st.integers(0, len(_GOOD)))))
        blob = _GOOD[:a] + data.draw(st.binary(max_size=40)) + _GOOD[b:]
    for decode in (decode_snapshot, decode_frame):
        try:
            decode(blob)
        except StoreError:
            pass


def test_a_snapshot_with_an_overall_row_round_trips():
    overall = pd.Series({"orders": 12.0, "conversion": 0.25}, name="overall")
    s = snap(4, overall=overall)
    back = decode_snapshot(encode_snapshot(s))
    pd.testing.assert_series_equal(back.overall, overall)
    assert decode_snapshot(encode_snapshot(snap(4))).overall is None


def test_a_metrics_overall_row_survives_redis_and_http(redis_server):
    """Snapshot.overall (a Metric's answer over every key: KpiTile(combine="overall"))
    read back from a real redis-server and from the real HTTP server's JSON equals the
    one the aggregate made."""
    import httpx

    import rtnb
    from rtnb.codec import overall_from_document
    from rtnb.store.redis import RedisStore

    m = rtnb.Metric(name="occupancy", value=("occupied", "capacity"), by="lot", window="1h",
                    derived={"rate": "occupied_sum / capacity_sum"})
    ts = pd.to_datetime(["2024-01-01 09:00", "2024-01-01 09:10", "2024-01-01 09:20"]).as_unit("ns")
    made = m.aggregate().update(pd.DataFrame({"ts": ts, "lot": ["a", "b", "b"], "occupied": [9.0, 1.0, 1.0],
                                              "capacity": [10.0, 10.0, 10.0]})).snapshot()
    assert made.overall is not None and made.overall["rate"] == pytest.approx(11 / 30)
    RedisStore(redis_server.url, prefix="ov").put(made)
    back = RedisStore(redis_server.url, prefix="ov").latest("occupancy")  # another client
    pd.testing.assert_series_equal(back.overall, made.overall)
    store = rtnb.MemoryStore()
    store.put(made)
    with rtnb.serve(store, port=0) as srv:
        doc = httpx.get(srv.url + "/metrics/occupancy").json()
    pd.testing.assert_series_equal(overall_from_document(doc), made.overall, check_dtype=False)
    store.put(dataclasses.replace(snap(1), metric="plain"))  # a snapshot without one has no "overall" key
    with rtnb.serve(store, port=0) as srv:
        assert "overall" not in httpx.get(srv.url + "/metrics/plain").json()
