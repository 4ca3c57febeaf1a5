"""What every window engine shares: the protocol, its typed results and its state form."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._buckets import Stats

__all__ = ["STATE_VERSION", "INT64_MIN", "Needs", "WindowStats", "ClosedWindows", "WindowEngine",
           "stats_arrays", "stats_from_arrays", "empty_stats"]

STATE_VERSION = 1
INT64_MIN = np.iinfo(np.int64).min


class Needs:
    """Which pre-aggregates the requested aggregates need (std, min/max, sketches)."""

    def __init__(self, aggs: tuple[str, ...]) -> None:
        self.std = "std" in aggs
        self.minmax = "min" in aggs or "max" in aggs
        self.sketch = any(a.startswith("p") for a in aggs)


@dataclass(frozen=True)
class WindowStats:
    """Per-key statistics of the current window (one row per key with rows).

    ``keys``: key codes (ascending); ``count`` (K,); ``sum`` and ``m2`` (K, M: sum of
    squared deviations from each key's mean; ``None`` when std was not asked for);
    ``min``/``max`` (K, M, ``None`` unless asked for); ``quantiles`` (K, M, Q, ``None``
    unless asked for); sessions add each key's ``window_start``/``window_end`` (int64 ns).

    ``by_code``: ``count`` and ``sum`` are indexed by key code (every slot of the
    engine's totals, ``count[keys]`` being the rows' counts), so a reader gathers only
    the rows it reads; ``lease`` is then held by whoever reads them (while it lives,
    the engine copies those arrays before changing them: :meth:`~._totals.Totals.lend`).
    """

    keys: np.ndarray
    count: np.ndarray
    sum: np.ndarray
    m2: np.ndarray | None
    min: np.ndarray | None = None
    max: np.ndarray | None = None
    quantiles: np.ndarray | None = None
    window_start: np.ndarray | None = None
    window_end: np.ndarray | None = None
    by_code: bool = False
    lease: object = None


@dataclass(frozen=True)
class ClosedWindows:
    """Windows closed at one step: one row per (window, key), ``stats`` aligned with them."""

    start: np.ndarray  # int64 ns
    end: np.ndarray  # int64 ns (sessions: the last event time)
    keys: np.ndarray  # key codes
    stats: Stats


class WindowEngine:
    """The protocol of a window engine (see :mod:`rtnb.pipeline.engines`).

    Subclasses set ``kind`` and implement every method; an engine that cannot do
    something (series, closed windows) says so with a capability flag, never with a
    ``kind`` test in the caller.
    """

    kind: str = ""
    closes: bool = False  # has closed_windows()
    has_buckets: bool = False  # has series() and buckets()
    evicts: bool = False  # has live_keys() and keep_keys(): keys whose window emptied can go

    def live_keys(self) -> np.ndarray:
        """Codes of the keys with rows in the window (ascending)."""
        raise NotImplementedError

    def keep_keys(self, live: np.ndarray, remap: np.ndarray) -> None:
        """Keep only the keys ``live`` (they have every row), renumbered by ``remap``."""
        raise NotImplementedError

    def grow(self, n_keys: int) -> None:
        raise NotImplementedError

    def insert(self, ts: np.ndarray, codes: np.ndarray, values: np.ndarray, watermark: int) -> None:
        raise NotImplementedError

    def read(self, quantiles: tuple[float, ...] = ()) -> WindowStats:
        raise NotImplementedError

    def bounds(self, watermark: int) -> tuple[int, int] | None:
        raise NotImplementedError

    def closed_windows(self) -> list[ClosedWindows]:
        return []

    def export_state(self) -> dict:
        raise NotImplementedError

    def load_state(self, state: dict) -> None:
        raise NotImplementedError

    def merge(self, other: WindowEngine, self_codes: np.ndarray, other_codes: np.ndarray,
              n_keys: int, watermark: int) -> WindowEngine:
        raise NotImplementedError

    def memory_rows(self) -> int:
        raise NotImplementedError

    # helpers for the state form ------------------------------------------
    def _add_totals(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        """Adds the window's totals and, if kept, its sketch to an export (every kind)."""
        parts = [self.totals.export(self.n_keys)]
        if self.sketch is not None:
            parts.append(self.sketch.export())
        for m, a in parts:
            meta.update(m)
            arrays.update(a)

    def _state(self, meta: dict, arrays: dict[str, np.ndarray]) -> dict:
        return {"format": "rtnb.window-engine", "version": STATE_VERSION, "kind": self.kind,
                "meta": meta, "arrays": arrays}

    def _check_state(self, state: dict) -> tuple[dict, dict]:
        from ..._errors import ParameterError

        if not isinstance(state, dict) or state.get("format") != "rtnb.window-engine":
            raise ParameterError("state", type(state).__name__, "is not an exported window-engine state")
        if state.get("version") != STATE_VERSION:
            raise ParameterError("state", state.get("version"),
                                 f"has state version {state.get('version')!r}; this rtnb reads {STATE_VERSION}")
        if state.get("kind") != self.kind:
            raise ParameterError("state", state.get("kind"), f"was exported by a {state.get('kind')!r} engine, "
                                 f"not {self.kind!r}")
        return state["meta"], state["arrays"]


def empty_stats(n_meas: int, sketch: bool) -> Stats:
    e = np.empty(0, dtype=np.int64)
    z = np.empty((0, n_meas))
    return Stats(e.copy(), z, z.copy(), z.copy(), z.copy(),
                 (e.copy(), e.copy(), e.copy(), e.copy()) if sketch else None)


def stats_arrays(prefix: str, st: Stats) -> dict[str, np.ndarray]:
    """A :class:`Stats` as named plain arrays (for an exported state)."""
    out = {f"{prefix}count": st.n, f"{prefix}sum": st.s, f"{prefix}m2": st.m2,
           f"{prefix}min": st.mn, f"{prefix}max": st.mx}
    if st.sk is not None:
        for name, a in zip(("group", "measure", "bin", "count"), st.sk):
            out[f"{prefix}sketch_{name}"] = a
    return out


def stats_from_arrays(prefix: str, arrays: dict[str, np.ndarray]) -> Stats:
    sk = None
    if f"{prefix}sketch_group" in arrays:
        sk = tuple(np.asarray(arrays[f"{prefix}sketch_{n}"], dtype=np.int64)
                   for n in ("group", "measure", "bin", "count"))
    return Stats(np.asarray(arrays[f"{prefix}count"], dtype=np.int64),
                 np.asarray(arrays[f"{prefix}sum"], dtype=np.float64),
                 np.asarray(arrays[f"{prefix}m2"], dtype=np.float64),
                 np.asarray(arrays[f"{prefix}min"], dtype=np.float64),
                 np.asarray(arrays[f"{prefix}max"], dtype=np.float64), sk)
