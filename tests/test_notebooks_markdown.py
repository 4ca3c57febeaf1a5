"""Every notebook's Markdown reads as written: no `$` that Jupyter would turn into maths.

JupyterLab, Notebook 7 and Voila typeset ``$...$`` in Markdown cells with MathJax, so
"$8,000 with batch refresh; real time $200" renders as an italic run with the spaces
gone. The Markdown escape ``\\$`` is NOT enough there: the Markdown renderer turns it
into a plain ``$`` before MathJax reads the page (jupyterlab/jupyterlab#8645; seen here
in Lab 4.6 and Voila 0.5 under Chromium: ``\\$8,000 and \\$200`` typesets). Write two
backslashes, ``\\\\$``: Markdown leaves ``\\$`` and MathJax (processEscapes) shows ``$``.
This test reads every notebook in ``notebooks/`` (the ones added later too) and fails on
any ``$`` outside code not written ``\\\\$`` (inline code spans and fenced blocks are
shown literally, so they may hold ``$``). The browser test checks the rendering itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_DOLLAR = re.compile(r"(?<!\\\\)\$")  # a $ not written \\$ (two backslashes: see above)


def unescaped_dollars(markdown: str) -> list[str]:
    """Snippets around each ``$`` that Jupyter would read as a maths delimiter.

    >>> unescaped_dollars(r"costs \\\\$8,000; `echo $HOME`")
    []
    >>> len(unescaped_dollars(r"costs \\$8,000 and \\$200"))   # one backslash: MathJax still pairs them
    2
    >>> len(unescaped_dollars("from $200 to $800"))
    2
    """
    text = _FENCE.sub(lambda m: " " * len(m.group(0)), markdown)
    text = _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)
    return [markdown[max(0, m.end() - 10):m.end() + 5] for m in _DOLLAR.finditer(text)]


def markdown_cells(path: Path) -> list[tuple[int, str]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for i, c in enumerate(cells) if c["cell_type"] == "markdown"]


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_unescaped_dollar_in_markdown(path):
    found = [(i, s) for i, src in markdown_cells(path) for s in unescaped_dollars(src)]
    assert not found, (f"{path.name}: write \\\\$ for a dollar sign in Markdown (Jupyter reads $...$ as maths); "
                       f"cell, text: {found}")


def test_the_check_catches_what_mathjax_would_typeset():
    assert unescaped_dollars("a $8,000 build and $200 a month")
    assert unescaped_dollars("$x$")
    assert not unescaped_dollars(r"a \\$8,000 build and \\$200 a month")
    assert unescaped_dollars(r"a \$8,000 build and \$200 a month")  # Lab renders this as maths
    assert not unescaped_dollars("```python\nprice = '$5'\n```\nand `$HOME`")
