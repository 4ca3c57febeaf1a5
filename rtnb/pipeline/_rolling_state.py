"""A :class:`rtnb.Rolling`'s partials merged, and its whole state exported and loaded.

:class:`_RollingState` is the half of ``Rolling`` that works on whole aggregators, not
on batches: ``merge`` (``a + b``: partial results of several workers), ``export_state``
/ ``load_state`` / ``from_state`` (plain data, versioned, no pickle; what checkpoints
and :mod:`rtnb.cluster` ship). It reads the parts ``Rolling`` orchestrates: the
watermark, the key index, the window engine, the late and rejected rows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from .._errors import ParameterError
from ..clock import Clock
from .config import RollingConfig
from .engines import STATE_VERSION
from .keys import KeyIndex
from .watermark import Watermark

if TYPE_CHECKING:
    from .rolling import Rolling

__all__ = ["_RollingState"]


class _RollingState:
    """Merge, export and load of a :class:`rtnb.Rolling` (a mixin of it)."""

    def merge(self, other: Rolling) -> Rolling:
        """A new aggregator holding the rows of both (partial results of several workers).

        Both must have the same configuration. The merged watermark is the larger one,
        counters and late rows add up, and the answer equals one aggregator fed all
        the accepted rows (every kind; sums and means to rounding) as long as no row a
        partial accepted would have been late for the single run — e.g. events split by
        key, or in event-time order. Closed windows and sessions merge too (a session
        one partial closed can be bridged by the other's rows).

        >>> import pandas as pd
        >>> from rtnb import Rolling
        >>> ts = pd.to_datetime(["2024-01-01 00:00:01", "2024-01-01 00:00:02"]).as_unit("ns")
        >>> a = Rolling("1min", value="v", aggs=("count", "sum")).update(pd.DataFrame({"ts": ts[:1], "v": [1.0]}))
        >>> b = Rolling("1min", value="v", aggs=("count", "sum")).update(pd.DataFrame({"ts": ts[1:], "v": [2.0]}))
        >>> (a + b).value
           count  sum
        0      2  3.0
        """
        if not isinstance(other, _RollingState):
            raise ParameterError("other", type(other).__name__, "must be a Rolling")
        cfg = self.config
        if not other.config.same_as(cfg):  # equal in effect: a restored one has lists for tuples
            raise ParameterError("other", other.config, "has a different configuration; only equal Rollings merge")
        out = type(self)._like(self)
        out._keys.lookup(_label_array(self._keys.labels))
        remap_self = np.arange(len(self._keys), dtype=np.int64)
        remap_other = out._keys.lookup(_label_array(other._keys.labels))
        out._arrivals = self._arrivals.merged(other._arrivals)
        out._rejected.count = self._rejected.count + other._rejected.count
        if cfg.keep_late:
            for part in (*self._late.frames, *other._late.frames):
                out._late.add(part)
        out._engine = self._engine.merge(other._engine, remap_self, remap_other, len(out._keys),
                                         out._arrivals.newest)
        return out

    def __add__(self, other: Rolling) -> Rolling:
        if not isinstance(other, _RollingState):
            return NotImplemented
        return self.merge(other)

    @classmethod
    def _like(cls, agg: Rolling) -> Rolling:
        cfg = agg.config
        options = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.init and f.name != "window"}
        return cls(cfg.window, clock=agg.clock, **options)

    def export_state(self) -> dict:
        """The whole aggregator as plain data (see the module doc; versioned, no pickle).

        ``{"format": "rtnb.rolling", "version": 1, "config": {...}, "meta": {...},
        "arrays": {...}, "engine": <window-engine state>}``; every value is a str, int,
        float, bool, None, list, dict or numpy array. ``rtnb.pipeline.engines.state_to_bytes``
        writes the engine part as bytes; the whole dict goes to JSON + ``.npz`` the same way.

        >>> import pandas as pd
        >>> from rtnb import Rolling
        >>> agg = Rolling("1min", value="v").update(pd.DataFrame(
        ...     {"ts": pd.to_datetime(["2024-01-01"]).as_unit("ns"), "v": [2.0]}))
        >>> Rolling.from_state(agg.export_state()).value.equals(agg.value)
        True
        """
        meta, arrays = self._arrivals.export_state()
        kmeta, karrays = self._keys.export_state()
        meta.update(kmeta)
        arrays.update(karrays)
        meta["snapshots"] = self._version
        meta["rejected"] = self._rejected.count
        meta["zone"] = self._zone  # a restored aggregator refuses naive-after-aware as this one does
        meta["evict_at"] = int(self._evict_at)
        return {"format": "rtnb.rolling", "version": STATE_VERSION, "config": self.config.plain(),
                "meta": meta, "arrays": arrays, "engine": self._engine.export_state()}

    def load_state(self, state: dict) -> Rolling:
        """Load :meth:`export_state` into this fresh aggregator (same configuration); returns it."""
        if not isinstance(state, dict) or state.get("format") != "rtnb.rolling":
            raise ParameterError("state", type(state).__name__, "is not a state from Rolling.export_state()")
        if state.get("version") != STATE_VERSION:
            raise ParameterError("state", state.get("version"), f"this rtnb reads state version {STATE_VERSION}")
        if self.counters.received:
            raise ParameterError("state", "Rolling.load_state", "loads into a fresh pipeline's aggregator only "
                                 f"(this one has received {self.counters.received} rows)")
        config = dict(state["config"])
        theirs = RollingConfig(**config)
        if not theirs.same_as(self.config):
            raise ParameterError("state", theirs, f"was exported by a Rolling configured differently from {self.config}")
        meta, arrays = state["meta"], state["arrays"]
        self._arrivals = Watermark.load_state(meta, arrays, dedup=self.config.id_col is not None)
        self._keys = KeyIndex.load_state(meta, arrays)
        self._engine.load_state(state["engine"])
        self._engine.grow(len(self._keys))
        self._version = int(meta["snapshots"])
        self._rejected.count = int(meta.get("rejected", 0))
        self._zone = meta.get("zone", False)  # states written before it was kept: as if none yet
        self._evict_at = int(meta.get("evict_at", max(self._evict_min, 2 * len(self._keys))))
        return self

    @classmethod
    def from_state(cls, state: dict, *, clock: Clock | None = None) -> Rolling:
        """A new aggregator rebuilt from :meth:`export_state` (optionally with a clock)."""
        if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
            raise ParameterError("state", type(state).__name__, "is not a state from Rolling.export_state()")
        config = dict(state["config"])
        return cls(config.pop("window"), clock=clock, **config).load_state(state)


def _label_array(labels: np.ndarray) -> np.ndarray:
    out = np.empty(len(labels), dtype=object)
    out[:] = list(labels)
    return out
