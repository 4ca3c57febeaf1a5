"""Tiers simulation: 24 simulated hours x 4 patterns x 1,000 viewers, and its accuracy.

``python -m benchmarks.bench_tiers`` prints medians over repeats of:

- the budget case: each tier's usual pattern (batch refresh, 1-minute polling, SSE,
  WebSocket), 1,000 viewers, 24 simulated hours, summaries included (p50/p95/max and
  loads) — for a Poisson rate, for an array of ~1.7 M event times, and with connection
  drops plus two server restarts;
- scaling with the number of viewers;
- side by side, the vectorised simulation against a per-viewer Python loop that walks
  every screen update and integrates the sawtooth exactly (the reference for the mean
  age), on 30-second polling: speed ratio and agreement.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from rtnb.tiers import Polling, Workload, pattern_for, simulate, simulate_tiers

REPEATS = 5
TIERS = ("batch", "near_real_time", "real_time", "sub_second")


def _median(fn, repeats: int = REPEATS) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _four(workload, viewers: int, hours: float = 24.0, **options) -> dict:
    sims = simulate_tiers(workload, viewers=viewers, hours=hours, **options)
    return {k: s.summary() for k, s in sims.items()}


def _loop_mean_age(rate: float, interval: float, delay: float, latency: float, viewers: int,
                   hours: float, seed: int = 0) -> float:
    """Reference: walk every poll of every viewer, integrate the age sawtooth exactly."""
    rng = np.random.default_rng(seed)
    T = hours * 3600.0
    area = 0.0
    for _ in range(viewers):
        phase = rng.random() * interval
        p = phase - interval  # the poll before the start is on screen at t = 0
        while p < T:
            asof = p + latency - delay - rng.exponential(1 / rate)
            a = max(p + 2 * latency, 0.0)
            b = min(p + interval + 2 * latency, T)
            if b > a:
                area += ((b - asof) ** 2 - (a - asof) ** 2) / 2
            p += interval
    return area / (viewers * T)


def main() -> None:
    print("budget case: 24 h x 4 patterns x 1,000 viewers (limit: 2 s)")
    print(f"{'workload':<44} {'median s':>9} {'min s':>7}")
    events = np.sort(np.random.default_rng(0).uniform(-7200, 86_400, 20 * (86_400 + 7200)))
    cases = {
        "Poisson rate, 50 events/s": lambda: _four(50.0, 1000),
        f"array of {events.size / 1e6:.1f} M event times": lambda: _four(Workload.from_times(events), 1000),
        "rate 50/s + drops 2/h + 2 server restarts": lambda: {
            k: simulate(50.0, pattern_for(k, **({"drop_rate": 2.0} if k in ("real_time", "sub_second") else {})),
                        viewers=1000, hours=24, restarts=["6h", "18h"]).summary()
            for k in TIERS},
    }
    for name, fn in cases.items():
        times = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        print(f"{name:<44} {statistics.median(times):>9.3f} {min(times):>7.3f}")

    print("\nscaling: 24 h x 4 patterns, Poisson 50/s")
    print(f"{'viewers':>8} {'median s':>9} {'samples/s (M)':>14}")
    for v in (100, 1000, 3000):
        sec, _ = _median(lambda: _four(50.0, v), repeats=3)
        print(f"{v:>8} {sec:>9.3f} {4 * v * 1440 / sec / 1e6:>14.1f}")

    print("\nside by side: 30 s polling, 2 s delay, 50 ms latency, 20 events/s, 24 h")
    print(f"{'viewers':>8} {'loop s':>8} {'vector s':>9} {'ratio':>7} {'loop mean':>10} {'vector mean':>12} {'closed form':>12}")
    pat = Polling(interval="30s", pipeline_delay="2s", network_latency="50ms")
    closed = pat.expected_age(20.0).total_seconds()
    for v in (100, 300):
        loop_s, loop_mean = _median(lambda: _loop_mean_age(20.0, 30.0, 2.0, 0.05, v, 24.0), repeats=3)
        vec_s, sim = _median(lambda: simulate(20.0, pat, viewers=v, hours=24), repeats=3)
        print(f"{v:>8} {loop_s:>8.3f} {vec_s:>9.4f} {loop_s / vec_s:>7.0f} {loop_mean:>10.3f} "
              f"{sim.age_mean:>12.3f} {closed:>12.3f}")


if __name__ == "__main__":
    main()
