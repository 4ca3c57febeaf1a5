"""Replay: how long loading and preparing a data set takes, and what a read costs.

``python -m benchmarks.bench_replay`` prints a table of medians over repeats.

- *load*: ``rtnb.datasets.load`` (parse the xz-compressed CSV, set dtypes);
- *prepare*: ``rtnb.replay(df, ...)`` (parse/validate times, sort, precompute offsets);
- *pass*: one whole pass in 1,000 equal reads, as a runner would make them, for the
  replay (binary search on precomputed arrival offsets, then a slice) and, side by side,
  for the obvious alternative: a boolean mask over every arrival at each read.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

import rtnb

REPEATS = 5
READS = 1000
T = pd.Timestamp("2024-01-01")


def _median_seconds(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _edges(src: rtnb.Replay) -> list[pd.Timestamp]:
    end = T + src.duration + pd.Timedelta(1)
    return list(pd.date_range(T, end, periods=READS + 1))


def _pass_replay(make) -> int:
    src = make()
    edges = _edges(src)
    n = 0
    for a, b in zip(edges[:-1], edges[1:]):
        n += len(src.read(a, b))
    return n


def _pass_mask(make) -> int:
    src = make()
    full = src.read(T, T + src.duration + pd.Timedelta(1))  # every row with its arrival
    arrival = full["arrival"].to_numpy()
    edges = _edges(src)
    n = 0
    for a, b in zip(edges[:-1], edges[1:]):
        mask = (arrival >= a.to_datetime64()) & (arrival < b.to_datetime64())
        n += len(full[mask])
    return n


def main() -> None:
    rows = []
    for name, sort in (("online_retail", True), ("flights", False)):
        meta = rtnb.datasets.info(name)
        load_s = _median_seconds(lambda: rtnb.datasets.load(name))
        df = rtnb.datasets.load(name)

        def make():
            return rtnb.replay(df, time_col=meta.time_col, speed=3600, sort=sort)

        prep_s = _median_seconds(make)
        assert _pass_replay(make) == _pass_mask(make) == len(df)
        replay_s = _median_seconds(lambda: _pass_replay(make))
        mask_s = _median_seconds(lambda: _pass_mask(make))
        rows.append(
            {
                "data set": name,
                "rows": len(df),
                "sort": sort,
                "load s": round(load_s, 3),
                "prepare s": round(prep_s, 3),
                "read µs (replay)": round(replay_s / READS * 1e6, 1),
                "read µs (mask)": round(mask_s / READS * 1e6, 1),
                "mask / replay": round(mask_s / replay_s, 2),
                "rows/s (replay)": f"{len(df) / replay_s:,.0f}",
            }
        )
    table = pd.DataFrame(rows).set_index("data set")
    print(f"median of {REPEATS} repeats; a pass = {READS} reads (read µs = pass time / {READS})")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table)


if __name__ == "__main__":
    main()
