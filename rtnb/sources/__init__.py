"""Sources: what the runner reads micro-batches from (see :mod:`rtnb.sources._base`)."""

from ._base import Source
from .eventlog import EventLogSource, EventLogWriter
from .queue import QueueSource
from .replay import Replay, replay
from .simulate import Faults, Scenario, SimulatedSource, scenarios, simulate

__all__ = [
    "EventLogSource",
    "EventLogWriter",
    "Faults",
    "QueueSource",
    "Replay",
    "Scenario",
    "SimulatedSource",
    "Source",
    "replay",
    "scenarios",
    "simulate",
]
