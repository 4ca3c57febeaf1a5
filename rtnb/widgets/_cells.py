"""Re-running a notebook cell replaces what it built: the dashboards a cell built in
its earlier run are closed when the cell runs again.

The cell is found through its id, which JupyterLab and Notebook 7 send with each
execution; the dashboards are held by weak references only, so nothing here keeps one
alive. :func:`close_widgets` closes a widget and everything it holds.
"""

from __future__ import annotations

import weakref
from typing import Any

import ipywidgets as widgets

from ._tree import widget_tree

__all__ = ["close_widgets", "replace_earlier_run"]

# cell id -> (id of the execution that built them, weak references to its dashboards).
# Strings and weak references only: it keeps no dashboard alive.
_BUILT_BY_CELL: dict[str, tuple[str, list[weakref.ref]]] = {}


def _cell_run() -> tuple[str, str] | None:
    """(cell id, execution id) of the notebook cell running now, or None outside one."""
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent() if kernel is not None else None
    except Exception:  # no IPython, an old ipykernel: nothing to track
        return None
    if not isinstance(parent, dict):
        return None
    cell = (parent.get("metadata") or {}).get("cellId")
    run = (parent.get("header") or {}).get("msg_id")
    return (str(cell), str(run)) if cell and run else None


def replace_earlier_run(dash: Any) -> None:
    """Close what the same cell built in an earlier run (anything with ``close()``);
    remember ``dash`` as built by this run."""
    where = _cell_run()
    if where is None:
        return
    cell, run = where
    earlier = _BUILT_BY_CELL.get(cell)
    if earlier is not None and earlier[0] != run:
        for ref in earlier[1]:
            old = ref()
            if old is not None and old is not dash:
                old.close()
        earlier = None
    if earlier is None:
        earlier = (run, [])
        _BUILT_BY_CELL[cell] = earlier
    earlier[1].append(weakref.ref(dash))
    if len(_BUILT_BY_CELL) > 1000:  # bounded: forget cells whose dashboards are gone
        for c in [c for c, (_, refs) in _BUILT_BY_CELL.items() if all(r() is None for r in refs)]:
            del _BUILT_BY_CELL[c]


def close_widgets(root: widgets.Widget) -> int:
    """Close ``root`` and every widget it holds (children, marks, scales, axes, layouts,
    tooltips, widgets kept as attributes); returns how many were closed.

    ``Widget.close()`` closes one widget: its layout, style and children stay in
    ipywidgets' registry (and in the browser) until closed too.

    >>> box = widgets.VBox([widgets.Button(), widgets.HTML("x")])
    >>> close_widgets(box) >= 3      # the box, its two children (and their layouts, styles)
    True
    >>> box.comm is None
    True
    """
    found = widget_tree(root)
    for w in found:
        widgets.Widget.close(w)
    return len(found)
