"""rtnb — live analytics inside Jupyter.

sources → pipeline → store → views, with a clock, health and latency tiers beside them.

>>> import rtnb
>>> clock = rtnb.SimClock(start="2024-01-01")
>>> clock.now()
Timestamp('2024-01-01 00:00:00')
"""

from __future__ import annotations

# errors, clock, health
from ._errors import (
    CheckpointError,
    ParameterError,
    RtnbError,
    SourceError,
    SourceUnavailable,
    StoreError,
    UnknownNameError,
)
from .clock import Clock, SimClock, WallClock
from .health import Counters, Snapshot, describe_age, freshness

# sources
from .sources._base import Source
from .sources.replay import Replay, replay
from .sources.simulate import Faults, Scenario, SimulatedSource, scenarios, simulate
from .sources.eventlog import EventLogSource, EventLogWriter
from . import datasets

# the scheduler
from .runner import QueueSource, RunError, Runner

# pipeline
from .pipeline import (
    Buckets,
    DeadLetter,
    Field,
    Metric,
    Pipeline,
    QuantileSketch,
    Rolling,
    Schema,
    Validation,
    build_pipeline,
)

# checkpoints
from .checkpoint import Checkpointer

# store (the redis client and duckdb are imported on first use: optional extras)
from .store import MemoryStore, Store
from .store.raw import DuckDBBaseline, SQLiteBaseline
from .store.redis import RedisStore

# views: imported on first use (module __getattr__ below), so the pipeline, the store
# and everything below them import without ipywidgets or bqplot
_VIEWS = ("Dashboard", "ErrorPanel", "FreshnessBadge", "KpiTile", "LiveBars", "LiveLine", "dashboard")

# tiers lab
from . import tiers

# serving (Starlette/uvicorn load on first use: the `serve` extra); the function
# `rtnb.serve` shadows the subpackage name: import its classes `from rtnb.serve import ...`
from .serve import serve

__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _VIEWS or name == "widgets":
        import importlib

        widgets = importlib.import_module(".widgets", __name__)
        value = widgets if name == "widgets" else getattr(widgets, name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_VIEWS) | {"widgets"})


__all__ = [
    # errors, clock, health
    "RtnbError", "ParameterError", "UnknownNameError", "SourceError", "SourceUnavailable",
    "StoreError", "CheckpointError", "Clock", "SimClock", "WallClock", "Counters", "Snapshot", "describe_age",
    "freshness",
    # sources
    "Source", "Replay", "replay", "Faults", "Scenario", "SimulatedSource", "scenarios",
    "simulate", "EventLogSource", "EventLogWriter",
    # the scheduler
    "QueueSource", "RunError", "Runner",
    # pipeline
    "Buckets", "DeadLetter", "Field", "Metric", "Pipeline", "QuantileSketch", "Rolling", "Schema",
    "Validation", "build_pipeline", "Checkpointer",
    # store
    "MemoryStore", "Store", "RedisStore", "SQLiteBaseline", "DuckDBBaseline",
    # views
    "Dashboard", "ErrorPanel", "FreshnessBadge", "KpiTile", "LiveBars", "LiveLine", "dashboard",
    # serving
    "serve",
]
