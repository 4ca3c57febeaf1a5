"""Window engines: one protocol for the exact, bucketed, tumbling, sliding and session kinds.

:class:`rtnb.Rolling` decodes a batch, sorts out late and duplicate rows
(:class:`~rtnb.pipeline.watermark.Watermark`) and numbers the keys
(:class:`~rtnb.pipeline.keys.KeyIndex`); an engine gets only the accepted rows as arrays
— event times (int64 ns), key codes (int64, dense from 0) and values (N x M float64) —
and answers per-key statistics. :func:`make_engine` is the one place that picks an
engine by ``kind``.

**The protocol** (:class:`~._base.WindowEngine`):

``grow(n_keys)``
    make room for key codes ``< n_keys`` (codes only ever grow);
``insert(ts, codes, values, watermark)``
    add accepted rows; ``watermark`` is the largest accepted event time W;
``read(quantiles=()) -> WindowStats``
    per-key count, sum, M2 (and min/max, quantiles, session bounds) of the window
    (count and sum may come by key code, for the reader to gather: ``by_code``);
``bounds(watermark) -> (lo_ns, hi_ns) | None``
    the window's event-time bounds (``None`` for sessions);
``closed_windows() -> list[ClosedWindows]``
    finished windows or sessions (engines with ``closes = True``);
``export_state() -> dict`` / ``load_state(state)``
    the whole engine as plain data (below); a fresh engine of the same configuration
    that loads it answers exactly as the one that exported it, now and after any
    further rows;
``merge(other, self_codes, other_codes, n_keys, watermark) -> engine``
    a new engine holding both partials (same configuration): ``*_codes[c]`` maps each
    partial's key code ``c`` to the merged key index, ``watermark`` is the merged W.
    Every kind merges; the result equals one engine fed all the accepted rows (sums
    and means to rounding) as long as no row accepted by a partial would have been
    late for the single run (events in event-time order, or a lateness covering the
    disorder, as when events are partitioned by key).

**The state form** (version :data:`STATE_VERSION`) — pickle-free, plain::

    {"format": "rtnb.window-engine", "version": 1, "kind": "bucketed",
     "meta": {...},                      # str -> int | float | str | bool | None
     "arrays": {name: numpy.ndarray}}    # int64 / float64 / bool arrays only

``meta`` holds scalars (window sizes in ns, key count, cutoffs); ``arrays`` the
per-key running totals (``totals_*``), the rows (exact: ``row_ts``, ``row_keys``,
``row_values`` in ``cell_ids``/``cell_rows`` cells), the (bucket, key) groups of
bucket kinds (``group_bucket``, ``group_key``, ``group_count``/``sum``/``m2``/
``min``/``max``, ``group_sketch_*``), closed windows (``closed_*``) and sessions
(``open_*``). :func:`state_to_bytes` / :func:`state_from_bytes` write and read it as
one ``.npz`` (``allow_pickle=False``) with the dict as JSON.

>>> from rtnb.pipeline.rolling import RollingConfig
>>> import numpy as np
>>> cfg = RollingConfig(window="10s", value="v", kind="bucketed", resolution="1s")
>>> a = make_engine(cfg); a.grow(1)
>>> a.insert(np.array([1_000_000_000, 2_500_000_000]), np.array([0, 0]), np.array([[1.0], [2.0]]), 2_500_000_000)
>>> b = make_engine(cfg); b.load_state(state_from_bytes(state_to_bytes(a.export_state())))
>>> ws = b.read()                     # count and sum by key code (ws.by_code), rows ws.keys
>>> ws.keys, ws.count[ws.keys], ws.sum[ws.keys]
(array([0]), array([2]), array([[3.]]))
"""

from __future__ import annotations

import io
import json

import numpy as np

from ..._errors import ParameterError
from ._base import STATE_VERSION, ClosedWindows, Needs, WindowEngine, WindowStats
from .buckets import BucketEngine
from .closing import SlidingEngine, TumblingEngine
from .exact import ExactEngine
from .session import SessionEngine

__all__ = ["STATE_VERSION", "ClosedWindows", "WindowEngine", "WindowStats", "ENGINES",
           "make_engine", "state_to_bytes", "state_from_bytes"]

ENGINES: dict[str, type[WindowEngine]] = {
    "exact": ExactEngine, "bucketed": BucketEngine, "tumbling": TumblingEngine,
    "sliding": SlidingEngine, "session": SessionEngine,
}


def make_engine(cfg) -> WindowEngine:
    """The engine for a :class:`rtnb.RollingConfig` (the one ``kind`` switch)."""
    needs = Needs(cfg.agg_names)
    m = len(cfg.measures)
    ra = cfg.relative_accuracy
    engine = ENGINES[cfg.kind]
    if engine is ExactEngine:
        return ExactEngine(cfg.size.value, m, needs, ra)
    if engine is SessionEngine:
        return SessionEngine(cfg.session_gap.value, cfg.late.value, m, needs, ra, keep_closed=cfg.keep_closed)
    return engine(cfg.size.value, cfg.res.value, cfg.hop.value, m, needs, ra,
                  lateness_ns=cfg.late.value, keep_closed=cfg.keep_closed)


def state_to_bytes(state: dict) -> bytes:
    """An exported state as bytes: one ``.npz`` whose ``__meta__`` entry is the JSON rest."""
    head = {k: v for k, v in state.items() if k != "arrays"}
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(json.dumps(head).encode(), dtype=np.uint8), **state["arrays"])
    return buf.getvalue()


def state_from_bytes(data: bytes) -> dict:
    """The state :func:`state_to_bytes` wrote (no pickle is ever loaded)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError) as exc:
        raise ParameterError("data", f"{len(data)} bytes", f"is not an exported state ({exc})") from None
    head = json.loads(arrays.pop("__meta__").tobytes().decode())
    head["arrays"] = arrays
    return head
