"""Many keys, and keys that appear, vanish (their window empties) and return: the table
equals pandas after every batch, for str and Categorical keys and every window kind that
shows a per-key table of the window."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtnb
from tests.pipeline._oracle import aggregate, assert_table_matches, window_rows

T0 = pd.Timestamp("2024-01-01")
AGGS = ("count", "sum", "mean", "std", "p50", "max")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 400), st.lists(st.tuples(st.integers(1, 120), st.integers(0, 25_000)), min_size=1, max_size=8),
       st.sampled_from(["str", "category"]), st.sampled_from([("exact", None), ("bucketed", "1s")]),
       st.integers(0, 10**6))
def test_any_number_of_keys_that_come_and_go_equal_pandas(n_keys, plan, dtype, kind, seed):
    rng = np.random.default_rng(seed)
    names = np.array([f"key{i}" for i in range(n_keys)], dtype=object)
    agg = rtnb.Rolling("10s", by="k", value="v", aggs=AGGS, kind=kind[0], resolution=kind[1])
    t = T0.value
    seen = []
    for rows, gap_ms in plan:  # each batch: a random subset of the keys, after a gap
        t += gap_ms * 1_000_000
        active = rng.choice(n_keys, size=max(1, int(rng.integers(1, n_keys + 1))), replace=False)
        ts = t + np.sort(rng.integers(0, 2_000_000_000, rows))
        t = int(ts[-1])
        keys = names[rng.choice(active, rows)]
        col = (pd.Categorical(keys, categories=names) if dtype == "category"
               else pd.array(keys, dtype="str"))
        batch = pd.DataFrame({"ts": ts.view("datetime64[ns]"), "k": col, "v": rng.normal(50, 20, rows)})
        agg.update(batch)
        seen.append(batch.assign(k=keys))
        rows_all = pd.concat(seen)
        wm = rows_all["ts"].max()
        res = pd.Timedelta(kind[1]) if kind[1] else None
        want = aggregate(window_rows(rows_all, wm, kind[0], pd.Timedelta("10s"), res), ["k"], ["v"], AGGS)
        table = agg.value
        table.index = table.index.astype(object)
        assert_table_matches(table, want)
