"""The README's examples run as written (the live start swapped for simulated time)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_five_line_example_builds_a_live_dashboard():
    block = python_blocks()[0]
    assert len([l for l in block.splitlines() if l.strip()]) == 5
    assert "dash.start(60, speedup=10)" in block
    ns: dict = {}
    exec(block.replace("dash.start(60, speedup=10)", 'dash.runner.run("6min")'), ns)
    dash = ns["dash"]
    table = dash.store.latest("amount").table
    assert len(table) > 1 and {"count", "sum", "mean"} <= set(table.columns)
    assert dash.pipeline.counters.conserved and dash.pipeline.counters.accepted > 0


def test_rolling_example_answers_per_key():
    import rtnb

    src = rtnb.simulate("ecommerce_orders", rate=50, seed=3)
    batch = src.read(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:02"))
    ns = {"rtnb": rtnb, "batch": batch}
    exec(python_blocks()[1], ns)
    table = ns["agg"].snapshot().table
    assert list(table.columns) == ["count", "sum", "mean", "p95"]
    last = batch.ts.max()
    expected = batch[batch.ts > last - pd.Timedelta("60s")].groupby("country", observed=True).amount.count()
    assert table["count"].sort_index().astype(int).to_dict() == expected[expected > 0].sort_index().to_dict()


def test_few_keys_example_reads_the_rows_pandas_would():
    import rtnb

    src = rtnb.simulate("ecommerce_orders", rate=50, seed=3)
    batch = src.read(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:02"))
    ns = {"rtnb": rtnb, "batch": batch}
    exec(python_blocks()[1], ns)
    exec(python_blocks()[2], ns)
    snap = ns["snap"]
    pd.testing.assert_frame_equal(snap.top(10, by="sum"), snap.table.nlargest(10, "sum"))
    pd.testing.assert_series_equal(snap.key("FR"), snap.table.loc["FR"])
