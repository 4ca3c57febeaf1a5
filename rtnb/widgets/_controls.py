"""RunControls: the controls of a live run and its status line.

Start (a stopped run can be started again: a Voila dashboard is never frozen after its
live duration), Pause/Resume, the simulated speed-up (with a ``SimClock``), the event
rate of a simulated source (any source with a settable ``rate``), a replay's own
speed-up in words, and "running · clock 09:00:03, Mon 01 Jan".
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd

from .._errors import ParameterError
from ._format import clock_time
from ._live_html import LiveHTML
from ._slider import LogSlider

__all__ = ["RunControls"]


def _show_value(slider: widgets.FloatLogSlider, value: float) -> None:
    """Set a log slider to ``value``, widening its range to hold it.

    A log slider clamps values outside its range; the clamped value would then flow
    back through the observer and change the run (a speed-up of 28,800 became 10,000).
    """
    exponent = math.log(value, slider.base)
    if exponent < slider.min:
        slider.min = math.floor(exponent)
    if exponent > slider.max:
        slider.max = math.ceil(exponent)
    slider.value = value


def _settable_rate(source: Any) -> bool:
    """True when ``source`` has an event rate the controls can set (a simulator's).

    A replay's pace is its speed-up, an event log's is its writer's: neither has a
    rate to set, and a read-only ``rate`` (a property without a setter, an estimate)
    is not one either — an "events/s" slider there would do nothing.
    """
    rate = getattr(source, "rate", None)
    if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and math.isfinite(rate) and rate > 0):
        return False
    attr = getattr(type(source), "rate", None)
    return not isinstance(attr, property) or attr.fset is not None


class RunControls(widgets.HBox):
    """Start, Pause/Resume, speed-up and events/s for a runner, and the run's status.

    Until :meth:`attach` gives them a runner, every control is disabled. ``source`` is
    the run's source: its settable ``rate`` gets a slider, a replay's ``speed`` a line of
    words; a control that cannot do anything is not shown. ``extra`` widgets go at the
    end of the row (widgets without a view of their own: the frame bus, the hover watch).

    >>> import rtnb
    >>> src = rtnb.simulate("ecommerce_orders", rate=20, seed=1)
    >>> c = RunControls(src)
    >>> c.start_button.disabled, c.rate_slider.value
    (True, 20.0)
    >>> r = rtnb.Runner(src, clock=rtnb.SimClock(start="2024-01-01"))
    >>> c.attach(r)
    >>> c.start_button.disabled, c.pause_button.disabled, c.speedup_slider.disabled
    (False, True, False)
    >>> c.rate_slider.value = 50.0       # moves the simulator's rate
    >>> src.rate
    50.0
    """

    def __init__(self, source: Any = None, extra: Sequence[widgets.Widget] = ()) -> None:
        self.runner: Any = None
        self.source = source
        self.live_duration: Any = None  # the duration the last start() asked for (Start repeats it)
        self.start_button = widgets.Button(description="Start", icon="play", disabled=True,
                                           tooltip="start the run again (for the same live duration)")
        self.pause_button = widgets.ToggleButton(value=False, description="Pause", icon="pause", disabled=True)
        self.speedup_slider = LogSlider(  # readout "1", "21,600" (ipywidgets' own: "1.00")
            value=1.0, base=10, min=0, max=4, step=0.1, description="speed-up", disabled=True,
            continuous_update=False,
        )
        has_rate = _settable_rate(source)
        rate = getattr(source, "rate", None)
        self.rate_slider = LogSlider(
            value=1.0, base=10, min=-1, max=5, step=0.1, description="events/s",
            disabled=not has_rate, continuous_update=False,
        )
        if has_rate:
            _show_value(self.rate_slider, float(rate))
        else:  # a control that cannot do anything is not shown (a disabled "1.00" misleads)
            self.rate_slider.layout.display = "none"
        speed = getattr(source, "speed", None)  # a replay's own speed-up (data time / clock time)
        self.replay_speed = widgets.HTML(
            # (a margin: "...per clock time)" ran into the status line's "stopped")
            value=f"<span class='rtnb-replay-speed' style='font-size:12px;color:#555;margin-right:14px'>"
                  f"replay {speed:,.4g}× (data time per clock time)</span>"
            if isinstance(speed, (int, float)) and not isinstance(speed, bool) and speed > 0 else ""
        )
        self.status = LiveHTML(value="")
        super().__init__(
            [self.start_button, self.pause_button, self.speedup_slider, self.rate_slider, self.replay_speed,
             self.status, *extra],
            layout={"align_items": "center", "flex_flow": "row wrap"},
        )
        self.start_button.on_click(self._on_start)
        self.pause_button.observe(self._on_pause, names="value")
        self.speedup_slider.observe(self._on_speedup, names="value")
        self.rate_slider.observe(self._on_rate, names="value")

    def attach(self, runner: Any) -> None:
        """Drive ``runner``: the buttons and the speed-up follow its state and clock."""
        self.runner = runner
        self._enable(runner.state)
        simulated = bool(getattr(runner.clock, "simulated", False))
        self.speedup_slider.disabled = not simulated
        self.speedup_slider.layout.display = None if simulated else "none"
        if simulated:
            _show_value(self.speedup_slider, float(runner.speedup))

    def detach(self) -> None:
        """No runner: every control disabled."""
        self.runner = None
        self.start_button.disabled = True
        self.pause_button.disabled = True
        self.speedup_slider.disabled = True

    def start(self, duration: Any = None, *, speedup: float | None = None):
        """Start the runner live (``Runner.start``); Start repeats ``duration``. Returns the task."""
        if self.runner is None:
            raise ParameterError("runner", None, "attach a runner first: Dashboard(..., runner=r)")
        task = self.runner.start(duration, speedup=speedup)
        self.live_duration = duration
        self.start_button.disabled = True
        self.pause_button.disabled = False
        if self.pause_button.value:  # left on "Resume" by an earlier run that ended paused
            self.pause_button.value = False
        if speedup is not None and not self.speedup_slider.disabled:
            _show_value(self.speedup_slider, float(self.runner.speedup))
        return task

    def show_status(self, now: pd.Timestamp | None) -> None:
        """The buttons for the run's state, and "running · clock 09:00:03, Mon 01 Jan"
        (the full time on hover)."""
        if self.runner is None:
            return
        state = self.runner.state
        self._enable(state)
        when = f" · clock {clock_time(now)}" if now is not None else ""
        full = f" title='{html.escape(str(pd.Timestamp(now)), quote=True)}'" if now is not None else ""
        self.status.value = (
            f"<span class='rtnb-run-state' data-state='{state}'{full} style='font-size:12px;color:#555'>"
            f"{html.escape(state)}{html.escape(when)}</span>"
        )

    def _enable(self, state: str) -> None:
        # Start when nothing runs live; Pause only when there is something to pause.
        self.start_button.disabled = state in ("running", "paused")
        self.pause_button.disabled = state not in ("running", "paused")

    def _on_start(self, _button: Any = None) -> None:
        if self.runner is not None and self.runner.state not in ("running", "paused"):
            self.start(self.live_duration)

    def _on_pause(self, change: dict) -> None:
        if self.runner is None:
            return
        if change["new"]:
            if self.runner.state not in ("running", "paused"):  # nothing to pause: stay "Pause"
                self.pause_button.value = False
                return
            self.runner.pause()
            self.pause_button.description, self.pause_button.icon = "Resume", "play"
        else:
            self.runner.resume()
            self.pause_button.description, self.pause_button.icon = "Pause", "pause"

    def _on_speedup(self, change: dict) -> None:
        if self.runner is not None and not self.speedup_slider.disabled:
            self.runner.speedup = float(change["new"])

    def _on_rate(self, change: dict) -> None:
        if self.source is not None and not self.rate_slider.disabled:
            self.source.rate = float(change["new"])
