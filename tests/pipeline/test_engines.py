"""The window-engine protocol: export → load round-trips and merges of partials, every kind.

Kinds and aggregates are found by introspection (``engines.ENGINES``, every subclass of
``WindowEngine``, ``AGGREGATES``), so a new engine or aggregate is covered or fails here.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import rtnb
from rtnb.pipeline import engines
from rtnb.pipeline._buckets import AGGREGATES
from rtnb.pipeline.config import KINDS
from rtnb.pipeline.engines import WindowEngine, state_from_bytes, state_to_bytes

T0 = pd.Timestamp("2024-01-01")
SETTINGS = settings(max_examples=40, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# the parameters each kind takes; a kind without an entry fails test_every_kind_is_covered
PARAMS = {
    "exact": st.fixed_dictionaries({"window": st.sampled_from(["3s", "10s"])}),
    "bucketed": st.fixed_dictionaries({"window": st.sampled_from(["10s", "30s"]),
                                       "resolution": st.sampled_from(["1s", "5s"])}),
    "tumbling": st.fixed_dictionaries({"window": st.sampled_from(["5s", "10s"])}),
    "sliding": st.fixed_dictionaries({"window": st.sampled_from(["10s", "6s"]),
                                      "every": st.sampled_from(["2s"])}),
    "session": st.fixed_dictionaries({"gap": st.sampled_from(["1s", "3s"])}),
}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_kind_is_covered():
    concrete = {c.kind for c in _subclasses(WindowEngine) if c.kind}
    assert concrete == set(engines.ENGINES) == set(KINDS) == set(PARAMS)


@st.composite
def configs(draw):
    kind = draw(st.sampled_from(sorted(engines.ENGINES)))
    cfg = {"kind": kind, **draw(PARAMS[kind])}
    cfg["aggs"] = tuple(draw(st.lists(st.sampled_from(AGGREGATES), min_size=1, max_size=4, unique=True)))
    cfg["value"] = draw(st.sampled_from(["v", ("v", "w")]))
    cfg["by"] = draw(st.sampled_from([None, "k", ("k", "k2")]))
    return cfg


@st.composite
def events(draw, disorder: bool):
    n = draw(st.integers(1, 80))
    gaps = np.array(draw(st.lists(st.integers(0, 1500), min_size=n, max_size=n)))
    delay = np.array(draw(st.lists(st.integers(0, 4000), min_size=n, max_size=n))) if disorder else 0
    t = np.cumsum(gaps) - delay + 10_000
    keys = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n))
    vals = draw(st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False), min_size=n, max_size=n))
    return pd.DataFrame({"ts": (T0 + pd.to_timedelta(t, unit="ms")).astype("datetime64[ns]"),
                         "k": keys, "k2": draw(st.lists(st.sampled_from([1, 2]), min_size=n, max_size=n)),
                         "v": vals, "w": np.arange(n, dtype=float), "id": np.arange(n) % max(n - 3, 1)})


def _batches(draw, df):
    cuts = sorted(set(draw(st.lists(st.integers(1, max(len(df) - 1, 1)), max_size=5))))
    bounds = [0, *cuts, len(df)]
    return [df.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _plain_roundtrip(state: dict) -> dict:
    """Through JSON + .npz, as a checkpoint would: proves the state is plain data."""
    arrays = state["arrays"]
    assert all(isinstance(a, np.ndarray) and a.dtype != object for a in arrays.values())
    head = json.loads(json.dumps({k: v for k, v in state.items() if k not in ("arrays", "engine")}))
    head["arrays"] = {k: np.array(v) for k, v in arrays.items()}
    head["engine"] = state_from_bytes(state_to_bytes(state["engine"]))
    return head


def _answers(agg: rtnb.Rolling):
    out = [agg.value, agg.counters, agg.newest_event]
    if agg._engine.closes:
        out.append(agg.closed_windows())
    if agg._engine.has_buckets:
        out.append(agg.series())
    return out


def _assert_same(a, b, **tol):
    for x, y in zip(a, b, strict=True):
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, **tol)
        else:
            assert x == y


@SETTINGS
@given(configs(), st.data(), st.sampled_from(["0s", "2s"]), st.booleans())
def test_export_then_load_answers_exactly_the_same_now_and_later(cfg, data, lateness, ids):
    df = data.draw(events(disorder=True))
    batches = _batches(data.draw, df)
    cut = data.draw(st.integers(0, len(batches)))
    opts = dict(cfg, lateness=lateness, keep_closed=10_000, id_col="id" if ids else None)
    agg = rtnb.Rolling(**opts)
    for b in batches[:cut]:
        agg.update(b)
    back = rtnb.Rolling.from_state(_plain_roundtrip(agg.export_state()))
    _assert_same(_answers(back), _answers(agg), check_exact=True)
    for b in batches[cut:]:
        agg.update(b)
        back.update(b)
        _assert_same(_answers(back), _answers(agg), check_exact=True)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_index(kind="stable") if len(frame) else frame


@SETTINGS
@given(configs(), st.data())
def test_merge_of_partials_over_any_split_equals_the_single_run(cfg, data):
    df = data.draw(events(disorder=False))  # in event-time order: no partial sees a late row
    side = np.array(data.draw(st.lists(st.booleans(), min_size=len(df), max_size=len(df))))
    opts = dict(cfg, keep_closed=10_000)
    whole, a, b = rtnb.Rolling(**opts), rtnb.Rolling(**opts), rtnb.Rolling(**opts)
    for part in _batches(data.draw, df):
        whole.update(part)
    for agg, rows in ((a, df[side]), (b, df[~side])):
        for part in _batches(data.draw, rows) if len(rows) else []:
            agg.update(part)
    merged = a + b
    assert merged.counters == whole.counters and merged.newest_event == whole.newest_event
    tol = dict(rtol=1e-9, atol=1e-6, check_dtype=False)
    pd.testing.assert_frame_equal(_sorted(merged.value), _sorted(whole.value), **tol)
    if whole._engine.closes:
        pd.testing.assert_frame_equal(_sorted(merged.closed_windows()), _sorted(whole.closed_windows()), **tol)


def test_a_state_from_another_kind_or_version_is_refused():
    ts = pd.to_datetime(["2024-01-01"]).as_unit("ns")
    state = rtnb.Rolling("10s", value="v").update(pd.DataFrame({"ts": ts, "v": [1.0]})).export_state()
    other = rtnb.Rolling("10s", value="v", kind="bucketed")
    with pytest.raises(rtnb.ParameterError, match="exported by a 'exact' engine"):
        other._engine.load_state(state["engine"])
    with pytest.raises(rtnb.ParameterError, match="state version"):
        rtnb.Rolling.from_state({**state, "version": 99})
    with pytest.raises(rtnb.ParameterError, match="not an exported state"):
        state_from_bytes(b"not a state")


def test_bucket_quantiles_read_before_any_compaction_equal_pandas():
    # regression: a bucket's first sketch entries were read unsorted (wrong quantiles
    # in series() and buckets() until a second batch compacted them)
    rng = np.random.default_rng(3)
    n = 40
    df = pd.DataFrame({"ts": (T0 + pd.to_timedelta(rng.uniform(0, 5, n), unit="s")).astype("datetime64[ns]"),
                       "k": rng.choice(["b", "a", "c"], n), "v": rng.normal(0, 100, n)}).sort_values("ts")
    agg = rtnb.Rolling("10s", by="k", value="v", aggs=("p50",), kind="bucketed", resolution="5s")
    agg.update(df)
    got = agg.series("p50").iloc[-1]
    want = df.groupby("k")["v"].quantile(0.5, interpolation="lower")
    np.testing.assert_allclose(got[want.index].to_numpy(), want.to_numpy(), rtol=0.006)
