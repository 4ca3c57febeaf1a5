"""What a checkpoint holds, taken from and put back into the live objects.

Four parts, each a plain tree (see :mod:`rtnb.checkpoint._format`):

- the **aggregate**: the engine's exported state (``export_state``/``load_state`` where
  the aggregate has them), else, for :class:`rtnb.Rolling` of the exact and bucketed
  kinds, the rows or pre-aggregated buckets of the window, the key labels, the
  watermark, the de-duplication ids and the counters;
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


def _id_arrays(ids: dict) -> tuple[np.ndarray, np.ndarray]:
    keys = list(ids)
    arr = np.array(keys) if keys else np.empty(0, dtype=np.int64)
    if arr.dtype.kind not in "biufU" or arr.ndim != 1:
        raise CheckpointError("cannot checkpoint the de-duplication ids: they must be all "
                              "numbers or all strings")
    return arr, np.array(list(ids.values()), dtype=np.int64)


def _export_rolling(agg: Any) -> dict:
    from ..pipeline._windows import BucketRing, ExactWindow

    eng = agg._engine
    out: dict[str, Any] = {
        "labels": _labels_out(agg._labels), "wm": agg._wm, "received": agg._received,
        "accepted": agg._accepted, "late": agg._late, "duplicates": agg._dups,
        "version": agg._version, "ids_pruned_at": agg._ids_pruned_at,
        "late_rows": list(agg._late_parts),
    }
    out["ids"], out["ids_t"] = _id_arrays(agg._ids)
    if isinstance(eng, ExactWindow):
        ts, codes, vals = eng.live_rows()
        out["engine"] = {"kind": "rows", "ts": ts, "codes": codes, "vals": vals}
    elif isinstance(eng, BucketRing) and not eng.closes:
        part = eng.export(np.arange(len(agg._labels), dtype=np.int64))
        if part is None:
            out["engine"] = {"kind": "buckets", "empty": True}
        else:
            b, codes, st, absum = part
            out["engine"] = {"kind": "buckets", "b": b, "codes": codes, "n": st.n, "s": st.s,
                             "m2": st.m2, "mn": st.mn, "mx": st.mx, "absum": absum,
                             "sk": None if st.sk is None else list(st.sk)}
    else:
        raise CheckpointError(f"cannot checkpoint a Rolling of kind={agg.config.kind!r} yet: "
                              "only the exact and bucketed kinds export their state")
    return out


def _load_rolling(agg: Any, st: dict) -> None:
    from ..pipeline._buckets import Stats

    if agg._received:
        raise CheckpointError("a checkpoint is restored into a fresh pipeline only "
                              f"(this one has received {agg._received} rows)")
    labels = [_label_in(x) for x in st["labels"]]
    if labels:
        agg._new_labels(labels)
    agg._wm = int(st["wm"])
    agg._received, agg._accepted = int(st["received"]), int(st["accepted"])
    agg._late, agg._dups = int(st["late"]), int(st["duplicates"])
    agg._version = int(st["version"])
    agg._ids = dict(zip(st["ids"].tolist(), st["ids_t"].tolist()))
    agg._ids_pruned_at = int(st["ids_pruned_at"])
    agg._late_parts.clear()
    agg._late_kept = 0
    for part in st["late_rows"]:
        agg._late_parts.append(part)
        agg._late_kept += len(part)
    eng, e = agg._engine, st["engine"]
    if agg._wm == _INT64_MIN:
        return
    if e["kind"] == "rows":
        if e["ts"].size:
            eng.insert(e["ts"], e["codes"], e["vals"], agg._wm)
        else:
            eng.evict(agg._wm - eng.size)
    elif e.get("empty"):
        eng.load([], agg._wm)
    else:
        sk = None if e["sk"] is None else tuple(e["sk"])
        stats = Stats(e["n"], e["s"], e["m2"], e["mn"], e["mx"], sk)
        eng.load([(e["b"], e["codes"], stats, e["absum"])], agg._wm)


def export_aggregate(agg: Any) -> dict:
    own = getattr(agg, "export_state", None)
    if callable(own):
        return {"api": "export_state", "state": own()}
    from ..pipeline.rolling import Rolling

    if isinstance(agg, Rolling):
        return {"api": "rolling", "state": _export_rolling(agg)}
    raise CheckpointError(f"cannot checkpoint an aggregate of type {type(agg).__name__}: "
                          "it has no export_state()")


def load_aggregate(agg: Any, saved: dict) -> None:
    if saved["api"] == "export_state":
        agg.load_state(saved["state"])
    else:
        _load_rolling(agg, saved["state"])


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
            "inner": pipeline._inner.as_dict(), "last_late": pipeline._last_late,
            "snapshot_metric": pipeline._snapshot_metric,
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
    pipeline._last_late = int(p["last_late"])
    pipeline._snapshot_metric = p["snapshot_metric"]
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
