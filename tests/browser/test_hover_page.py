"""The hover watch's front-end (rtnb/widgets/_hover.js) in Chromium, on a fake model, in
the page's simulated time (Playwright's clock): a view pointing at a chart says so again
every 2 s, so the kernel can drop the hover of a page that died without its pagehide
(rtnb.widgets._hover.HOVER_TTL); once it has left, it says nothing more."""

from __future__ import annotations

from tests.browser._servers import ROOT

SETUP = """async (src) => {
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const watch = (await import(url)).default;
  document.body.innerHTML = '<div class="rtnb-live-line rtnb-line-id-L" style="width:200px;height:100px"></div>'
    + '<div id="away" style="width:200px;height:100px"></div>';
  const sent = [];
  const model = {get: () => ['L'], on() {}, off() {}, send: m => sent.push(m)};
  watch.render({model, el: document.createElement('div')});
  window.hover = {sent,
    over: sel => document.querySelector(sel).dispatchEvent(new PointerEvent('pointerover', {bubbles: true})),
    ons: () => sent.filter(m => m.hover === 'L' && m.on === true).length,
    offs: () => sent.filter(m => m.hover === 'L' && m.on === false).length};
}"""


def test_a_view_pointing_at_a_chart_says_so_again_until_it_leaves(chromium):
    page = chromium.new_page()
    try:
        page.clock.install()
        page.set_content("<html><body></body></html>")
        page.evaluate(SETUP, (ROOT / "rtnb" / "widgets" / "_hover.js").read_text())
        page.evaluate("hover.over('.rtnb-live-line')")
        assert page.evaluate("hover.ons()") == 1
        page.clock.run_for(10_000)  # pointing still, for 10 s: said again every 2 s
        assert page.evaluate("hover.ons()") == 6
        page.evaluate("hover.over('#away')")
        page.clock.run_for(10_000)  # left (told after 300 ms): nothing more
        assert page.evaluate("[hover.ons(), hover.offs()]") == [6, 1]
    finally:
        page.close()
