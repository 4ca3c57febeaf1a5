"""Driving a notebook in a real JupyterLab page: open it, Run All, wait until every code
cell has run, and take a picture of the whole notebook.

Shared by the browser tests and by ``python -m scripts.screenshots`` (which refreshes
the pictures in ``docs/``).
"""

from __future__ import annotations

import time
from pathlib import Path

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


def open_notebook(page, base: str, name: str) -> None:
    """Open ``name`` in a fresh Lab workspace, with the left area closed, and wait for its kernel."""
    page.goto(f"{base}/lab/tree/{name}?reset", timeout=90_000)
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    page.evaluate("() => { const s = window.jupyterapp.shell; if (s.collapseLeft) s.collapseLeft(); }")


def run_all(page, timeout_s: float = 180) -> float:
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
    page.set_viewport_size({"width": width, "height": min(int(height) + 120, 16_000)})
    page.wait_for_timeout(800)  # let Lab lay out the taller panel (a fixed pause, not a wait for work)
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first
    path.parent.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(path))
    return path
