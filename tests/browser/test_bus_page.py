"""The frame bus's front-end (rtnb/widgets/_bus.js) in Chromium, on a widget manager of
the test's own (no Jupyter), in the page's simulated time (Playwright's clock: the
bus's waits are timers, advanced by the test): one update whose model never comes, or
whose state never deserialises, must not hold the dashboard's frames after it, and the
page asks the kernel for the full state of what it had to skip, a bounded number of
times.

Seen under load in Lab and Notebook 7 (session 7): one dashboard's bus stopped applying
frames for good, with no console error (its badge's beat stayed old while the kernel
held its frames back for lack of acknowledgements). The bus applies frames in order,
one after the other: an await that never settled held every later frame.
"""

from __future__ import annotations

import pytest

from tests.browser._servers import ROOT

WAIT_MS = 2000  # the bus's wait for a model or a deserialisation

# The bus's ES module on a fake widget manager: model "A" applies what it is given; "D"'s
# deserialiser hangs while `holdD` (release() settles every hung one); "S"'s model is made
# only when the test says (makeS), and closes when it says (closeS); any other id is not
# a model of this page. `window.bus.frame([[id, state], ...])` is a frame from the kernel,
# `kernel(content)` any other message of it; `sent` what the page sent to the kernel.
SETUP = """async (src) => {
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const bus = (await import(url)).default;
  const hung = [];
  let holdD = true, makeS;
  const fake = (id, deserialise) => ({id, shown: {}, closers: [], set_state(s) { Object.assign(this.shown, s); },
    trigger() {}, once(name, f) { if (name === 'comm:close') this.closers.push(f); },
    constructor: {_deserialize_state: deserialise}});
  const A = fake('A', async s => s), S = fake('S', async s => s);
  const D = fake('D', s => holdD ? new Promise(r => hung.push(() => r(s))) : Promise.resolve(s));
  const madeS = new Promise(r => { makeS = r; });
  const closed = new Set(), made = {A, D};
  const manager = {get_model: id => closed.has(id) ? Promise.reject(new Error('widget model not found'))
    : id === 'S' ? madeS : made[id] ? Promise.resolve(made[id]) : Promise.reject(new Error('widget model not found'))};
  const handlers = {}, sent = [];
  const model = {widget_manager: manager, on: (n, f) => { handlers[n] = f; }, off() {},
    send: m => { sent.push(m); if (window.bus.onSend) window.bus.onSend(m); }};
  window.bus = {A, D, S, sent, onSend: null,
    frame: entries => handlers['msg:custom']({rtnb_frame: entries.map(([id, s]) => [id, s, [], 0])}, []),
    kernel: content => handlers['msg:custom'](content, []),
    release() { holdD = false; hung.splice(0).forEach(f => f()); },
    makeS() { makeS(S); },
    closeS() { closed.add('S'); S.closers.forEach(f => f()); },
    asks: id => sent.filter(m => (m.missed || []).includes(id)).length};
  bus.initialize({model});
}"""


@pytest.fixture
def page(chromium):
    page = chromium.new_page()
    page.clock.install()
    page.set_content("<html><body></body></html>")
    page.evaluate(SETUP, (ROOT / "rtnb" / "widgets" / "_bus.js").read_text())
    try:
        yield page
    finally:
        page.close()


def shown(page, name):
    return page.evaluate(f"window.bus.{name}.shown")


def test_an_update_that_never_settles_does_not_hold_the_frames_after_it(page):
    page.evaluate("""() => {
      bus.frame([['S', {v: 1}], ['D', {v: 1}], ['A', {v: 1}]]);
      bus.frame([['S', {v: 2}], ['gone', {v: 2}], ['D', {v: 2}], ['A', {v: 2}]]);
    }""")
    page.clock.run_for(2 * WAIT_MS + 100)  # S's model, then D's deserialisation: a wait each, once
    assert shown(page, "A") == {"v": 2}  # both frames applied, in order, past S and D
    assert page.evaluate("bus.sent[0]") == {"ready": True}
    assert page.evaluate("bus.asks('gone')") == 1  # not a model of this page: the kernel is asked
    # S's model and D's update have not settled: asked for once they do, not now (the
    # kernel's answer would come while they are still skipped, and be skipped too).
    assert page.evaluate("[bus.asks('S'), bus.asks('D'), bus.asks('A')]") == [0, 0, 0]


def test_a_widget_whose_update_did_not_deserialise_holds_no_later_frame_until_it_settles(page):
    # The kernel answers the page's ask with the widget's full state, which could time out
    # again: a 2 s wait per frame on a widget that never deserialises.
    page.evaluate("""() => {
      bus.onSend = m => { if ((m.missed || []).includes('D')) bus.frame([['D', {v: 'full'}]]); };
      bus.frame([['D', {v: 1}], ['A', {v: 1}]]);
    }""")
    page.clock.run_for(WAIT_MS + 100)
    # Not asked for yet: the answer would be skipped too, while D's update is stuck (it
    # was asked for twice: at the timeout, and once its update settled).
    assert shown(page, "A") == {"v": 1} and page.evaluate("bus.asks('D')") == 0
    page.evaluate("() => { for (let i = 2; i <= 10; i++) bus.frame([['D', {v: i}], ['A', {v: i}]]); }")
    page.clock.run_for(10)  # no wait: D is skipped while its deserialisation is stuck
    assert shown(page, "A") == {"v": 10}
    assert shown(page, "D") == {} and page.evaluate("bus.asks('D')") == 0  # nor meanwhile
    page.evaluate("bus.release()")  # it settles: the page asks once, the kernel's full state applies
    page.clock.run_for(10)
    assert page.evaluate("bus.asks('D')") == 1 and shown(page, "D") == {"v": "full"}
    page.evaluate("bus.frame([['D', {v: 11}], ['A', {v: 11}]])")  # and its updates apply again
    page.clock.run_for(10)
    assert shown(page, "D") == {"v": 11} and shown(page, "A") == {"v": 11}


def test_a_model_that_came_late_is_forgotten_when_it_closes(page):
    page.evaluate("bus.frame([['S', {v: 1}], ['A', {v: 1}]])")
    page.clock.run_for(WAIT_MS + 100)
    assert shown(page, "A") == {"v": 1} and shown(page, "S") == {}
    assert page.evaluate("bus.asks('S')") == 0  # still being made: asked for once it is
    page.evaluate("bus.makeS()")  # made at last: kept, and its full state asked for, once
    page.clock.run_for(10)
    asks = page.evaluate("bus.asks('S')")
    assert asks == 1
    page.evaluate("bus.frame([['S', {v: 2}]])")
    page.clock.run_for(10)
    assert shown(page, "S") == {"v": 2}
    page.evaluate("bus.closeS()")  # closed: the bus must not keep (and update) the closed model
    page.evaluate("bus.frame([['S', {v: 3}], ['A', {v: 3}]])")
    page.clock.run_for(10)
    assert shown(page, "A") == {"v": 3} and shown(page, "S") == {"v": 2}
    assert page.evaluate("bus.asks('S')") == asks + 1  # (asked for: the kernel will say it is gone)


def test_a_model_the_page_never_makes_is_asked_for_less_and_less_and_not_once_gone(page):
    # X updates on every frame (8/s) but this page never makes its model; the kernel
    # answers every ask with X's full state. Over a simulated minute the page asked 30
    # times (every WAIT_MS): now it waits twice as long after each ask.
    page.evaluate("""() => {
      bus.onSend = m => { if ((m.missed || []).includes('X')) bus.frame([['X', {full: true}]]); };
      setInterval(() => bus.frame([['X', {v: 1}], ['Y', {v: 1}], ['A', {v: performance.now()}]]), 125);
    }""")
    page.evaluate("bus.kernel({gone: ['Y']})")  # the kernel closed Y: the page never asks for it
    page.clock.run_for(60_000)
    asks = page.evaluate("bus.asks('X')")
    assert asks == 5, asks  # at 0, 2, 6, 14 and 30 s: the next would be at 62 s (30 times before)
    assert page.evaluate("bus.asks('Y')") == 0
    assert shown(page, "A")["v"] >= 59_000  # the frames kept being applied meanwhile
