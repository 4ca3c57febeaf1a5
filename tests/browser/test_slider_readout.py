"""A LogSlider's editable readout in Chromium: the page rewrites what was typed as a plain
number before ipywidgets' slider view parses it with parseFloat (emulated here: a
listener on the slider's element, as the view delegates its readout's events). The
readout shows "21,600" and "12k"; parsed as is, they set the slider to 21 and 12."""

from __future__ import annotations

import pytest

from rtnb.widgets._bus import FrameBus
from rtnb.widgets._freshness import AGES_IN_BROWSER
from rtnb.widgets._slider import READOUT_CLASS

pytestmark = pytest.mark.skipif(not AGES_IN_BROWSER, reason="anywidget is not installed (the anywidget extra)")

# The bus's module as the page loads it, then a slider as ipywidgets' view draws it: the
# view parses its readout with parseFloat on Enter and keeps its value when that is NaN.
SETUP = """async ([src, cls]) => {
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  await import(url);
  document.body.innerHTML = `<div class="widget-slider ${cls}"><div class="widget-readout" contenteditable="true">1</div></div>`;
  const el = document.querySelector('.widget-slider'), readout = el.querySelector('.widget-readout');
  window.slider = {value: 1, type(text) {
    readout.textContent = text;
    readout.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', keyCode: 13, bubbles: true}));
    return this.value;
  }};
  el.addEventListener('keydown', e => {
    if (e.keyCode !== 13) return;
    const v = parseFloat(readout.textContent);
    if (!isNaN(v)) window.slider.value = v;
    readout.textContent = String(window.slider.value);
  });
}"""


@pytest.mark.parametrize(("typed", "value"), [("21,600", 21600), ("12k", 12_000), ("1.2M", 1_200_000), ("1.26", 1.26),
                                              ("0.1", 0.1), (" 5 ", 5), ("garbage", 7), ("21abc", 7), ("2,16", 7)])
def test_an_edited_readout_parses_as_it_is_shown(chromium, typed, value):
    page = chromium.new_page()
    try:
        page.set_content("<html><body></body></html>")
        page.evaluate(SETUP, [FrameBus._esm, READOUT_CLASS])
        assert page.evaluate("slider.type('7')") == 7
        assert page.evaluate(f"slider.type({typed!r})") == pytest.approx(value)  # (garbage: left as it was)
    finally:
        page.close()
