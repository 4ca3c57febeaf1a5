"""What a Metric definition costs over a bare Rolling: filter, derived columns, overall
row, local-time windows, and row-level decoding.

``python -m benchmarks metric``: events/s (CPU time, median of 5) feeding 200 batches of
1,000 rows and taking a snapshot after each, for the same daily tumbling window:

- ``Rolling``: the bare aggregate (count, sum, max of two measures by key);
- ``Metric``: the same as an rtnb.Metric with two derived ratios (per key and overall);
- ``Metric tz``: the same in Europe/Paris local time;
- ``Metric + filter``: with a row filter.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

import rtnb

BATCHES, ROWS, REPEATS = 200, 1000, 5


def _batches(seed: int = 0) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-03-28")
    out = []
    for b in range(BATCHES):
        ts = t0 + pd.to_timedelta(np.sort(rng.uniform(b, b + 1, ROWS)) * 1800, unit="s")
        out.append(pd.DataFrame({"ts": ts.as_unit("ns"), "k": rng.choice(["a", "b", "c", "d"], ROWS),
                                 "occ": rng.uniform(0, 10, ROWS), "cap": 10.0}))
    return out


def _rate(make, batches) -> float:
    times = []
    for _ in range(REPEATS):
        agg = make()
        t = time.process_time()
        for b in batches:
            agg.update(b)
            agg.snapshot()
        times.append(time.process_time() - t)
    return BATCHES * ROWS / statistics.median(times)


def main() -> None:
    batches = _batches()
    base = dict(name="occ", value=("occ", "cap"), by="k", window="1D", kind="tumbling", aggs=("sum", "max"),
                derived={"rate": "occ_sum / cap_sum", "free": "cap_sum - occ_sum"})
    cases = {
        "Rolling": lambda: rtnb.Rolling(window="1D", kind="tumbling", by="k", value=["occ", "cap"],
                                        aggs=("count", "sum", "max")),
        "Metric": lambda: rtnb.Metric(**base).aggregate(),
        "Metric tz": lambda: rtnb.Metric(**base, tz="Europe/Paris").aggregate(),
        "Metric + filter": lambda: rtnb.Metric(**base, filter="occ > 1").aggregate(),
    }
    rates = {name: _rate(make, batches) for name, make in cases.items()}
    print(f"{'case':<18} {'events/s (CPU)':>15} {'vs Rolling':>11}")
    for name, r in rates.items():
        print(f"{name:<18} {r:>15,.0f} {r / rates['Rolling']:>10.2f}x")


if __name__ == "__main__":
    main()
