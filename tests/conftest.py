"""Shared test helpers.

``require(ok, component, why)`` skips a test when a real component is missing on a
user's machine, but fails it under ``CI=true``: CI must never pass by skipping.
``run_async`` and :class:`Heartbeat` run live code on a real event loop and measure
what it did to the loop; the ``redis_server`` fixture starts a real redis-server.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading

import pytest

from rtnb.clock import WallClock

WALL = WallClock()

ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_module(name: str, extra: str):
    """The module ``name``, or a skip (a failure under ``CI=true``) naming the extra."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        require(False, name, f"install the extra: pip install 'rtnb[{extra}]'")


def require(ok: bool, component: str, why: str) -> None:
    """Skip (or, under CI=true, fail) when ``component`` is not available."""
    if ok:
        return
    msg = f"{component} is not available: {why}"
    if ON_CI:
        pytest.fail(f"{msg} (CI=true: a missing component is a failure, not a skip)")
    pytest.skip(msg, allow_module_level=True)  # also from a module or conftest body


class FakeSource:
    """The tests' one hand-made source: ``rate`` events per second of arrival time
    (settable, as a dashboard's rate slider does; 0 is a stall).

    Events sit on a fixed grid (``k / rate`` seconds from the epoch), so the answer
    depends only on the interval asked for, never on the batch boundaries. Options
    shape the faults the runner must survive:

    - ``keys`` — a key column ``key_col`` cycling through these values;
    - ``lag`` — event time = arrival - lag;
    - ``down`` — ``(from, to)`` timestamps: reads ending in it raise SourceUnavailable
      (with ``clock``: reads asked while the clock is in it, as a real outage);
    - ``gap`` — ``(from, to)``: no events arrive in it (a stall);
    - ``fail_once_at`` — the first read covering this time raises SourceUnavailable;
    - ``block`` — wall seconds every read blocks first (a hung dependency), or a set
      of read numbers (0-based) to block on with ``block_for`` seconds;
      ``release()`` unblocks them all at once (the fixture does it at teardown).

    ``reads`` records every interval asked for.
    """

    def __init__(self, rate: float = 1.0, *, name: str = "ticks", keys: tuple = (), key_col: str = "key",
                 measure: str = "value", lag: str = "0s", down=None, gap=None, fail_once_at=None,
                 block: float | set | None = None, block_for: float = 0.0, id_col: str | None = None,
                 clock=None):
        import pandas as pd

        self.rate, self.name, self.key_values, self.key_col = float(rate), name, tuple(keys), key_col
        self.keys = (key_col,) if keys else ()
        self.measures, self.measure, self.id_col = (measure,), measure, id_col
        self.lag = pd.Timedelta(lag)
        self.down = tuple(map(pd.Timestamp, down)) if down else None
        self.gap = tuple(map(pd.Timestamp, gap)) if gap else None
        self.fail_once_at = pd.Timestamp(fail_once_at) if fail_once_at is not None else None
        self.failed = False
        self.clock = clock
        self.block, self.block_for = block, block_for
        self.reads: list = []
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def read(self, start, end):
        import numpy as np
        import pandas as pd
        import rtnb

        i = len(self.reads)
        self.reads.append((start, end))
        if isinstance(self.block, (int, float)):
            self._released.wait(self.block)
        elif self.block and i in self.block:
            self._released.wait(self.block_for)
        asked = self.clock.now() if self.clock is not None else end
        if self.down and self.down[0] <= asked <= self.down[1]:
            raise rtnb.SourceUnavailable("outage")
        if self.fail_once_at is not None and not self.failed and start <= self.fail_once_at < end:
            self.failed = True
            raise rtnb.SourceUnavailable("down")
        step = 1e9 / self.rate if self.rate > 0 else None  # ns between events; rate 0 is a stall
        if step is None:
            k = np.arange(0)
            ns = k
        elif step.is_integer():  # exact integer nanoseconds (floats lose them at epoch scale)
            step = int(step)
            k = np.arange(-(-start.value // step), -(-end.value // step), dtype=np.int64)
            ns = k * step
        else:
            k = np.arange(int(np.ceil(start.value / step)), int(np.ceil(end.value / step)))
            ns = np.round(k * step).astype("int64")
        arrival = pd.DatetimeIndex(ns.astype("int64")).as_unit("ns")
        if self.gap:
            keep = (arrival < self.gap[0]) | (arrival >= self.gap[1])
            arrival, k = arrival[keep], k[keep]
        out = pd.DataFrame({"ts": arrival - self.lag, "arrival": arrival, self.measure: 1.0})
        if self.key_values:  # by event number, so a key never depends on batch boundaries
            out[self.key_col] = np.array(self.key_values, dtype=object)[k % len(self.key_values)]
        if self.id_col:
            out[self.id_col] = arrival.asi8
        return out


@pytest.fixture
def fake_source():
    """Make :class:`FakeSource` objects; blocked reads are released at teardown."""
    made: list[FakeSource] = []

    def make(*args, **kwargs) -> FakeSource:
        made.append(FakeSource(*args, **kwargs))
        return made[-1]

    yield make
    for s in made:
        s.release()


# --------------------------------------------------------------------- snapshots


def assert_same(a, b) -> None:
    """Two snapshots equal field by field (table and series as frames)."""
    import pandas as pd

    pd.testing.assert_frame_equal(a.table, b.table)
    for f in ("metric", "window", "watermark", "newest_event", "processed_at",
              "counters", "version"):
        assert getattr(a, f) == getattr(b, f), f
    if a.series is None:
        assert b.series is None
    else:
        pd.testing.assert_frame_equal(a.series, b.series)


# --------------------------------------------------------------------- live runs


def run_async(coro):
    """asyncio.run in a fresh thread: other tests (Playwright's sync API) may leave a
    loop marked as running on the main thread."""
    out = {}

    def target():
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised on the test's thread
            out["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


class Heartbeat:
    """A task on the running loop that wakes every ``every`` seconds: what any other
    work on the kernel's loop (a widget message, a cell) would feel.

    ``beats`` are the times it woke (``timer``, from its start), ``gaps`` the time
    between two wakes, ``largest`` the longest gap.
    """

    def __init__(self, every: float = 0.01, *, timer=WALL.monotonic):
        self.every, self.timer = every, timer
        self.beats = [timer()]
        self._task = asyncio.get_running_loop().create_task(self._beat())

    async def _beat(self):
        while True:
            await asyncio.sleep(self.every)
            self.beats.append(self.timer())

    @property
    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.beats, self.beats[1:])]

    @property
    def largest(self) -> float:
        return max(self.gaps)

    def stop(self):
        self._task.cancel()


# --------------------------------------------------------------------- redis-server


@pytest.fixture
def redis_server():
    """A real ``redis-server`` on a free loopback port, one per test, no persistence:
    a test may ``stop()`` it (as a crash would) and ``start()`` it again on the same
    port to play an outage. Skips — fails under CI=true — when redis-server or the
    redis client is not installed."""
    from rtnb.store.redis import LocalRedisServer

    require(importlib.util.find_spec("redis") is not None, "the redis client",
            "pip install 'rtnb[redis]' (part of the test extra)")
    require(LocalRedisServer.available(), "redis-server",
            "the Debian package redis-server is needed for the RedisStore and event log tests "
            "(`make system-deps` installs it as root)")
    server = LocalRedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()
