"""Sources: what the runner reads micro-batches from (see :mod:`rtnb.sources._base`)."""

from ._base import Source
from .replay import Replay, replay

__all__ = ["Replay", "Source", "replay"]
