"""Helpers for widget state tests: a store, snapshots made by hand, a message counter."""

from __future__ import annotations

from collections import defaultdict

import ipywidgets
import numpy as np
import pandas as pd
import pytest

import rtnb
from rtnb.store import MemoryStore

T0 = pd.Timestamp("2024-01-01 09:00")


def make_snapshot(metric="orders", t=T0, values=None, column="sum", counters=None, processed_at=None,
                  window=pd.Timedelta("5min"), **cols):
    """A snapshot whose table has ``column`` = ``values`` (a dict key -> value)."""
    values = values if values is not None else {"FR": 10.0, "DE": 5.0}
    table = pd.DataFrame({column: list(values.values()), **cols}, index=list(values.keys()))
    return rtnb.Snapshot(
        metric=metric,
        table=table,
        window=window,
        watermark=t,
        newest_event=t,
        processed_at=processed_at if processed_at is not None else t,
        counters=counters if counters is not None else rtnb.Counters(),
    )


@pytest.fixture
def snap():
    """Make a snapshot by hand: ``snap(t=..., values={key: value}, column="sum", **extra_columns)``."""
    return make_snapshot


@pytest.fixture
def store():
    return MemoryStore(history=1000)


class Sent:
    """Every comm message a widget sends to the browser, counted per widget."""

    def __init__(self):
        self.messages = defaultdict(list)

    def __call__(self, widget, msg, buffers=None):
        if widget.comm is None:  # not open (yet): ipywidgets sends nothing either
            return
        nbytes = sum(len(np.asarray(memoryview(b)).tobytes()) for b in (buffers or []))
        self.messages[widget.model_id].append((msg, nbytes))

    def count(self, widget) -> int:
        return len(self.messages[widget.model_id])

    def keys_sent(self, widget) -> list[set]:
        return [set(m["state"]) for m, _ in self.messages[widget.model_id] if m.get("method") == "update"]

    def buffer_bytes(self, widget) -> int:
        return sum(n for _, n in self.messages[widget.model_id])

    def clear(self):
        self.messages.clear()


@pytest.fixture
def sent(monkeypatch):
    recorder = Sent()
    monkeypatch.setattr(ipywidgets.Widget, "_send", lambda self, msg, buffers=None: recorder(self, msg, buffers))
    return recorder
