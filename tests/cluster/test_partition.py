"""The partition of a row is its key's, whatever the batch: the driver's cached
Partitioner answers exactly as partition_of (no cluster needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rtnb.cluster import partition_of
from rtnb.cluster._partition import Partitioner

LABELS = [f"k{i}" for i in range(30)]


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.tuples(st.lists(st.integers(0, 29), max_size=40),
                                  st.sampled_from(["categorical", "categorical-subset", "str", "int", "arrow"])),
                        min_size=1, max_size=6),
       n=st.integers(1, 5))
def test_the_cached_partitioner_equals_partition_of_on_every_batch(batches, n):
    """Batches whose Categorical categories stay, change (other sets, other orders) or
    give way to text, integer and Arrow keys: every row's partition is partition_of's,
    and a key's partition never depends on the batch it came in."""
    part = Partitioner(n)
    seen: dict[str, int] = {}
    for codes, form in batches:
        labels = [LABELS[c] for c in codes]
        if form == "categorical":
            col = pd.Categorical(labels, categories=LABELS)
        elif form == "categorical-subset":  # only the labels present, in their order of appearance
            col = pd.Categorical(labels, categories=list(dict.fromkeys(labels)))
        elif form == "int":
            col = np.array(codes, dtype=np.int64)
        elif form == "arrow":
            col = pd.array(labels, dtype="string[pyarrow]")
        else:
            col = np.array(labels, dtype=object)
        frame = pd.DataFrame({"k": col})
        got = part(frame, ("k",))
        assert got.tolist() == partition_of(frame, ("k",), n).tolist()
        if form != "int":
            for label, p in zip(labels, got.tolist()):
                assert seen.setdefault(label, p) == p


def test_a_missing_key_in_a_categorical_takes_the_general_path():
    frame = pd.DataFrame({"k": pd.Categorical(["a", None, "b"], categories=["a", "b"])})
    assert Partitioner(3)(frame, ("k",)).tolist() == partition_of(frame, ("k",), 3).tolist()
