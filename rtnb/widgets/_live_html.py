"""LiveHTML: an HTML widget whose page patches what changed instead of re-setting it.

The views' text that changes every frame (KPI tiles, the error panel, the live table,
a dashboard's status) was each an ``ipywidgets.HTML``, whose page sets ``innerHTML`` on
every change: every node thrown away, rebuilt, restyled and laid out again, per frame
per dashboard. :class:`LiveHTML` has the same ``value`` (so kernel-side code and tests
read it as before); its front-end (``_live_html.js``, anywidget, no build step) parses
the new value and changes only the nodes that differ. Without anywidget (an optional
extra) it is ``ipywidgets.HTML`` itself.

>>> w = LiveHTML(value="<b>1</b>")
>>> w.value = "<b>2</b>"
>>> w.value
'<b>2</b>'
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import traitlets

from ._freshness import AGES_IN_BROWSER

__all__ = ["LiveHTML"]

if AGES_IN_BROWSER:
    from anywidget import AnyWidget

    class LiveHTML(AnyWidget):
        """HTML text (``value``) shown by patching the page's nodes where they changed."""

        # (a str: anywidget keeps a widget whose _esm is a file alive, connected to its change signal)

        _esm = Path(__file__).with_name("_live_html.js").read_text(encoding="utf-8")
        value = traitlets.Unicode("").tag(sync=True)

        def __init__(self, value: str = "", **kwargs) -> None:
            super().__init__(value=value, **kwargs)

else:  # pragma: no cover - depends on the environment
    LiveHTML = widgets.HTML
