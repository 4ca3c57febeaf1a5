"""FrameBus: one comm message per dashboard frame, whatever the number of views.

Each view still sets its own traits kernel-side, in one ``hold_sync()`` per widget, so
its state is the same as ever (``get_state()``, the widget tests); while a frame is
drawn through the bus, the messages those changes would each have sent are collected
instead and go out together, as one custom message of the bus, whose front-end
(``_bus.js``) applies them to the views' own models in order, with the models' own
deserialisers. What it saves is per message, in all three processes: the kernel's
serialisation and IOPub send (4.3 ms of wall time each at load), the Jupyter server's
relay, the page's kernel connection and widget-manager dispatch.

The bus is used only once its front-end has said it is ready (``ready``) and a screen
shows the dashboard (its badge acknowledged a frame): without a front-end that applies
them, collected messages would be lost. A view's custom messages sent during a frame
travel in it too, in order with its updates (sent on their own they overtook them).

A page that had to skip an update (its model not made yet on the page, or an update that
did not settle within the page's wait: ``_bus.js``) names the widgets (``missed``) and
the bus resends their full state, so no update is lost for good and one stuck model
never holds the dashboard's later frames; the ids it no longer knows (a widget closed
since) it names back (``gone``), and the page stops asking for them.

A page that loads while the dashboard runs (a reload, a second tab) gets every widget's
state from ipywidgets' ``request_states`` reply, then builds its models and its bus; what
the kernel sends meanwhile is lost on it (a comm has no handler before its model exists,
the bus's frames no listener before its front-end has loaded). Charts recover on the
next frame, but a trait that rarely changes (the run state, the Pause button, a KPI's
"window filling") would stay wrong until it changed. So when a front-end says it is
ready and frames have gone through the bus, the bus resends, as one message, the full
current state of every widget of its ``root`` (the dashboard) and of every widget whose
updates it carried. That is bounded (one dashboard's widgets, what the page's load
asked for anyway, once per page load), and robust: the full state, not a list of traits
changed since some point the kernel cannot see (it is not told when a page starts
loading), and it covers the messages ipywidgets itself loses during a load (a click's
"Resume" sent outside a frame). The first page (nothing went through the bus yet), a
kernel without a page and ``RTNB_FRAME_BUS=0`` (nothing ever goes through it) get no resend.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ._freshness import AGES_IN_BROWSER
from ._tree import widget_tree

if AGES_IN_BROWSER:
    from anywidget import AnyWidget as _Widget
else:  # pragma: no cover - depends on the environment
    _Widget = widgets.DOMWidget

__all__ = ["FrameBus"]


def _own_send() -> Any:
    """ipywidgets' own ``Widget._send`` (not a frame's collector, while one is open)."""
    send = widgets.Widget._send
    return getattr(send, "_rtnb_original", send)


class FrameBus(_Widget):
    """Collects the state messages of one frame and sends them as one.

    >>> import ipywidgets as widgets
    >>> bus, label = FrameBus(), widgets.HTML()
    >>> with bus.frame():
    ...     label.value = "<b>1</b>"
    ...     with label.hold_sync():
    ...         label.value, label.placeholder = "<b>2</b>", "x"
    >>> bus.updates_sent, bus.messages_sent    # two updates of the label, in one message
    (2, 1)

    A page that loaded since (its bus says it is ready) gets the current state of every
    widget the bus carried (and of its ``root``'s widgets), as one message:

    >>> bus._on_front_end(bus, {"ready": True}, [])
    >>> bus.front_ends, bus.resends, bus.messages_sent
    (1, 1, 2)
    """

    if AGES_IN_BROWSER:
        # (a str: anywidget keeps a widget whose _esm is a file alive, connected to its change signal)
        # The log sliders' readout parser (_readout.js) comes first: every dashboard's page
        # loads its bus, and the dashboard's sliders are LogSliders (_slider.py).
        _esm = "\n".join(Path(__file__).with_name(name).read_text(encoding="utf-8")
                          for name in ("_readout.js", "_bus.js"))

    def __init__(self, root: widgets.Widget | None = None) -> None:
        super().__init__(layout={"display": "none"})
        self.updates_sent = 0
        self.messages_sent = 0
        #: True once a front-end has loaded the bus and can apply its messages.
        self.ready = False
        #: How many front-ends said they were ready (a reload, a second tab: one more each).
        self.front_ends = 0
        #: How many times the current state was resent (to a front-end that loaded, or
        #: of the widgets a page said it had to skip).
        self.resends = 0
        #: How many widget updates pages said they had to skip (their state was resent).
        self.missed = 0
        #: Widget updates dropped by frames drawn with ``discard`` (nobody shown them).
        self.discarded = 0
        #: True while the pages lack updates the kernel dropped: the next resend is due.
        self.behind = False
        self._root = None if root is None else weakref.ref(root)
        # The widgets whose messages went through the bus (weakly: the bus keeps none alive).
        self._carried: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        if AGES_IN_BROWSER:
            self.on_msg(self._on_front_end)

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("ready") is True:
            self.ready = True
            self.front_ends += 1
            if self.messages_sent or self.behind:  # frames went (or were dropped): this page may lack some
                self.resend()
        elif isinstance(content.get("missed"), list):
            # The page skipped these widgets' updates (a model not made yet, or one whose
            # update did not settle): their full state, through the bus, in order.
            missed = {i for i in content["missed"] if isinstance(i, str)}
            if missed:
                self.missed += len(missed)
                self.resend(only=missed)
                gone = missed - {w.model_id for w in self._shown()}
                if gone:  # closed, or never carried: the page stops asking for them
                    self.send({"gone": sorted(gone)})

    def resend(self, only: set[str] | None = None) -> int:
        """Send the full current state of the root's widgets and of every widget the bus
        carried (``only`` those whose model ids are given), as one message (what a page
        that loaded meanwhile missed, or had to skip); returns how many widgets."""
        shown = self._shown()
        if only is not None:
            shown = [w for w in shown if w.model_id in only]
            if not shown:
                return 0
        with self.frame():
            for w in shown:
                type(w).send_state(w)  # (not the instance's: that answers a page on its own comm)
        self.resends += 1
        if only is None:
            self.behind = False
        return len(shown)

    def _shown(self) -> list[widgets.Widget]:
        """The open widgets of the root's tree and those the bus carried (no duplicates)."""
        root = self._root() if self._root is not None else None
        found = widget_tree(root) if root is not None else []
        ids = {id(w) for w in found}
        found += [w for w in list(self._carried.values()) if id(w) not in ids]
        return [w for w in found if w is not self and getattr(w, "comm", None) is not None]

    def _route(self, widget: widgets.Widget) -> None:
        """From now on, ``widget``'s state and custom messages sent outside a frame go
        through the bus too (each as a bus message of its own), while the bus is ready.

        The page applies the bus's messages on a queue of their own, and a widget's own
        messages as they come: a message sent after a frame could be applied before it.
        The hover dots emptied on a leave (sent outside a frame) were drawn again by the
        frame before it, and as the kernel sends the dots only when they change, they
        stayed on for good (test_quickstart, a loaded CI machine). One channel per
        widget keeps its messages in the order they were sent.
        """
        # The newest bus that carries it: a widget put in a second dashboard, or in a new
        # one after the first closed, keeps to the bus that now carries its frames.
        widget._rtnb_bus = weakref.ref(self)
        if "_send" in vars(widget):  # routed already (the bus it follows is updated above)
            return
        widget_ref = weakref.ref(widget)

        def send(msg: dict, buffers: Any = None) -> None:
            w = widget_ref()
            if w is None:
                return
            bus = w.__dict__.get("_rtnb_bus", lambda: None)()
            if w.__dict__.get("_rtnb_direct"):  # its full state, asked for on its own comm
                return _own_send()(w, msg, buffers=buffers)
            if (bus is None or not bus.ready or getattr(bus, "comm", None) is None
                    or msg.get("method") not in ("update", "custom")):
                return widgets.Widget._send(w, msg, buffers=buffers)
            with bus.frame():  # (inside a frame already: collected in it, in order)
                widgets.Widget._send(w, msg, buffers=buffers)

        def send_state(key: Any = None) -> None:
            # A widget's full state (key None) is what it sends when a page asks for it on
            # the widget's own comm ("request_state": JupyterLab's and Notebook 7's manager
            # do so when the kernel is slow to answer "request_states") and the page awaits
            # the answer ON THAT COMM: through the bus it never came, and the page showed
            # no widget at all. Every other send keeps to the bus.
            w = widget_ref()
            if w is None:
                return None
            if key is not None:
                return type(w).send_state(w, key=key)
            w.__dict__["_rtnb_direct"] = True
            try:
                return type(w).send_state(w)
            finally:
                w.__dict__.pop("_rtnb_direct", None)

        widget._send = send  # (instance attributes: only this widget's sends go this way)
        widget.send_state = send_state

    @contextmanager
    def frame(self, *, discard: bool = False):
        """Within it, every widget's state message is collected; sent as one at the end.

        With ``discard``, what was collected is dropped instead (a frame drawn while no
        page shows the dashboard: the kernel's widgets stay current, the pages are told
        nothing) and :attr:`behind` is set: the next :meth:`resend` makes the pages
        current.

        Only messages sent by the thread that opened the frame are collected, and those
        of widgets the bus carried already: a widget changed from another thread
        meanwhile sends its own message, as without the bus, unless its messages go
        through the bus (then they are collected too, in order: sent on their own they
        overtook the frame's earlier ones, applied after them on the page's own queue).
        One lock orders the collecting against the frame's send, so nothing is collected
        after its message went. A frame opened while another one is collecting (nested,
        or on another thread) installs nothing: its messages go with the outer frame's,
        or on their own.
        """
        current = widgets.Widget._send
        if getattr(current, "_rtnb_collector", False):  # a frame is collecting already
            yield self
            return
        original = current
        owner = threading.get_ident()
        updates: list = []
        blobs: list = []
        bus = self
        lock = threading.Lock()
        is_open = [True]

        def collect(widget: Any, msg: dict, buffers: Any = None) -> None:
            method = msg.get("method")
            if widget is bus or method not in ("update", "custom") or getattr(widget, "comm", None) is None:
                return original(widget, msg, buffers=buffers)
            if threading.get_ident() != owner and bus._carried.get(widget.model_id) is not widget:
                return original(widget, msg, buffers=buffers)  # another thread's, never carried: on its own
            with lock:
                if is_open[0]:
                    return add(widget, msg, method, list(buffers or []))
            # (another thread's, after the frame's message went: through the bus all the same)
            if "_send" in vars(widget) and widgets.Widget._send is not collect:
                return widget._send(msg, buffers=buffers)
            return original(widget, msg, buffers=buffers)

        def add(widget: Any, msg: dict, method: str, buffers: list) -> None:
            if method == "update":
                updates.append([widget.model_id, msg["state"], msg.get("buffer_paths") or [], len(blobs)])
            else:  # a custom message: in the frame, in order (on its own it overtook the updates)
                updates.append([widget.model_id, msg.get("content"), len(buffers), len(blobs), "custom"])
            if widget.model_id not in bus._carried:
                bus._carried[widget.model_id] = widget
                bus._route(widget)
            blobs.extend(buffers)

        collect._rtnb_collector = True  # type: ignore[attr-defined]
        collect._rtnb_original = original  # type: ignore[attr-defined]
        widgets.Widget._send = collect
        try:
            yield self
        finally:
            with lock:
                is_open[0] = False
                if widgets.Widget._send is collect:  # never undo what someone installed since
                    widgets.Widget._send = original
                if updates and discard:
                    self.discarded += len(updates)
                    self.behind = True
                elif updates:
                    self.updates_sent += len(updates)
                    self.messages_sent += 1
                    original(self, {"method": "custom", "content": {"rtnb_frame": updates}}, buffers=blobs)

    def __repr__(self) -> str:
        return f"FrameBus(messages_sent={self.messages_sent}, updates_sent={self.updates_sent})"
