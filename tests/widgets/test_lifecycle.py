"""The run as the dashboard shows it (badge states, Start after a stop) and closing:
a closed or rebuilt dashboard frees its runner, pipeline and widget models."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap

import ipywidgets
import pandas as pd
import pytest

import rtnb
from rtnb.widgets import Dashboard, ErrorPanel, FreshnessBadge, LiveLine
from rtnb.widgets import _cells
from rtnb.widgets._bus import FrameBus
from rtnb.widgets._freshness import AGES_IN_BROWSER
from rtnb.widgets._hover import HoverWatch
from rtnb.widgets._live_html import LiveHTML

from .conftest import T0

SEC = pd.Timedelta("1s")


def orders_dashboard(**kwargs):
    src = rtnb.simulate("ecommerce_orders", rate=50, seed=1, start="2024-01-01")
    return rtnb.dashboard(src, metric="amount", by="country", window="1min",
                          clock=rtnb.SimClock(start="2024-01-01"), **kwargs)


# -- the badge --------------------------------------------------------------------------


def test_the_badge_sends_what_the_browser_needs_to_age_it_itself(store, snap):
    assert AGES_IN_BROWSER, "the test extra installs anywidget: the browser tests use it"
    badge = FreshnessBadge(store, "orders", limit="5s", stale_after="20s")
    runner = rtnb.Runner([], clock=rtnb.SimClock(start=str(T0)))
    runner.speedup = 10
    badge.runner = runner
    store.put(snap(t=T0))
    runner.health.state = "running"
    badge.refresh(T0 + 2 * SEC)
    assert badge.newest_ms == T0.value / 1e6 and badge.clock_ms == (T0 + 2 * SEC).value / 1e6
    assert badge.rate == 10.0  # simulated seconds per wall second: the browser ages at 10x
    assert (badge.limit_s, badge.stale_s, badge.run_state) == (5.0, 20.0, "running")
    beat = badge.beat
    badge.refresh(T0 + 2 * SEC)
    assert badge.beat == beat + 1  # a heartbeat every frame of a running dashboard
    state = badge.get_state()
    assert {"newest_ms", "clock_ms", "rate", "limit_s", "stale_s", "run_state", "beat"} <= set(state)
    assert "value" not in state  # the HTML text is the fallback's, not sent


@pytest.mark.parametrize("run_state", ["paused", "stopped"])
def test_a_paused_or_stopped_run_says_so_instead_of_fresh(store, snap, run_state):
    badge = FreshnessBadge(store, "orders", limit="5s")
    runner = rtnb.Runner([], clock=rtnb.SimClock(start=str(T0)))
    badge.runner = runner
    store.put(snap(t=T0))
    runner.health.state = run_state
    badge.refresh(T0 + SEC)
    assert badge.run_state == run_state and badge.rate == 0.0  # the browser stops ageing it
    assert f'data-state="{run_state}"' in badge.value and "fresh —" not in badge.value
    assert f"{run_state} — data 1.0 s old" in badge.value


def test_without_anywidget_the_badge_falls_back_to_html_ticked_by_the_kernel():
    code = textwrap.dedent("""
        import sys, json
        sys.modules["anywidget"] = None  # as if it were not installed
        import pandas as pd, rtnb, ipywidgets
        from rtnb.widgets._freshness import AGES_IN_BROWSER
        store = rtnb.MemoryStore()
        badge = rtnb.FreshnessBadge(store, "orders", limit="5s")
        t = pd.Timestamp("2024-01-01")
        store.put(rtnb.Snapshot(metric="orders", table=pd.DataFrame({"n": [1]}), window=None,
                                watermark=t, newest_event=t, processed_at=t))
        states = []
        for s in (1, 8, 30):
            badge.refresh(t + pd.Timedelta(seconds=s)); states.append(badge.state)
        print(json.dumps([AGES_IN_BROWSER, isinstance(badge, ipywidgets.HTML), states,
                          'data-state="stale"' in badge.get_state()["value"]]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, True, ["fresh", "late", "stale"], True]


# -- Start after a stop -----------------------------------------------------------------


def test_a_stopped_dashboard_offers_start_and_start_runs_it_again_for_the_same_duration():
    dash = orders_dashboard()
    runner = dash.runner
    calls = []
    runner.start = lambda duration=None, speedup=None: (calls.append(duration),
                                                        runner.health.__setattr__("state", "running"))
    assert not dash.start_button.disabled and dash.pause_button.disabled  # before any run
    dash.start(20)
    assert dash.start_button.disabled and not dash.pause_button.disabled
    runner.health.state = "stopped"  # the live duration is over
    dash.refresh(runner.clock.now())  # the runner's last frame
    assert not dash.start_button.disabled and dash.pause_button.disabled
    assert dash.views[0].run_state == "stopped" and 'data-state="stopped"' in dash.views[0].value
    dash.start_button.click()
    assert calls == [20, 20] and runner.state == "running"
    assert dash.start_button.disabled


# -- closing ----------------------------------------------------------------------------


def _alive(cls) -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, cls))


def _models() -> int:
    return len(ipywidgets.widgets.widget._instances)


def test_close_frees_every_widget_model_the_dashboard_made():
    gc.collect()
    before = _models()
    dash = orders_dashboard(table=True)
    dash.runner.run("30s")
    made = _models() - before
    assert made > 50  # charts are many models: marks, scales, axes, tooltips, layouts
    dash.close()
    assert _models() == before
    assert dash.runner is None or dash.runner._frame_callbacks == []
    dash.close()  # twice is fine


def test_building_and_closing_20_dashboards_leaves_nothing_behind():
    def one():
        dash = orders_dashboard()
        dash.runner.run("10s")
        dash.close()

    for _ in range(3):  # warm-up: caches, first imports
        one()
    gc.collect()
    # (the anywidget front-ends too: with a file's _esm, anywidget kept each one alive,
    # connected to the file's change signal: a badge, a bus and a hover watch per dashboard)
    kinds = (Dashboard, LiveLine, ErrorPanel, rtnb.Runner, rtnb.Pipeline, rtnb.Rolling, FreshnessBadge, FrameBus,
             HoverWatch, LiveHTML)
    counts = (_models(), *map(_alive, kinds))
    for _ in range(20):
        one()
    gc.collect()
    assert (_models(), *map(_alive, kinds)) == counts


class _Kernel:
    """The part of ipykernel the dashboard asks: the header of the running execution."""

    def __init__(self):
        self.parent = {}

    def get_parent(self):
        return self.parent


class _Shell:
    def __init__(self, kernel):
        self.kernel = kernel


def test_re_running_a_cell_closes_the_dashboards_it_built_before(monkeypatch):
    kernel = _Kernel()
    monkeypatch.setattr("IPython.get_ipython", lambda: _Shell(kernel))
    kernel.parent = {"header": {"msg_id": "run-1"}, "metadata": {"cellId": "cell-a"}}
    first, second = orders_dashboard(), orders_dashboard()  # two in one run of the cell
    kernel.parent = {"header": {"msg_id": "run-2"}, "metadata": {"cellId": "cell-b"}}
    other = orders_dashboard()  # another cell
    assert not (first.closed or second.closed or other.closed)
    kernel.parent = {"header": {"msg_id": "run-3"}, "metadata": {"cellId": "cell-a"}}
    again = orders_dashboard()  # cell a, run again
    assert first.closed and second.closed and not other.closed and not again.closed
    assert first.runner is None and first.views == []
    for d in (other, again):
        d.close()
    _cells._BUILT_BY_CELL.clear()


def _worker(store, path, start):
    """A run writing to ``store`` with a checkpointer at ``path``, restored, and its badge."""
    src = rtnb.simulate("ecommerce_orders", rate=20, seed=1, start=start)
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start=start), tick="1s")
    pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min", store=store)
    ckpt = rtnb.Checkpointer(pipe, path, runner=runner, every="5s")
    badge = FreshnessBadge(store, pipe.name, limit="5s")
    Dashboard([badge], runner=runner)
    ckpt.restore()
    return runner, ckpt, badge


def test_after_a_restart_without_a_checkpoint_the_badge_says_restarted_until_a_window_came_in(tmp_path):
    store = rtnb.store.MemoryStore(history=100)
    first, _, _ = _worker(store, tmp_path / "first.ckpt", "2024-01-01 12:00")
    first.run("30s")  # earlier data of the metric in the store
    # A second run on the same store without the first one's checkpoint (a kernel
    # restarted on the same store): its window holds only what it reads from now on.
    runner, _, badge = _worker(store, tmp_path / "second.ckpt", "2024-01-01 12:00:30")
    runner.run("20s")
    assert badge.state == "fresh"  # the data is new...
    assert badge.restarted and 'data-state="restarted"' in badge.value  # ...but the window is partial
    assert "restarted at 12:00:30 without a checkpoint" in badge.restart_note
    runner.run("45s")  # a whole window (1 min) since the restart
    assert not badge.restarted and badge.restart_note == "" and 'data-state="fresh"' in badge.value


def test_a_run_restored_from_its_checkpoint_is_fresh_and_says_it_restarted(tmp_path):
    store = rtnb.store.MemoryStore(history=100)
    first, ckpt, _ = _worker(store, tmp_path / "w.ckpt", "2024-01-01 12:00")
    first.run("30s")
    ckpt.save()
    runner, again, badge = _worker(store, tmp_path / "w.ckpt", "2024-01-01 12:00")
    assert again.restored_from is not None
    runner.run("10s")
    assert badge.state == "fresh" and not badge.restarted  # the window was saved whole
    assert badge.restart_note.startswith("restarted from its checkpoint at 12:00:30")
    assert "restarted from its checkpoint" in badge.value
