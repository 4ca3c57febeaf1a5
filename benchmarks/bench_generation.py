"""How fast the simulated workloads generate events (``rtnb.simulate``).

Run: ``.venv/bin/python -m benchmarks.bench_generation`` (``--quick`` for fewer repeats).

For every scenario and batch size, a fresh source is read in consecutive batches of
``batch`` seconds of event time under simulated time (no clock, no sleeping), after one
warm-up batch; the figure is events returned per second of wall time, full ``read``
included (generation, fault-free delivery, the pandas DataFrame). Medians of repeats.

The machine is shared (2 cores, several agents): wall-clock throughput moves with the
load, so the table also gives events per second of *CPU time* of this process
(``time.process_time``; generation is single-threaded numpy), which is what one
dedicated core would do.

Two side-by-side ratios in the same run:

- *faults / clean*: the same reads with late 5 %, duplicates 2 %, malformed 2 %;
- *1 s / 60 s*: per-batch overhead when batches are small.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import pandas as pd

from rtnb import scenarios, simulate

START = pd.Timestamp("2024-01-03 15:00")  # a Wednesday afternoon: an ordinary hour
FAULTS = {"late": 0.05, "duplicates": 0.02, "malformed": 0.02, "max_delay": "30s"}


def throughput(name: str, rate: float, batch_s: float, batches: int, faults=None) -> tuple[float, float, float]:
    """(events per wall second, events per CPU second, mean events per batch)."""
    src = simulate(name, rate=rate, seed=1, faults=faults)
    step = pd.Timedelta(seconds=batch_s)
    src.read(START, START + step)  # warm-up: the first block, burst days, tables
    t = START + step
    events = 0
    began, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        events += len(src.read(t, t + step))
        t += step
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    return events / elapsed, events / max(cpu, 1e-9), events / batches


def main(argv: list[str] | None = None) -> None:
    """Print the table; ``argv`` are command-line options (none when run by ``python -m benchmarks``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and batches")
    parser.add_argument("--scenario", action="append", help="only these scenarios")
    args = parser.parse_args(argv or [])
    quick = args.quick or os.environ.get("RTNB_SMALL") == "1"
    repeats = 3 if quick else 5
    configs = [  # (rate, batch seconds, batches per repeat)
        (100_000, 1.0, 5 if quick else 15),
        (20_000, 1.0, 10 if quick else 30),
        (20_000, 60.0, 1 if quick else 2),
    ]
    names = args.scenario or list(scenarios())
    print(f"load average before: {os.getloadavg()[0]:.1f}; repeats: {repeats}")
    header = ("| scenario | rate /s | batch | events/batch | M events/s wall (median) | min–max "
              "| M events/s CPU (median) | faults/clean (CPU) |")
    print(header)
    print("|" + "---|" * 8)
    for name in names:
        for rate, batch_s, batches in configs:
            clean, cpu, faulty, sizes = [], [], [], []
            for _ in range(repeats):  # interleaved, so both see the same machine load
                eps, eps_cpu, size = throughput(name, rate, batch_s, batches)
                clean.append(eps)
                cpu.append(eps_cpu)
                sizes.append(size)
                faulty.append(throughput(name, rate, batch_s, batches, FAULTS)[1])
            med = statistics.median(clean)
            ratio = statistics.median(f / c for f, c in zip(faulty, cpu))
            print(
                f"| {name} | {rate:,} | {batch_s:g} s | {statistics.median(sizes):,.0f} | "
                f"{med / 1e6:.2f} | {min(clean) / 1e6:.2f}–{max(clean) / 1e6:.2f} | "
                f"{statistics.median(cpu) / 1e6:.2f} | {ratio:.2f} |",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
