"""Driving a notebook in a real JupyterLab page: open it, Run All, wait until every code
cell has run, and take a picture of the whole notebook.

Shared by the browser tests and by ``python -m scripts.screenshots`` (which refreshes
the pictures in ``docs/``).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import nbformat

#: The budget (ms) of a wait for something the kernel sends to show on the page. On a
#: loaded 2-core machine the page was seen more than two minutes behind the kernel (it
#: works through a backlog of frames: ``dash.stop()`` had run, the page said "running"
#: 120 s later). A wait returns as soon as its state shows: a big budget costs nothing
#: when the test passes.
SLOW = 300_000

KERNEL_IDLE = """() => { const app = window.jupyterapp; const w = app && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }"""

# Every code cell has an execution count and the kernel is idle: Run All has finished.
ALL_RUN = """() => { const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return cells.length > 0 && cells.every(c => c.model.executionCount !== null); }"""

# Outputs that are Python errors (tracebacks), with their text.
ERRORS = """() => Array.from(document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
  .map(o => o.innerText).filter(t => /Traceback|Error:/.test(t)).map(t => t.slice(0, 800))"""

# Anything MathJax typeset: in Markdown cells, and anywhere on the page.
MATHJAX = """() => ({markdown: document.querySelectorAll('.jp-MarkdownCell mjx-container, .jp-MarkdownCell .MathJax').length,
  page: document.querySelectorAll('mjx-container, .MathJax, .MathJax_Display').length})"""


# Resolves true once a line of dashboard i's first chart has changed its `d` `n` times.
LINES_REDRAW = """([i, n]) => new Promise(res => {
  const fig = document.querySelectorAll('.rtnb-dashboard')[i].querySelector('.rtnb-live-line');
  let seen = 0;
  const obs = new MutationObserver(recs => {
    seen += recs.filter(r => r.target.classList.contains('line')).length;
    if (seen >= n) { obs.disconnect(); res(true); } });
  obs.observe(fig, {attributes: true, attributeFilter: ['d'], subtree: true}); })"""

# Run code in the notebook's kernel (no cell: like a cell the user runs meanwhile); its
# errors and streams are kept in window.rtnbExec (printed when a check fails).
EXECUTE = """(code) => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  window.rtnbExec = window.rtnbExec || [];
  const f = k.requestExecute({code});
  f.onIOPub = msg => { const c = msg.content;
    if (c.ename || c.text) window.rtnbExec.push(c.ename ? c.ename + ': ' + c.evalue : c.text); };
  return true; }"""


_ASKED = [0]

# The line of window.rtnbExec holding `tag`, or the first error sent after entry `n`; false until then.
_ANSWER = """([tag, n]) => { const seen = window.rtnbExec || [];
  const line = seen.flatMap(t => t.split('\\n')).find(t => t.includes(tag));
  if (line) return {line};
  const error = seen.slice(n).find(t => /^\\w+: /.test(t) && !t.includes('rtnb-asked-'));
  return error ? {error} : false; }"""


def kernel_says(page, expression: str, *, before: str = "", timeout: float = SLOW) -> str:
    """What ``expression`` is in the notebook's kernel now (its ``str``), asked like a
    cell the user runs meanwhile: ``before`` (statements, may ``await``) runs first.

    The kernel handles its messages in order: the answer comes after every click sent
    before it was handled, whatever the page shows by then (a loaded page runs behind
    its kernel; the kernel is the truth about its own state)."""
    _ASKED[0] += 1
    tag = f"rtnb-asked-{_ASKED[0]}:"
    n = page.evaluate("() => (window.rtnbExec || []).length")
    page.evaluate(EXECUTE, f"{before}\nprint({tag!r}, {expression})")
    got = page.wait_for_function(_ANSWER, arg=[tag, n], timeout=timeout).json_value()
    assert "line" in got, f"the kernel failed on {expression!r}: {got['error']}"
    return got["line"].split(tag, 1)[1].strip()


def dollar_amounts(notebook: Path) -> list[str]:
    """The dollar amounts the Markdown cells of ``notebook`` write (``\\$8,000``), as
    they must read on the page ("$8,000"): MathJax typesetting a pair of them as maths
    makes them vanish (issue 12)."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return ["$" + m.rstrip(".,") for m in re.findall(r"\\\$([0-9][0-9.,]*)", text)]


def dollars_read_as_dollars(page, notebook: Path) -> None:
    """Every dollar amount of the notebook's Markdown is on the page as written, and
    nothing on the page was typeset by MathJax."""
    text = page.evaluate("() => document.body.innerText")
    missing = [a for a in dollar_amounts(notebook) if a not in text]
    assert missing == [], missing
    found = page.evaluate(MATHJAX)
    assert found == {"markdown": 0, "page": 0}, found


def write_notebook(path: Path, *cells: str) -> Path:
    """A notebook of these code cells, on the Python 3 kernel, at ``path``."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def open_notebook(page, base: str, name: str) -> None:
    """Open ``name`` in a fresh Lab workspace, with the left area closed, and wait for its kernel."""
    page.goto(f"{base}/lab/tree/{name}?reset", timeout=120_000)
    page.wait_for_function(KERNEL_IDLE, timeout=SLOW)
    page.evaluate("() => { const s = window.jupyterapp.shell; if (s.collapseLeft) s.collapseLeft(); }")


def run_all(page, timeout_s: float = 600) -> float:
    """Run All and wait until every code cell has run; returns the wall seconds it took."""
    t0 = time.monotonic()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_RUN, timeout=timeout_s * 1000, polling=250)
    return time.monotonic() - t0


def screenshot_notebook(page, path: Path, width: int = 1400) -> Path:
    """The whole notebook in one picture: the viewport is made as tall as the notebook
    (windowing is off, so every cell is in the DOM), then the notebook panel is shot."""
    height = page.evaluate("""() => { const w = window.jupyterapp.shell.currentWidget;
      w.content.node.classList.remove('jp-mod-scrollPastEnd');  // no blank page under the last cell
      const outer = w.content.node.querySelector('.jp-WindowedPanel-outer') || w.content.node;
      return Math.ceil(outer.scrollHeight); }""")
    # The picture of a notebook, not of an editing session: no active cell's blue bar and
    # outline, no cell toolbar (the last cell run was active in every picture).
    page.add_style_tag(content=".jp-Notebook .jp-Cell { background: transparent !important; "
                       "border-color: transparent !important; box-shadow: none !important; } "
                       ".jp-Notebook .jp-Cell .jp-Collapser { background: transparent !important; } "
                       ".jp-Notebook .jp-cell-toolbar { display: none !important; } "
                       # the active Markdown cell's rendered box (Lab draws a grey border
                       # round it: the box round every notebook's last Markdown cell) and
                       # its heading's collapse arrow
                       ".jp-Notebook .jp-Cell .jp-MarkdownOutput { border-color: transparent !important; } "
                       ".jp-Notebook .jp-Cell:not(.jp-MarkdownHeadingCollapsed) .jp-collapseHeadingButton "
                       "{ visibility: hidden !important; } "
                       ".jp-Notebook .jp-Cell, .jp-Notebook .jp-Cell * { outline: none !important; }")
    page.evaluate("() => document.activeElement && document.activeElement.blur && document.activeElement.blur()")
    page.evaluate("""() => document.querySelectorAll('.jp-Notebook .jp-Cell.jp-mod-active, .jp-Notebook .jp-Cell.jp-mod-selected')
      .forEach(c => c.classList.remove('jp-mod-active', 'jp-mod-selected'))""")
    page.set_viewport_size({"width": width, "height": min(int(height) + 120, 16_000)})
    page.wait_for_timeout(800)  # let Lab lay out the taller panel (a fixed pause, not a wait for work)
    # From the top: Lab keeps the panel scrolled to the last cell run (notebook 04's
    # picture began mid-way through its first paragraph).
    page.evaluate("""() => { const w = window.jupyterapp.shell.currentWidget;
      for (const n of [w.content.node, w.content.node.querySelector('.jp-WindowedPanel-outer')]) if (n) n.scrollTop = 0; }""")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first
    box = panel.bounding_box()
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), clip=box)  # not panel.screenshot(): it waits for a still page
    return path


def shoot_element(page, element, path: Path) -> Path:
    """A picture of one element of a live page (a dashboard).

    Playwright's element screenshot waits for the element to hold still, which a live
    dashboard never does (its table and badge change every frame): the element is
    scrolled into view by the page itself, the viewport made tall enough to hold it,
    and that part of the page is shot."""
    element.evaluate("e => e.scrollIntoView({block: 'start'})")
    box = element.bounding_box()
    size = page.viewport_size
    if box["height"] + 200 > size["height"]:  # Lab's menu, toolbars and status bar take ~150 px
        page.set_viewport_size({"width": size["width"], "height": int(box["height"]) + 240})
        element.evaluate("e => e.scrollIntoView({block: 'start'})")
        box = element.bounding_box()
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), clip={"x": max(0, box["x"]), "y": max(0, box["y"]),
                                          "width": box["width"], "height": box["height"]})
    return path


#: A quick-start dashboard that runs live for long enough (900 s of its clock at 10x) for a
#: browser test to act on it while it runs.
LIVE_DASHBOARD = """import rtnb
orders = rtnb.simulate("ecommerce_orders", rate=200, seed=1, start="2024-01-01 12:00")
dash = rtnb.dashboard(orders, metric="amount", by="country", window="2min", limit="5s", unit="EUR",
                      table=True, clock=rtnb.SimClock(start="2024-01-01 12:00"))
dash.start(900, speedup=10)
dash"""
