"""Progress for long work and the guard that speaks before a run starts (finding 9)."""

from __future__ import annotations

import pandas as pd
import pytest

import rtnb
from rtnb._progress import DEFAULT_MAX_STEPS, Progress, check_steps
from tests.conftest import require_module


def test_a_run_of_billions_of_steps_is_refused_before_it_starts():
    steps = 30 * 86_400 * 1000   # runner.run("30D", tick="1ms")
    with pytest.raises(rtnb.ParameterError, match="2,592,000,000 steps"):
        check_steps(steps, max_steps=DEFAULT_MAX_STEPS, what="30D at tick=1ms", param="duration")
    check_steps(steps, max_steps=None, what="30D at tick=1ms", param="duration")   # asked for


def test_progress_counts_and_shows_a_bar_for_long_work():
    tqdm = require_module("tqdm", "progress")
    with Progress(5000, desc="run") as bar:
        assert bar.shown
        for _ in range(5000):
            bar.update()
    assert bar.done == 5000 and not bar.shown
    with Progress(10) as small:
        assert not small.shown   # short work: no bar
    del tqdm


def test_an_interrupt_closes_the_bar_and_goes_through():
    require_module("tqdm", "progress")
    with pytest.raises(KeyboardInterrupt):
        with Progress(5000, show=True) as bar:
            bar.update()
            raise KeyboardInterrupt
    assert not bar.shown and bar.done == 1


def _runner(tick):
    class Quiet:
        name, keys, measures, id_col = "quiet", (), ("v",), None

        def read(self, start, end):
            import pandas as pd
            return pd.DataFrame({"ts": pd.to_datetime([]), "arrival": pd.to_datetime([]), "v": []})

    return rtnb.Runner(Quiet(), clock=rtnb.SimClock(start="2024-01-01"), tick=tick)


def test_runner_run_says_before_it_starts_that_it_would_take_billions_of_steps():
    """Finding 9: runner.run("30D", tick="1ms") (2.6e9 steps) ran on with no guard."""
    runner = _runner("1ms")
    before = runner.clock.now()
    with pytest.raises(rtnb.ParameterError, match="2,592,000,000 steps") as e:
        runner.run("30D")
    assert e.value.param == "duration" and runner.clock.now() == before   # nothing ran
    with pytest.raises(rtnb.ParameterError) as e:
        runner.run("1s", max_steps=0)
    assert e.value.param == "max_steps"
    runner.run("2s", max_steps=None)   # asked for: runs (2,000 steps)
    assert runner.clock.now() == before + pd.Timedelta("2s")


def test_runner_run_shows_progress_for_long_runs(monkeypatch):
    require_module("tqdm", "progress")
    import rtnb._progress as progress

    made = []
    real = progress.Progress

    class Spy(real):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            made.append(self)

    monkeypatch.setattr("rtnb.runner._runner.Progress", Spy)
    _runner("1s").run("1h")
    assert made and made[0].total == 3600 and made[0].done == 3600
