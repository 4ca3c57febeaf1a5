"""The Watermark's vectorised verdicts equal the row-by-row definition, for any ids."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtnb.pipeline.watermark import INT64_MIN, Watermark


def row_by_row(batches, lateness):
    wm, seen, out = INT64_MIN, {}, []
    for ts, ids in batches:
        late, dup = [], []
        for t, x in zip(ts.tolist(), ids.tolist()):
            limit = INT64_MIN if wm == INT64_MIN else wm - lateness
            is_late = t < limit
            is_dup = not is_late and x in seen and seen[x] >= limit
            if not (is_late or is_dup):
                seen[x] = t
                wm = max(wm, t)
            late.append(is_late)
            dup.append(is_dup)
        out.append((late, dup))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 12)), min_size=1, max_size=30),
                min_size=1, max_size=6),
       st.sampled_from([0, 3, 10]), st.sampled_from(["int", "str", "float"]))
def test_admit_equals_row_by_row(raw, lateness, id_kind):
    conv = {"int": lambda v: np.array(v, dtype=np.int64),
            "str": lambda v: np.array([f"e{x}" for x in v], dtype=object),
            "float": lambda v: np.array(v, dtype=float) / 2}[id_kind]
    batches = [(np.array([t for t, _ in b], dtype=np.int64), conv([x for _, x in b])) for b in raw]
    wm = Watermark(lateness, dedup=True)
    want = row_by_row(batches, lateness)
    for (ts, ids), (late, dup) in zip(batches, want):
        got = wm.admit(ts, ids)
        assert got.late.tolist() == late and got.duplicate.tolist() == dup
    c = wm.counters
    assert c.received == c.accepted + c.late + c.duplicates
