"""What a checkpoint holds, taken from and put back into the live objects.

Four parts, each a plain tree (see :mod:`rtnb.checkpoint._format`):

- the **aggregate**: its exported state (``export_state``/``load_state``; for
  :class:`rtnb.Rolling` of every kind: window engine, key index, watermark,
  de-duplication ids and counters; for :class:`rtnb.cluster.DaskRolling` the driver's
  watermark and every partition's Rolling state);
- the **pipeline**: its counters and the dead-letter counts and recent rows;
- the **runner**: the clock's time and each source's cursor and health counters;
- the **sources**: each source's own offsets (``checkpoint_state``/``restore_state``,
  e.g. the event log's stream id), or a replay's anchor.

``config_of`` gives what a restore must match; :func:`differences` names what differs.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from typing import Any

import numpy as np
import pandas as pd

from .._errors import CheckpointError
from ..health import Counters

__all__ = ["config_of", "differences", "capture", "restore"]

_INT64_MIN = np.iinfo(np.int64).min


# --------------------------------------------------------------------------- configuration

def _plain(v: Any) -> Any:
    if isinstance(v, pd.Timedelta):
        return int(v.value)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _aggregate_config(agg: Any) -> dict:
    cfg = getattr(agg, "config", None)
    if cfg is None or not dataclasses.is_dataclass(cfg):
        return {"type": type(agg).__name__}
    out = {"type": type(agg).__name__}
    for f in dataclasses.fields(cfg):
        if f.name in ("window", "lateness", "resolution", "every", "gap"):
            continue  # compared as the durations they mean ("60s" == "1min")
        out[f.name] = _plain(getattr(cfg, f.name))
    return out


def config_of(pipeline: Any, runner: Any | None) -> dict:
    """What a checkpoint's restore must match: metric, aggregate, schema, sources."""
    sources = {}
    for name, src in _sources(runner):
        entry = {"type": type(src).__name__}
        cfg = getattr(src, "checkpoint_config", None)
        if callable(cfg):
            entry.update(cfg())
        sources[name] = entry
    return {
        "metric": pipeline.name,
        "aggregate": _aggregate_config(pipeline.aggregate),
        "schema": repr(pipeline.schema),
        "sources": sources,
    }


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else k))
        return out or {prefix: {}}
    return {prefix: tree}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def differences(saved: dict, current: dict) -> list[str]:
    """``"<what>: <checkpoint's> in the checkpoint, <this pipeline's> here"`` per change."""
    a, b = _flat(saved), _flat(current)
    out = []
    for key in sorted(set(a) | set(b)):
        if key not in a:
            out.append(f"{key}: absent in the checkpoint, {b[key]!r} here")
        elif key not in b:
            out.append(f"{key}: {a[key]!r} in the checkpoint, absent here")
        elif not _same(a[key], b[key]):
            out.append(f"{key}: {a[key]!r} in the checkpoint, {b[key]!r} here")
    return out


# --------------------------------------------------------------------------- sources

def _sources(runner: Any | None) -> list[tuple[str, Any]]:
    if runner is None:
        return []
    names = getattr(runner, "_names", None) or [getattr(s, "name", f"source{i}")
                                                  for i, s in enumerate(runner.sources)]
    return list(zip(names, runner.sources))


def source_state(src: Any) -> dict | None:
    """A source's own offsets, or ``None`` for a source that is a pure function of the
    interval it is asked for (simulated sources: the runner's cursor is their offset)."""
    own = getattr(src, "checkpoint_state", None)
    if callable(own):
        return {"own": own()}
    if type(src).__name__ == "Replay":  # the anchor places the data on the clock's timeline
        return {"anchor": getattr(src, "anchor", None)}
    return None


def restore_source(src: Any, state: dict | None) -> None:
    if not state:
        return
    if "own" in state:
        src.restore_state(state["own"])
    elif "anchor" in state and state["anchor"] is not None:
        src._anchor = state["anchor"]


# --------------------------------------------------------------------------- the aggregate

def _labels_out(labels: list) -> list:
    return [tuple(x) if isinstance(x, tuple) else x for x in labels]


def _label_in(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return np.nan  # Rolling files every missing key under this one object
    if isinstance(x, tuple):
        return tuple(_label_in(y) for y in x)
    return x


def export_aggregate(agg: Any) -> dict:
    own = getattr(agg, "export_state", None)
    if callable(own):  # rtnb.Rolling: every window kind
        return {"api": "export_state", "state": own()}
    raise CheckpointError(f"cannot checkpoint an aggregate of type {type(agg).__name__}: "
                          "it has no export_state()")


def load_aggregate(agg: Any, saved: dict) -> None:
    agg.load_state(saved["state"])


# --------------------------------------------------------------------------- the whole

def _health_out(h: Any) -> dict:
    return {f: getattr(h, f) for f in ("status", "batches", "rows", "failures", "last_read_at",
                                        "last_rows_at", "last_error", "cursor", "first_read_at")
            if hasattr(h, f)}


def capture(pipeline: Any, runner: Any | None, offsets: dict[str, dict | None]) -> dict:
    """The state of ``pipeline`` (and ``runner``) now, with the sources' ``offsets``."""
    dl = pipeline.dead_letter
    state: dict[str, Any] = {
        "aggregate": export_aggregate(pipeline.aggregate),
        "pipeline": {
            "received": pipeline._received, "rejected": pipeline._rejected,
            "inner": pipeline._inner.as_dict(),
            "snapshot_metric": pipeline._snapshot_metric,
            "zone": pipeline._zone,  # the naive/aware check goes on after a restart
            "dead_letter": {"total": dl.total, "rules": list(dl._counts),
                            "counts": [int(v) for v in dl._counts.values()],
                            "rows": dl.rows if dl.total else None},
        },
        "sources": offsets,
    }
    latest = _latest(pipeline)
    state["store"] = {"newest_event": None if latest is None else latest.newest_event}
    if runner is not None:
        state["runner"] = {
            "now": runner.clock.now(),
            "sources": {name: _health_out(runner.health.sources[name]) for name, _ in _sources(runner)},
        }
    return state


def _latest(pipeline: Any) -> Any:
    try:
        return pipeline.store.latest(pipeline.name)
    except Exception:  # a store that is down: its position is not needed to resume
        return None


def restore(pipeline: Any, runner: Any | None, state: dict) -> None:
    """Put ``state`` back into a fresh ``pipeline`` (and ``runner``)."""
    load_aggregate(pipeline.aggregate, state["aggregate"])
    p = state["pipeline"]
    pipeline._received, pipeline._rejected = int(p["received"]), int(p["rejected"])
    pipeline._inner = Counters(**p["inner"])
    pipeline._snapshot_metric = p["snapshot_metric"]
    pipeline._zone = p.get("zone", False)
    dl, d = pipeline.dead_letter, p["dead_letter"]
    dl.total = int(d["total"])
    dl._counts = dict(zip(d["rules"], d["counts"]))
    dl._frames = deque()
    dl._kept = 0
    if d["rows"] is not None and len(d["rows"]):
        dl._frames.append(d["rows"])
        dl._kept = len(d["rows"])
    if runner is not None and "runner" in state:
        r = state["runner"]
        clock = runner.clock
        if getattr(clock, "simulated", False) and hasattr(clock, "advance_to") and clock.now() < r["now"]:
            clock.advance_to(r["now"])
        for name, _ in _sources(runner):
            saved = r["sources"].get(name)
            h = runner.health.sources.get(name)
            if saved is None or h is None:
                continue
            for f, v in saved.items():
                setattr(h, f, v)
    for name, src in _sources(runner):
        restore_source(src, state["sources"].get(name))
