"""Replay of a DataFrame / CSV / Parquet file: order, speed, disorder, reads, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtnb
from rtnb import ParameterError, SourceError, UnknownNameError
from tests.conftest import require

T = pd.Timestamp("2024-01-01")
FAR = pd.Timestamp("2100-01-01")


def orders(n: int = 12, seed: int = 0, shuffle: bool = True) -> pd.DataFrame:
    """n order lines over about an hour, with ties, in shuffled order."""
    rng = np.random.default_rng(seed)
    minutes = np.sort(rng.integers(0, 60, n))
    df = pd.DataFrame(
        {
            "when": pd.Timestamp("2011-09-01 08:00") + pd.to_timedelta(minutes, unit="min"),
            "country": rng.choice(["UK", "FR", "DE"], n),
            "amount": rng.gamma(2.0, 10.0, n).round(2),
            "line": np.arange(n),
        }
    )
    return df.sample(frac=1, random_state=seed).reset_index(drop=True) if shuffle else df


def read_all(src: rtnb.Replay, start: pd.Timestamp = T) -> pd.DataFrame:
    return src.read(start, FAR)


# -- order and speed ---------------------------------------------------------------------


def test_sorted_mode_emits_in_event_time_order_keeping_file_order_on_ties():
    df = orders(40)
    out = read_all(rtnb.replay(df, time_col="when", speed=60))
    assert len(out) == len(df)
    assert out["when"].is_monotonic_increasing
    # a stable sort: rows with the same time keep the order they had in the data
    expected = df.sort_values("when", kind="stable")["line"].tolist()
    assert out["line"].tolist() == expected
    assert out["arrival"].is_monotonic_increasing
    assert (out["ts"] == out["arrival"]).all()  # in sorted mode nothing is late
    assert out["ts"].dtype == "datetime64[ns]" and out["arrival"].dtype == "datetime64[ns]"


@pytest.mark.parametrize("speed", [1, 60, 3600, 2.5])
def test_arrival_spacing_is_data_spacing_divided_by_speed(speed):
    df = orders(30, shuffle=False)
    out = read_all(rtnb.replay(df, time_col="when", speed=speed))
    data_gaps = out["when"].diff().dropna().dt.total_seconds().to_numpy()
    clock_gaps = out["arrival"].diff().dropna().dt.total_seconds().to_numpy()
    np.testing.assert_allclose(clock_gaps, data_gaps / speed, atol=1e-9)
    assert out["arrival"].iloc[0] == T  # anchored at the start of the first read
    assert out["arrival"].iloc[-1] - T == (out["when"].iloc[-1] - out["when"].iloc[0]) / speed


def test_whole_number_speed_is_exact_to_the_nanosecond():
    df = pd.DataFrame({"ts": [pd.Timestamp("2013-01-01"), pd.Timestamp("2013-12-31 23:59:59.000000007")]})
    src = rtnb.replay(df, speed=1)
    out = read_all(src)
    assert out["arrival"].iloc[1] - out["arrival"].iloc[0] == df["ts"].iloc[1] - df["ts"].iloc[0]
    assert src.duration == df["ts"].iloc[1] - df["ts"].iloc[0] == src.span


def test_rebase_puts_ts_on_the_clock_and_keeps_the_original_column():
    df = orders(10)
    out = read_all(rtnb.replay(df, time_col="when", speed=60))
    t0 = df["when"].min()
    assert ((out["ts"] - T) == (out["when"] - t0) / 60).all()
    assert sorted(out["when"]) == sorted(df["when"])  # unchanged values
    kept = read_all(rtnb.replay(df, time_col="when", speed=60, rebase=False))
    assert (kept["ts"] == kept["when"]).all()  # the data's own times
    assert (kept["arrival"] == out["arrival"]).all()  # arrivals are on the clock either way


def test_data_age_is_honest_under_a_simclock_with_a_runner():
    df = orders(50, shuffle=False)
    src = rtnb.replay(df, time_col="when", speed=600)
    clock = rtnb.SimClock(start="2024-05-01")
    runner = rtnb.Runner(src, clock=clock, tick="1s")
    batches = runner.stream.sink_to_list()
    runner.run(src.duration + pd.Timedelta("1s"))
    got = pd.concat(batches)
    assert len(got) == len(df) and src.exhausted and src.position == len(df)
    assert src.anchor == pd.Timestamp("2024-05-01")
    # each batch is read at the end of its tick: data age within one tick, never negative
    for b in batches:
        age = b["arrival"].max().ceil("s") - b["ts"].max()
        assert pd.Timedelta(0) <= age <= pd.Timedelta("1s")


# -- the same rows whatever the reads ----------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=0, max_value=400_000), min_size=0, max_size=12),
    sort=st.booleans(),
    loop=st.booleans(),
)
def test_any_split_into_reads_gives_the_same_rows(cuts, sort, loop):
    df = orders(25, seed=3)
    edges = [T] + sorted(T + pd.Timedelta(milliseconds=c) for c in cuts) + [T + pd.Timedelta("400s")]

    def make():
        return rtnb.replay(df, time_col="when", speed=30, sort=sort, loop=loop)

    whole = make().read(edges[0], edges[-1])
    src = make()
    parts = [src.read(a, b) for a, b in zip(edges[:-1], edges[1:])]
    pieces = pd.concat(parts)
    pd.testing.assert_frame_equal(pieces, whole)
    assert src.position == len(whole)


def test_reads_before_an_explicit_start_are_empty_and_typed():
    src = rtnb.replay(orders(5), time_col="when", start="2024-01-01 00:10")
    early = src.read(T, T + pd.Timedelta("10min"))
    assert early.empty and list(early.columns[:2]) == ["ts", "arrival"]
    assert early["ts"].dtype == "datetime64[ns]"
    assert src.position == 0 and not src.exhausted
    assert len(src.read(T + pd.Timedelta("10min"), FAR)) == 5


# -- declared disorder -------------------------------------------------------------------


def test_declared_disorder_follows_the_running_maximum():
    times = pd.to_datetime(
        ["2020-01-01 10:00", "2020-01-01 10:05", "2020-01-01 10:02", "2020-01-01 09:58",
         "2020-01-01 10:06", "2020-01-01 10:06", "2020-01-01 10:01"]
    )
    df = pd.DataFrame({"t": times, "row": range(len(times))})
    out = read_all(rtnb.replay(df, time_col="t", speed=60, sort=False))
    assert out["row"].tolist() == list(range(len(times)))  # file order
    newest = pd.DatetimeIndex(times.to_series().cummax())
    assert out["arrival"].tolist() == list(T + (newest - times[0]) / 60)
    # late by exactly as much as the row was out of order in the data, on the clock
    lateness = out["arrival"] - out["ts"]
    assert lateness.tolist() == list((newest - times) / 60)
    assert lateness.iloc[2] == pd.Timedelta("3min") / 60
    # a row older than the first one is stamped before the anchor, still arrives after it
    assert out["ts"].iloc[3] == T - pd.Timedelta("2min") / 60 and out["arrival"].iloc[3] >= T
    assert out["arrival"].is_monotonic_increasing


def test_sorted_and_disordered_replays_give_the_same_rows():
    df = orders(30, seed=7)
    a = read_all(rtnb.replay(df, time_col="when", speed=10, sort=True))
    b = read_all(rtnb.replay(df, time_col="when", speed=10, sort=False))
    cols = list(df.columns)
    pd.testing.assert_frame_equal(
        a[cols].sort_values("line").reset_index(drop=True),
        b[cols].sort_values("line").reset_index(drop=True),
    )
    # disordered: ts measured from the first row of the file, never after its arrival
    assert ((b["ts"] - T) == (b["when"] - df["when"].iloc[0]) / 10).all()
    assert (b["arrival"] >= b["ts"]).all() and (b["arrival"] > b["ts"]).any()


# -- inputs: DataFrame, CSV, Parquet -----------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.xz", ".parquet"])
def test_files_and_dataframes_replay_the_same(tmp_path, suffix):
    df = orders(20)
    path = tmp_path / f"orders{suffix}"
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
            have = True
        except ImportError:
            have = False
        require(have, "pyarrow", "reading Parquet files needs it (rtnb[parquet])")
        df.to_parquet(path)
    else:
        df.to_csv(path, index=False)
    from_df = read_all(rtnb.replay(df, time_col="when", speed=60, sort=False))
    from_file = rtnb.replay(path, time_col="when", speed=60, sort=False)
    assert from_file.name == "orders"
    pd.testing.assert_frame_equal(read_all(from_file), from_df, check_dtype=False)
    assert read_all(from_file)["when"].dtype == "datetime64[ns]"
    pd.testing.assert_frame_equal(
        read_all(rtnb.replay(str(path), time_col="when", speed=60, sort=False)), from_df,
        check_dtype=False,
    )


def test_time_columns_of_any_unit_or_zone_become_naive_utc_ns():
    local = pd.date_range("2024-03-31 00:30", periods=3, freq="1h", tz="Europe/London")
    df = pd.DataFrame({"t": local.as_unit("s"), "v": [1.0, 2.0, 3.0]})
    out = read_all(rtnb.replay(df, time_col="t"))
    assert out["t"].dtype == "datetime64[ns]"
    # 00:30 GMT, then 02:30 BST = 01:30 UTC, 03:30 BST = 02:30 UTC: one hour apart in UTC
    assert out["t"].tolist() == list(pd.to_datetime(["2024-03-31 00:30", "2024-03-31 01:30", "2024-03-31 02:30"]))


def test_string_times_with_mixed_formats_are_parsed():
    df = pd.DataFrame({"t": ["2024-01-01 09:00", "2024-01-01T09:00:30Z", "2024-01-01"], "v": [1, 2, 3]})
    out = read_all(rtnb.replay(df, time_col="t", sort=True))
    assert out["v"].tolist() == [3, 1, 2]


def test_columns_named_ts_or_arrival_are_kept_as_originals():
    df = pd.DataFrame({"ts": pd.to_datetime(["2020-01-01", "2020-01-02"]),
                       "arrival": pd.to_datetime(["2020-01-03", "2020-01-04"])})
    out = read_all(rtnb.replay(df, speed=86400))
    assert list(out.columns) == ["ts", "arrival", "ts_original", "arrival_original"]
    assert out["ts_original"].tolist() == df["ts"].tolist()
    assert out["arrival_original"].tolist() == df["arrival"].tolist()
    plain = read_all(rtnb.replay(df, rebase=False))
    assert plain["ts"].tolist() == df["ts"].tolist() and "ts_original" not in plain


# -- progress, loop, attributes ----------------------------------------------------------


def test_progress_position_exhausted_and_data_time():
    df = pd.DataFrame({"ts": pd.date_range("2020-01-01", periods=10, freq="1min")})
    src = rtnb.replay(df, speed=60)
    assert (src.rows, src.position, src.exhausted, src.anchor) == (10, 0, False, None)
    assert src.data_time(T) is None
    src.read(T, T + pd.Timedelta("3500ms"))
    assert src.position == 4 and not src.exhausted
    assert src.data_time(T + pd.Timedelta("3500ms")) == pd.Timestamp("2020-01-01 00:03:30")
    src.read(T + pd.Timedelta("3500ms"), T + pd.Timedelta("10s"))
    assert src.position == 10 and src.exhausted
    assert src.duration == pd.Timedelta("9s") and src.span == pd.Timedelta("9min")
    assert "position=10" in repr(src)


def test_loop_plays_again_with_increasing_times_and_a_cycle_column():
    df = pd.DataFrame({"ts": pd.date_range("2020-01-01", periods=3, freq="10s"), "v": [1, 2, 3]})
    src = rtnb.replay(df, loop=True)  # period: span 20 s + median step 10 s = 30 s
    out = src.read(T, T + pd.Timedelta("90s"))
    assert out["v"].tolist() == [1, 2, 3] * 3
    assert out["cycle"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert out["ts"].is_monotonic_increasing and out["ts"].is_unique
    assert out["ts"].diff().dropna().eq(pd.Timedelta("10s")).all()
    assert src.position == 9 and not src.exhausted
    plain = rtnb.replay(df, loop=True, rebase=False).read(T, T + pd.Timedelta("60s"))
    assert plain["ts"].iloc[3] == pd.Timestamp("2020-01-01 00:00:30")  # shifted a data period


def test_keys_measures_and_id_are_inferred_or_given():
    df = orders(10)
    src = rtnb.replay(df, time_col="when")
    assert isinstance(src, rtnb.Source)
    assert src.keys == ("country",) and src.measures == ("amount", "line") and src.id_col is None
    src = rtnb.replay(df, time_col="when", keys="country", measures=["amount"], id_col="line", name="shop")
    assert (src.keys, src.measures, src.id_col, src.name) == (("country",), ("amount",), "line", "shop")
    many = pd.DataFrame({"ts": pd.date_range("2020", periods=300, freq="s"), "text": [f"x{i}" for i in range(300)]})
    assert rtnb.replay(many).keys == ()  # 300 distinct strings are text, not a dimension


# -- bad input -----------------------------------------------------------------------------


def test_unknown_time_col_lists_the_columns():
    with pytest.raises(UnknownNameError) as err:
        rtnb.replay(orders(3), time_col="date")
    assert err.value.param == "time_col" and err.value.value == "date"
    assert err.value.choices == ["when", "country", "amount", "line"]
    with pytest.raises(ParameterError, match="time_col=None.*'when', 'country'"):
        rtnb.replay(orders(3).assign(when=lambda d: d["when"].astype(str)))


def test_a_missing_file_is_a_source_error_naming_the_path(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(SourceError, match=f"data='{path}' cannot be read: no such file"):
        rtnb.replay(path)
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(SourceError, match="it is a directory"):
        rtnb.replay(tmp_path / "dir.csv")


def test_an_unreadable_file_is_a_source_error_with_path_and_reason(tmp_path):
    bad_gz = tmp_path / "orders.csv.gz"
    bad_gz.write_bytes(b"this is not gzip")
    with pytest.raises(SourceError, match=r"data='.*orders\.csv\.gz' cannot be read: .+") as err:
        rtnb.replay(bad_gz)
    assert err.value.__cause__ is not None
    bad_pq = tmp_path / "orders.parquet"
    bad_pq.write_bytes(b"PAR1 not really")
    with pytest.raises(SourceError, match=r"orders\.parquet' cannot be read: .+"):
        rtnb.replay(bad_pq)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SourceError, match="empty.csv' cannot be read"):
        rtnb.replay(empty)


def test_unsupported_file_type_names_the_choices(tmp_path):
    path = tmp_path / "orders.xlsx"
    path.write_bytes(b"")
    with pytest.raises(ParameterError) as err:
        rtnb.replay(path)
    assert err.value.param == "data" and ".xlsx" in str(err.value)
    assert ".csv" in err.value.choices and ".parquet" in err.value.choices
    with pytest.raises(ParameterError, match="data='list'"):
        rtnb.replay([1, 2, 3])


@pytest.mark.parametrize("speed", [0, -1, float("nan"), float("inf"), True, "fast", None])
def test_speed_must_be_a_positive_number(speed):
    with pytest.raises(ParameterError) as err:
        rtnb.replay(orders(3), time_col="when", speed=speed)
    assert err.value.param == "speed"


def test_unparsable_and_missing_times_name_the_column_and_rows():
    df = pd.DataFrame({"t": ["2024-01-01 09:00", "soon", "2024-01-01 09:02", "later"], "v": range(4)})
    with pytest.raises(SourceError, match=r"time_col='t': 2 values are not dates and times, e\.g\. row 1: 'soon', row 3: 'later'"):
        rtnb.replay(df, time_col="t")
    gaps = pd.DataFrame({"t": pd.to_datetime(["2024-01-01", None, "2024-01-02"]), "v": range(3)})
    with pytest.raises(SourceError, match=r"time_col='t': 1 rows have no time, e\.g\. row 1"):
        rtnb.replay(gaps, time_col="t")
    with pytest.raises(ParameterError, match=r"time_col='v' is invalid: holds numbers \(int64\)"):
        rtnb.replay(df, time_col="v")


def test_other_bad_parameters():
    df = orders(3)
    with pytest.raises(ParameterError, match="sort='yes'"):
        rtnb.replay(df, time_col="when", sort="yes")
    with pytest.raises(ParameterError, match="start='soonish'"):
        rtnb.replay(df, time_col="when", start="soonish")
    with pytest.raises(UnknownNameError, match="keys='city'"):
        rtnb.replay(df, time_col="when", keys=["city"])
    with pytest.raises(UnknownNameError, match="id_col='order_id'"):
        rtnb.replay(df, time_col="when", id_col="order_id")
    with pytest.raises(ParameterError, match="loop=True.*duplicates"):
        rtnb.replay(df, time_col="when", id_col="line", loop=True)
    with pytest.raises(ParameterError, match="loop=True.*no rows"):
        rtnb.replay(df.iloc[:0], time_col="when", loop=True)
    src = rtnb.replay(df, time_col="when")
    with pytest.raises(ParameterError, match="end=.*is before start"):
        src.read(T, T - pd.Timedelta("1s"))


def test_an_empty_frame_replays_nothing_and_is_exhausted():
    src = rtnb.replay(orders(3).iloc[:0], time_col="when")
    out = src.read(T, FAR)
    assert out.empty and src.exhausted and src.rows == 0
    assert out["ts"].dtype == "datetime64[ns]"


def test_settings_are_read_only_and_batches_do_not_share_state():
    src = rtnb.replay(orders(5), time_col="when", speed=60)
    with pytest.raises(AttributeError):
        src.speed = 1  # offsets were computed from it
    first = src.read(T, FAR)
    first.loc[first.index[0], "amount"] = -1.0
    first["ts"] = T
    again = src.read(T, FAR)
    assert (again["amount"] > 0).all() and again["ts"].is_unique


@pytest.mark.parametrize("loop, rebase", [(False, True), (True, True), (False, False)])
def test_columns_declare_exactly_the_batch_columns(loop, rebase):
    df = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=5, freq="s"),
                       "country": list("ababa"), "amount": [1.0, 2, 3, 4, 5]})
    src = rtnb.replay(df, loop=loop, rebase=rebase, start="2024-01-01")
    batch = src.read(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:00:10"))
    assert tuple(batch.columns) == src.columns
