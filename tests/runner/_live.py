"""Running a coroutine on a real event loop, with a heartbeat beside it."""

from __future__ import annotations

import asyncio
import threading

from rtnb.clock import WallClock

WALL = WallClock()


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
    """A task that wakes every ``every`` seconds and records the largest gap it saw:
    what any other work on the kernel's loop (a widget message, a cell) would feel."""

    def __init__(self, every: float = 0.01):
        self.every, self.gaps = every, []
        self._task = asyncio.get_running_loop().create_task(self._beat())

    async def _beat(self):
        last = WALL.monotonic()
        while True:
            await asyncio.sleep(self.every)
            now = WALL.monotonic()
            self.gaps.append(now - last)
            last = now

    @property
    def largest(self) -> float:
        return max(self.gaps)

    def stop(self):
        self._task.cancel()
