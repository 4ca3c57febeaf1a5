"""Rolling and the Pipeline before and after the pipeline redesign, side by side in one run.

Each variant runs in a fresh subprocess that imports ``rtnb`` from either this tree or a
``git worktree`` of an earlier commit (default: the commit before the redesign), so
both versions see the same workload (``benchmarks.peers``: 50 Zipf keys as Arrow
strings — and as Categorical —, 10,000 events/s, 5% late by up to 2 s, 1,000-row
batches, count/sum/mean) on the same machine, interleaved, ``--repeats`` times. Every
figure is the median; ``ev/s`` is wall time (perf_counter), ``ev/CPU-s`` process CPU
time. ``id_col`` adds a unique event id (with 1% re-sent duplicates) and dedup.

Run: ``.venv/bin/python -m benchmarks.bench_redesign [--against REV] [--events N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "e2ffb4c"  # main just before the redesign landed (Rolling with _windows.py)

VARIANTS = [
    ("Rolling exact 60s", {"kind": "exact"}, False, "str", False),
    ("Rolling exact 60s, id_col", {"kind": "exact"}, True, "str", False),
    ("Rolling bucketed 60s@1s", {"kind": "bucketed", "resolution": "1s"}, False, "str", False),
    ("Rolling exact 60s, Categorical", {"kind": "exact"}, False, "category", False),
    ("Pipeline exact 60s", {"kind": "exact"}, False, "str", True),
    ("Pipeline exact 60s, id_col", {"kind": "exact"}, True, "str", True),
]

WORKER = r"""
import json, sys, time, gc
import numpy as np, pandas as pd
sys.path.insert(0, {bench!r})
from benchmarks import peers
import rtnb, streamz
opts, ids, keys, pipeline, n = json.loads(sys.argv[1])
ev = peers.workload(n)
if keys == "category":
    ev["key"] = ev["key"].astype("category")
if ids:
    rng = np.random.default_rng(1)
    ev["id"] = np.arange(n)
    dup = np.flatnonzero(rng.random(n) < 0.01)  # re-sent: the same event again, up to 500 rows later
    src = np.maximum(dup - rng.integers(1, 500, dup.size), 0)
    ev.iloc[dup] = ev.iloc[src].to_numpy()
parts = peers.batches(ev)
kw = dict(by="key", value="value", aggs=("count", "sum", "mean"), lateness=peers.LATENESS,
          id_col="id" if ids else None, **opts)
agg = rtnb.Rolling("60s", **kw)
if pipeline:
    stream = streamz.Stream()
    pipe = rtnb.Pipeline(stream, aggregate=agg)
    step = stream.emit
else:
    def step(b):
        agg.update(b)
        agg.snapshot()
gc.collect()
t0, c0 = time.perf_counter(), time.process_time()
for b in parts:
    step(b)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
assert agg.counters.received == n
print(json.dumps([wall, cpu, agg.counters.duplicates]))
"""


def tree_for(rev: str) -> Path:
    path = Path("/tmp") / f"rtnb-bench-{rev}"
    if not path.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev],
                       check=True, capture_output=True)
    return path


def measure(tree: Path, variant, n: int) -> tuple[float, float, int]:
    _, opts, ids, keys, pipeline = variant
    env = dict(os.environ, PYTHONPATH=str(tree))
    code = WORKER.format(bench=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, json.dumps([opts, ids, keys, pipeline, n])],
                         env=env, check=True, capture_output=True, text=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--against", default=BEFORE)
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    trees = {"before": tree_for(args.against), "after": ROOT}
    runs: dict[tuple[str, str], list] = {}
    for _ in range(args.repeats):  # interleaved: both versions see the same machine load
        for v in VARIANTS:
            for side, tree in trees.items():
                runs.setdefault((v[0], side), []).append(measure(tree, v, args.events))
    n = args.events
    print(f"events={n:,} repeats={args.repeats} before={args.against} (medians; wall = perf_counter, "
          "CPU = process_time)")
    print(f"{'variant':34} {'before ev/s':>12} {'after ev/s':>12} {'before ev/CPU-s':>16} "
          f"{'after ev/CPU-s':>15} {'speed-up (CPU)':>15}")
    cpu_after = {}
    for v in VARIANTS:
        b, a = runs[(v[0], "before")], runs[(v[0], "after")]
        bw, aw = np.median([r[0] for r in b]), np.median([r[0] for r in a])
        bc, ac = np.median([r[1] for r in b]), np.median([r[1] for r in a])
        cpu_after[v[0]] = (ac, bc)
        print(f"{v[0]:34} {n / bw:12,.0f} {n / aw:12,.0f} {n / bc:16,.0f} {n / ac:15,.0f} {bc / ac:15.2f}")
    for base in ("Rolling exact 60s", "Pipeline exact 60s"):
        a, b = cpu_after[f"{base}, id_col"], cpu_after[base]
        print(f"id_col cost, {base}: after +{(a[0] / b[0] - 1) * 100:.0f}% CPU, "
              f"before +{(a[1] / b[1] - 1) * 100:.0f}% CPU")


if __name__ == "__main__":
    main()
