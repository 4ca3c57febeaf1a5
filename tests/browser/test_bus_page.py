"""The frame bus's front-end (rtnb/widgets/_bus.js) in Chromium, on a widget manager of
the test's own (no Jupyter): one update whose model never comes, or whose state never
deserialises, must not hold the dashboard's frames after it, and the page asks the
kernel for the full state of what it had to skip.

Seen under load in Lab and Notebook 7 (session 7): one dashboard's bus stopped applying
frames for good, with no console error (its badge's beat stayed old while the kernel
held its frames back for lack of acknowledgements). The bus applies frames in order,
one after the other: an await that never settled held every later frame.
"""

from __future__ import annotations

from tests.browser._servers import ROOT

# A page holding the bus's ES module and a fake widget manager: model "A" applies what it
# is given; "S"'s model is still being made and never comes; "D"'s first state never
# deserialises; "gone" is not a model of this page. Two frames, then a wait (in the page)
# until A shows the second frame's state or 60 s pass; returns what A and D show and what
# the bus sent to the kernel.
BUS_PAGE = """async (src) => {
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const bus = (await import(url)).default;
  const fake = (id, deserialise) => ({id, shown: {}, set_state(s) { Object.assign(this.shown, s); },
    trigger() {}, constructor: {_deserialize_state: deserialise}});
  const A = fake('A', async s => s), D = fake('D', s => s.hang ? new Promise(() => {}) : Promise.resolve(s));
  const made = {A, D};
  const manager = {get_model: id => id === 'S' ? new Promise(() => {})
    : made[id] ? Promise.resolve(made[id]) : Promise.reject(new Error('widget model not found'))};
  const handlers = {}, sent = [];
  const model = {widget_manager: manager, on: (n, f) => { handlers[n] = f; }, off() {}, send: m => sent.push(m)};
  bus.initialize({model});
  handlers['msg:custom']({rtnb_frame: [['S', {v: 1}, [], 0], ['D', {hang: true}, [], 0], ['A', {v: 1}, [], 0]]}, []);
  handlers['msg:custom']({rtnb_frame: [['S', {v: 2}, [], 0], ['gone', {v: 2}, [], 0], ['D', {v: 2}, [], 0],
                                       ['A', {v: 2}, [], 0]]}, []);
  const t0 = performance.now();
  while (A.shown.v !== 2 && performance.now() - t0 < 60000) await new Promise(r => setTimeout(r, 50));
  return {a: A.shown.v, d: D.shown, sent};
}"""


def test_an_update_that_never_settles_does_not_hold_the_frames_after_it(chromium):
    page = chromium.new_page()
    try:
        page.set_content("<html><body></body></html>")
        got = page.evaluate(BUS_PAGE, (ROOT / "rtnb" / "widgets" / "_bus.js").read_text())
    finally:
        page.close()
    assert got["a"] == 2, got  # both frames applied, in order, past S and D
    assert got["d"] == {"v": 2}, got  # D's later update applied (its stuck one skipped)
    assert got["sent"][0] == {"ready": True}
    missed = {i for m in got["sent"][1:] for i in m.get("missed", [])}
    assert {"S", "D", "gone"} <= missed, got  # the kernel is asked for their full state
    assert "A" not in missed
