"""rtnb — live analytics inside Jupyter.

sources → pipeline → store → views, with a clock, health and latency tiers beside them.

>>> import rtnb
>>> clock = rtnb.SimClock(start="2024-01-01")
>>> clock.now()
Timestamp('2024-01-01 00:00:00')
"""

from __future__ import annotations

from ._errors import (
    ParameterError,
    RtnbError,
    SourceError,
    SourceUnavailable,
    StoreError,
    UnknownNameError,
)
from .clock import Clock, SimClock, WallClock
from .health import Counters, Snapshot, describe_age, freshness
from .sources._base import Source
from .sources.replay import Replay, replay
from .sources.simulate import Faults, Scenario, SimulatedSource, scenarios, simulate
from . import datasets
from . import tiers
from .runner import QueueSource, RunError, Runner
from .pipeline import DeadLetter, Field, Pipeline, Schema, Validation, build_pipeline
from .pipeline import Buckets, QuantileSketch, Rolling
from .store import MemoryStore, Store
from .widgets import Dashboard, ErrorPanel, FreshnessBadge, KpiTile, LiveBars, LiveLine, dashboard
from .store.redis import RedisStore  # the redis client is imported on first use
from .store.raw import DuckDBBaseline, SQLiteBaseline

__version__ = "0.1.0"

__all__ = [
    "Dashboard",
    "ErrorPanel",
    "FreshnessBadge",
    "KpiTile",
    "LiveBars",
    "LiveLine",
    "dashboard",
    "Buckets",
    "QuantileSketch",
    "Rolling",
    "RedisStore",
    "SQLiteBaseline",
    "DuckDBBaseline",
    "build_pipeline",
    "Validation",
    "Store",
    "Schema",
    "Pipeline",
    "MemoryStore",
    "Field",
    "DeadLetter",
    "Clock",
    "Counters",
    "ParameterError",
    "QueueSource",
    "Replay",
    "replay",
    "RunError",
    "Runner",
    "RtnbError",
    "Snapshot",
    "Source",
    "SourceError",
    "SourceUnavailable",
    "StoreError",
    "SimClock",
    "UnknownNameError",
    "WallClock",
    "describe_age",
    "freshness",
    "Faults",
    "Scenario",
    "SimulatedSource",
    "scenarios",
    "simulate",
]
