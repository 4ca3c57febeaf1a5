"""The screens of a live dashboard, in a real JupyterLab under headless Chromium (issue 12):
a page reloaded during the run shows what the kernel shows, and a frame's custom
messages reach the page in order with its updates.

A reloaded page gets every widget's state from ipywidgets' ``request_states`` reply,
then builds its models and its frame bus; the bus's frames that arrive before its
front-end module has loaded have no listener and are lost. To make that gap certain
rather than lucky, the test holds the bus's module while the page loads (an init script
hands anywidget a URL the test answers only when told: the page waits as on a slow
load), and meanwhile pauses the run from the kernel and draws the paused frame: what a
click in another tab, or a run ending, does while a page loads. A paused run changes
nothing after that, so without the bus's resend the page said "running" for good. The
checks wait on states of the page and the kernel, never on a time; a sync frame sent
through the bus after the page's bus has loaded says when everything before it has been
applied (the bus applies its messages in order).
"""

from __future__ import annotations

import contextlib

import nbformat
import pytest

from tests.browser._lab import LIVE_DASHBOARD as DASHBOARD, SLOW, kernel_says, open_notebook, run_all
from tests.browser._servers import jupyter_lab

pytestmark = pytest.mark.timeout(900)

# A probe widget that records, in the page, the changes of its trait and the custom
# messages it gets, in the order they came.
PROBE = '''import anywidget, traitlets
class Probe(anywidget.AnyWidget):
    _esm = """export default { render({ model, el }) {
      el.classList.add('rtnb-probe'); const seen = window.rtnbProbe = window.rtnbProbe || [];
      model.on('change:n', () => seen.push('n=' + model.get('n')));
      model.on('msg:custom', c => seen.push('custom ' + c.note)); } };"""
    n = traitlets.Int(0).tag(sync=True)
probe = Probe()
probe'''

# Before the page's scripts run: anywidget loads each ES module from a Blob of its
# source; the bus's (its source names "[rtnb bus]") gets its listener and its "ready"
# only when the test releases it, as if its module were still loading (the model
# itself initialises at once: anywidget gives a model 2 s to do so).
HOLD_BUS = """(() => { const B = window.Blob;
  window.rtnbBusGate = new Promise(r => { window.rtnbReleaseBus = r; });
  const listen = 'model.on("msg:custom", onCustom);', ready = 'try { model.send({ ready: true }); }';
  const later = 'window.rtnbBusGate.then(() => { ' + listen + ' ' + ready + ' catch (e) {} window.rtnbBusListens = true; });';
  window.Blob = class extends B { constructor(parts, opts) {
    const src = parts && parts[0];
    if (typeof src === 'string' && src.includes('[rtnb bus]') && src.includes(listen) && src.includes(ready)
        && !window.rtnbBusHeld) {
      window.rtnbBusHeld = true;
      parts = [src.replace(ready, 'if (false) ' + ready).replace(listen, later)];
    }
    super(parts, opts); } }; })();"""

# While the page's bus is held: the run is paused (as the Pause button does), and the
# paused frame is drawn through the bus.
PAUSE = "dash.pause_button.value = True\ndash.runner.frame()"

# A frame of the bus: the probe's trait, a custom message, the trait again, then a mark
# in the title (the page shows it once it has applied everything the bus sent before).
SYNC = """with dash.bus.frame():
    probe.n = 1
    probe.send({'note': 'between'})
    probe.n = 2
    dash.title_html.value = "<b class='rtnb-synced'>synced</b>\""""

BADGE = "document.querySelector('.rtnb-dashboard .rtnb-freshness')"
ACKING = f"() => {{ const b = {BADGE}; return !!b && !!b.dataset.acked; }}"
SHOWN = f"""() => {{ const b = {BADGE}, s = document.querySelector('.rtnb-dashboard .rtnb-run-state');
  const pause = Array.from(document.querySelectorAll('.rtnb-dashboard button'))
    .map(x => x.innerText.trim()).find(t => t === 'Pause' || t === 'Resume');
  return {{badge: b && b.dataset.state, run: b && b.dataset.run, status: s && s.dataset.state, pause,
          probe: window.rtnbProbe || []}}; }}"""
SAVED = "() => { const w = window.jupyterapp.shell.currentWidget; return !!w && !w.context.model.dirty; }"


def _notebook(work) -> None:
    work.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(DASHBOARD), nbformat.v4.new_code_cell(PROBE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, work / "screens.ipynb")


@contextlib.contextmanager
def _running_page(chromium, tmp_path):
    """A Lab page of the screens notebook, run, its screen acknowledging frames: yields
    the page and the rtnb lines of its console; closes the page, then the server."""
    _notebook(tmp_path / "work")
    with jupyter_lab(tmp_path / "work", tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(SLOW)
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text[:300]) if "rtnb" in m.text else None)
        try:
            open_notebook(page, base, "screens.ipynb")
            run_all(page)
            page.wait_for_function(ACKING, timeout=SLOW, polling=200)
            yield page, console
        finally:
            page.close()


def test_a_page_reloaded_during_a_run_shows_the_kernels_state(chromium, tmp_path):
    with _running_page(chromium, tmp_path) as (page, console):
        page.wait_for_selector(".rtnb-probe", state="attached")
        # Frames go through the bus (a screen acknowledges them, its bus is ready).
        page.wait_for_function(
            f"() => !!document.querySelector('.rtnb-frame-bus') && !!({BADGE}).dataset.acked", timeout=SLOW)
        assert int(kernel_says(page, "dash.bus.messages_sent")) > 0
        # Saved with its outputs: the reloaded page shows the live dashboard again.
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(SAVED, timeout=SLOW)
        page.add_init_script(HOLD_BUS)
        page.reload(timeout=120_000)
        page.wait_for_function("() => window.rtnbBusHeld === true", timeout=SLOW)  # its bus is loading
        page.wait_for_selector(".rtnb-dashboard .rtnb-freshness", state="attached", timeout=SLOW)
        assert kernel_says(page, "dash.runner.state", before=PAUSE) == "paused"  # (lost on the page)
        assert not page.evaluate("() => !!window.rtnbBusListens")
        page.evaluate("() => window.rtnbReleaseBus()")
        page.wait_for_function("() => window.rtnbBusListens === true", timeout=SLOW)  # it said ready
        print("kernel after the reload (front-ends, resends):",
              kernel_says(page, "(dash.bus.front_ends, getattr(dash.bus, 'resends', None))"), flush=True)
        kernel_says(page, "'synced'", before=SYNC)
        try:
            page.wait_for_selector(".rtnb-dashboard .rtnb-synced", state="attached", timeout=SLOW)
        finally:
            print("the page:", page.evaluate(SHOWN), "console:", console[-10:])
        shown = page.evaluate(SHOWN)
        print("the reloaded page shows:", shown)
        # The page says what the kernel says: paused, everywhere, not "running" for good.
        assert shown["status"] == "paused" and shown["run"] == "paused" and shown["badge"] == "paused", shown
        assert shown["pause"] == "Resume", shown  # (changed outside a frame, while the page loaded)
        # The frame's custom message came between its two updates, as it was sent.
        assert shown["probe"] == ["n=1", "custom between", "n=2"], shown


# -- a hidden page ---------------------------------------------------------------------
# Headless Chromium's pages are always visible (a second tab, a minimised window and
# CDP's Page.setWebLifecycleState leave visibilityState 'visible' and fire nothing), so
# the page is hidden as the browser would: document.visibilityState reads 'hidden' and
# a visibilitychange is dispatched; shown again, the same back.
HIDE = """() => { for (const [k, v] of [['visibilityState', 'hidden'], ['hidden', true]])
    Object.defineProperty(document, k, {configurable: true, get: () => v});
  document.dispatchEvent(new Event('visibilitychange')); return document.visibilityState; }"""
SHOW = """() => { delete document.visibilityState; delete document.hidden;
  document.dispatchEvent(new Event('visibilitychange')); return document.visibilityState; }"""
# From now on: the newest beat the page's badge shows, and the redraws of the dashboard's lines.
COUNT = f"""() => {{ const fig = document.querySelector('.rtnb-dashboard .rtnb-live-line'), b = {BADGE};
  const seen = window.rtnbSeen = {{lines: 0, beat: Number(b.dataset.beat)}};
  new MutationObserver(recs => {{ seen.lines += recs.filter(r => r.target.classList.contains('line')).length; }})
    .observe(fig, {{attributes: true, attributeFilter: ['d'], subtree: true}});
  new MutationObserver(() => {{ seen.beat = Math.max(seen.beat, Number(b.dataset.beat)); }})
    .observe(b, {{attributes: true, attributeFilter: ['data-beat']}});
  return true; }}"""
# In the kernel: until the page's hidden state has come, then the frame counts then.
HIDDEN = """import asyncio
_b = dash._screen()
while not _b.hidden:
    await asyncio.sleep(0.05)
_f, _r, _beat = dash.frames, dash.runner.health.frames, _b.beat"""
# In the kernel: until the runner has made 40 more frames (4 s at 10 frames/s).
FORTY = """while dash.runner.health.frames < _r + 40:
    await asyncio.sleep(0.05)"""
BADGE_IS = f"() => {{ const b = {BADGE}; return {{...b.dataset}}; }}"


def test_a_hidden_page_gets_no_frames_and_is_current_once_shown(chromium, tmp_path):
    # A long-hidden tab acknowledged frames at Chrome's throttled timer rate: the kernel
    # kept drawing, and sending, frames nobody saw. Now it sends none while no view of
    # the dashboard is shown, and a page shown again gets the newest state at once.
    with _running_page(chromium, tmp_path) as (page, console):
        page.evaluate(COUNT)
        assert page.evaluate(HIDE) == "hidden"
        beat = int(kernel_says(page, "_beat", before=HIDDEN))  # the kernel knows
        drawn, held, state, beats = kernel_says(
            page, "dash.frames - _f, dash.acks.held_hidden >= 40, dash.runner.state, _b.beat - _beat",
            before=FORTY).split()
        # 40 frames of the runner, none sent; the run goes on. The kernel draws its own
        # widgets once a second meanwhile (HIDDEN_FRAME_S: what Python reads stays current),
        # the first at once, and sends none of them (the page's beat stays: asserted below).
        assert (held, state) == ("True", "running") and int(drawn) == int(beats) >= 1
        # Longer than silent_s without a message, and the hidden badge does not call
        # its kernel "not responding" (nothing was sent to it).
        page.wait_for_function(f"() => Number({BADGE}.dataset.silent) > 2.5", timeout=SLOW)
        hidden = page.evaluate(BADGE_IS)
        print("hidden at beat", beat, "the page:", hidden, console[-10:], flush=True)
        assert hidden["kernel"] == "responding" and hidden["shown"] == "no", hidden
        # (frames sent before the kernel heard may still have come meanwhile; none after)
        assert page.evaluate("() => window.rtnbSeen.beat") <= beat
        page.evaluate("() => { window.rtnbSeen.lines = 0; }")
        newest = int(kernel_says(page, "int(dash.store.latest(_b.metric).newest_event.value // 1_000_000)"))
        assert int(hidden["newest"]) < newest  # the store went on; the page shows older data
        assert page.evaluate(SHOW) == "visible"
        # Shown again: the newest data comes at once, the lines redraw, frames flow.
        try:
            page.wait_for_function(f"() => Number({BADGE}.dataset.newest) >= {newest}", timeout=SLOW)
            page.wait_for_function(f"() => window.rtnbSeen.lines > 0 && window.rtnbSeen.beat > {beat}",
                                   timeout=SLOW)
        finally:
            print("the page:", page.evaluate(BADGE_IS), page.evaluate("() => window.rtnbSeen"), flush=True)
            print("the kernel:", kernel_says(page, "dash.frames - _f, _b.views, dash.acks, dash.bus.resends, "
                                                   "dash.runner.state, dash.runner.health.frames - _r"), flush=True)
        shown = page.evaluate(BADGE_IS)
        assert shown["shown"] == "yes" and shown["run"] == "running", shown
        after = kernel_says(page, "dash.frames > _f, _b.hidden, dash.bus.resends > 0, dash.runner.state")
        assert after.split() == ["True", "False", "True", "running"], after
