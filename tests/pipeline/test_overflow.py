"""Values near float64's limit: a window whose rows sum past it says ``inf`` (as pandas
does on the same rows), and once those rows leave, the window's answers are pandas' on
the rows still in it. Running totals used to keep ``inf - inf = NaN`` for ever: a key
that once held two 1e308 values read NaN with only 5.0 left in its window. Nothing
wraps, nothing stays wrong, and numpy's overflow warnings do not reach the user."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import rtnb

T = pd.Timestamp("2024-01-01 12:00")
AGGS = ("count", "sum", "mean", "std", "min", "max")


def _batch(at: str, rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"ts": [T + pd.Timedelta(at)] * len(rows),
                         "k": [k for k, _ in rows], "v": [v for _, v in rows]})


def _pandas(rows: pd.DataFrame) -> pd.DataFrame:
    g = rows.groupby("k")["v"]
    return pd.DataFrame({"count": g.size(), "sum": g.sum(), "mean": g.mean(), "std": g.std(),
                         "min": g.min(), "max": g.max()})


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got[list(AGGS)].sort_index()
    want = want.sort_index()
    assert list(got.index) == list(want.index)
    np.testing.assert_allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float), rtol=1e-12)


@pytest.mark.parametrize("kind", ["exact", "bucketed"])
def test_a_sum_past_float64_reads_inf_then_recovers_once_its_rows_leave(kind):
    agg = rtnb.Rolling(window="1min", by="k", value="v", aggs=AGGS, kind=kind)
    first = _batch("0s", [("a", 1e308), ("a", 1e308), ("b", 2.0)])
    second = _batch("30s", [("a", 5.0), ("b", 1.0)])
    third = _batch("75s", [("a", 1.0), ("a", 4.0), ("b", 3.0)])
    with np.errstate(over="ignore"):
        assert _pandas(first).loc["a", "sum"] == np.inf  # what pandas says on the same rows
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # overflow is in the table, not a warning
        agg.update(first)
        table = agg.snapshot().table
        assert table.loc["a", "sum"] == np.inf and table.loc["a", "count"] == 2
        agg.update(second)  # a's overflowing rows and a new row share the window
        assert agg.snapshot().table.loc["a", "sum"] == np.inf
        agg.update(third)   # the 1e308 rows left; a's totals are those of 5.0, 1.0, 4.0
        table = agg.snapshot().table
        assert agg.counters.conserved and agg.counters.rejected == 0
    _same(table, _pandas(pd.concat([second, third])))
