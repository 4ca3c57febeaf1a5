"""LiveHTML in a real JupyterLab under headless Chromium: the page patches what changed
and shows exactly the kernel's value (issue 12: a frame that changes one number changes
one text node, not the whole tile).

Each value the kernel sets is compared with what the browser makes of that value on its
own (a template's innerHTML: the same parsing, the same normalisation): text changes,
attribute changes, nodes added and removed, an element of another kind, inline SVG.
Nodes that did not change are the same nodes after a change (a marker set on one in the
page survives), and a node of another kind is a new one.
"""

from __future__ import annotations

import json

import pytest

from tests.browser._lab import SLOW, kernel_says, open_notebook, run_all, write_notebook
from tests.browser._servers import jupyter_lab

pytestmark = pytest.mark.timeout(600)

CELL = """from rtnb.widgets._live_html import LiveHTML
w = LiveHTML(value="<div class='t'><b>1</b> <span style='color:red'>up</span></div>")
w.add_class("rtnb-probe-html")
w"""

VALUES = [
    "<div class='t'><b>2</b> <span style='color:green'>down</span></div>",  # text + attribute
    "<div class='t'><b>2</b> <span style='color:green'>down</span><i>new</i> tail</div>",  # nodes added
    "<div class='t'><b>3</b></div>",  # nodes removed
    "<div class='t'><em>3</em></div>",  # another kind of element
    "<div class='t' data-n='4'><svg viewBox='0 0 10 10'><path d='M0 0L10 10'/></svg>4 &amp; 5</div>",
    "",
    "plain text, then <b>bold</b>",
]

SHOWN = """() => { const c = document.querySelector('.rtnb-probe-html .widget-html-content');
  return c ? c.innerHTML : null; }"""
# What the browser makes of a value on its own.
PARSED = "(v) => { const t = document.createElement('template'); t.innerHTML = v; return t.innerHTML; }"
MARK = "() => { document.querySelector('.rtnb-probe-html .t').rtnbMark = 1; return true; }"
MARKED = "() => { const t = document.querySelector('.rtnb-probe-html .t'); return !!t && t.rtnbMark === 1; }"


def test_live_html_shows_the_kernels_value_and_keeps_unchanged_nodes(chromium, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    write_notebook(work / "html.ipynb", CELL)
    with jupyter_lab(work, tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1200, "height": 800})
        page.set_default_timeout(SLOW)
        try:
            open_notebook(page, base, "html.ipynb")
            run_all(page)
            page.wait_for_function(f"() => ({SHOWN})() !== null", timeout=SLOW)
            assert page.evaluate(MARK)
            for i, value in enumerate(VALUES):
                kernel_says(page, "w.value[:8]", before=f"w.value = {json.dumps(value)}")
                want = page.evaluate(PARSED, value)
                page.wait_for_function(f"(want) => ({SHOWN})() === want", arg=want, timeout=SLOW)
                if value.startswith("<div"):  # the outer div was patched, never replaced
                    assert page.evaluate(MARKED), (i, value)
        finally:
            page.close()
