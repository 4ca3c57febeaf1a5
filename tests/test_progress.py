"""Progress for long work and the guard that speaks before a run starts (finding 9)."""

from __future__ import annotations

import pytest

import rtnb
from rtnb._progress import DEFAULT_MAX_STEPS, Progress, check_steps


def test_a_run_of_billions_of_steps_is_refused_before_it_starts():
    steps = 30 * 86_400 * 1000   # runner.run("30D", tick="1ms")
    with pytest.raises(rtnb.ParameterError, match="2,592,000,000 steps"):
        check_steps(steps, max_steps=DEFAULT_MAX_STEPS, what="30D at tick=1ms", param="duration")
    check_steps(steps, max_steps=None, what="30D at tick=1ms", param="duration")   # asked for


def test_progress_counts_and_shows_a_bar_for_long_work():
    tqdm = pytest.importorskip("tqdm")
    with Progress(5000, desc="run") as bar:
        assert bar.shown
        for _ in range(5000):
            bar.update()
    assert bar.done == 5000 and not bar.shown
    with Progress(10) as small:
        assert not small.shown   # short work: no bar
    del tqdm


def test_an_interrupt_closes_the_bar_and_goes_through():
    pytest.importorskip("tqdm")
    with pytest.raises(KeyboardInterrupt):
        with Progress(5000, show=True) as bar:
            bar.update()
            raise KeyboardInterrupt
    assert not bar.shown and bar.done == 1
