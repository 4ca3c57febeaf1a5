"""Progress for long work, and a guard that speaks before a run starts.

:func:`check_steps` refuses a run of more than ``max_steps`` steps *before* it starts
(``runner.run("30D", tick="1ms")`` is 2.6e9 steps: hours of CPU for a typo), saying
how many steps it would take and what to change. :class:`Progress` shows a progress
bar for work of many steps — tqdm's ``tqdm.auto``, which is a widget bar in Jupyter and
a text bar in a terminal — when tqdm is installed (``pip install 'rtnb[progress]'``);
without tqdm it counts silently. Interrupting (Ctrl-C, the notebook's stop button)
closes the bar and lets the ``KeyboardInterrupt`` through: the work stops at a step
boundary.

>>> check_steps(2_592_000_000, max_steps=10_000_000, what="30 days at tick=1ms", param="tick")
Traceback (most recent call last):
...
rtnb._errors.ParameterError: tick='30 days at tick=1ms' is invalid: would take 2,592,000,000 steps, more than max_steps=10,000,000; use a coarser tick or a shorter run (or pass max_steps=None)
>>> with Progress(3, desc="demo", show=False) as bar:
...     for _ in range(3):
...         bar.update()
>>> bar.done
3
"""

from __future__ import annotations

from typing import Any

from ._errors import ParameterError

__all__ = ["DEFAULT_MAX_STEPS", "SHOW_FROM", "check_steps", "Progress"]

#: Runs longer than this many steps are refused unless asked for (max_steps=None).
DEFAULT_MAX_STEPS = 10_000_000
#: Work of at least this many steps shows a bar.
SHOW_FROM = 2_000


def check_steps(steps: int, *, max_steps: int | None, what: str, param: str) -> None:
    """Raise :class:`rtnb.ParameterError` when ``steps`` exceeds ``max_steps``."""
    if max_steps is None or steps <= max_steps:
        return
    raise ParameterError(param, what, f"would take {steps:,} steps, more than max_steps={max_steps:,}; "
                         "use a coarser tick or a shorter run (or pass max_steps=None)")


def _bar_class() -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:  # optional: counting goes on without a bar
        return None
    return tqdm


class Progress:
    """A progress bar over ``total`` steps (tqdm when installed, else silent counting).

    ``show``: ``None`` shows a bar from :data:`SHOW_FROM` steps; ``True``/``False``
    force it. Use it as a context manager; ``update(n)`` after each step.
    """

    def __init__(self, total: int, *, desc: str = "", show: bool | None = None, unit: str = "step") -> None:
        self.total = int(total)
        self.done = 0
        self.desc = desc
        want = self.total >= SHOW_FROM if show is None else bool(show)
        cls = _bar_class() if want else None
        self._bar = None
        if cls is not None:
            try:
                self._bar = cls(total=self.total, desc=desc, unit=unit, leave=False, mininterval=0.5)
            except Exception:  # a frontend without widget support: no bar, same counting
                self._bar = None

    @property
    def shown(self) -> bool:
        """Whether a bar is on screen."""
        return self._bar is not None

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Progress({self.desc!r}, {self.done}/{self.total})"
