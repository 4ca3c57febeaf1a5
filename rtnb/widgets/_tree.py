"""The widgets a widget holds: its children, marks, scales, axes, layouts, tooltips, and
widgets kept as attributes (what a dashboard closes, and what its bus resends to a page
that loaded while it ran)."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

__all__ = ["widget_tree"]


def _widgets_in(value: Any, depth: int = 0) -> list[widgets.Widget]:
    if isinstance(value, widgets.Widget):
        return [value]
    if depth >= 3 or isinstance(value, (str, bytes)):
        return []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple, set)):
        return [w for v in value for w in _widgets_in(v, depth + 1)]
    return []


def widget_tree(root: widgets.Widget) -> list[widgets.Widget]:
    """``root`` and every widget it holds, each once, ``root`` first.

    >>> box = widgets.VBox([widgets.HTML("a")])
    >>> sorted(type(w).__name__ for w in widget_tree(box))
    ['HTML', 'HTMLStyle', 'Layout', 'Layout', 'VBox']
    """
    seen: set[int] = set()
    stack: list[widgets.Widget] = [root]
    found: list[widgets.Widget] = []
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        found.append(w)
        stack.extend(x for x in reversed(_widgets_in(list(vars(w).values()))) if id(x) not in seen)
    return found
