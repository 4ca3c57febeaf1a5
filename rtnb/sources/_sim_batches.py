"""A simulated block's rows as a batch: the DataFrame a read returns (keys as
categoricals with fixed categories, measures as float64 or int64, the ``fault``
column), and the malformed rows made the way real data is (a missing field, a string in
a measure, a non-finite value change the batch's dtypes; see
:mod:`rtnb.sources.simulate`, "Batches").

:class:`BatchFrames` is that part of :class:`~rtnb.SimulatedSource`; it reads the
source's ``keys``, ``measures``, ``_is_int``, ``_fields``, ``_key_dtypes`` and
``_columns``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._faults import FAULT_LABELS, MISSING, NON_FINITE, WRONG_TYPE
from ._sim_blocks import _ARR, _FAULT, _FIELD, _ID, _TS

__all__ = ["BatchFrames"]

_FAULT_DTYPE = pd.CategoricalDtype(list(FAULT_LABELS))


class BatchFrames:
    """Makes the batches of a :class:`~rtnb.SimulatedSource` (a mixin: see the module
    docstring)."""

    def _frame(self, data: np.ndarray) -> pd.DataFrame:
        cols: dict[str, Any] = {
            "ts": data[_TS].view("M8[ns]"),
            "arrival": data[_ARR].view("M8[ns]"),
            "event_id": data[_ID],
        }
        row = 5
        for key in self.keys:
            cols[key] = data[row]
            row += 1
        for measure, is_int in zip(self.measures, self._is_int):
            cols[measure] = data[row] if is_int else data[row].view(np.float64)
            row += 1
        fault = data[_FAULT]
        bad = np.flatnonzero((fault >= MISSING) & (fault <= NON_FINITE))
        if len(bad):
            self._corrupt(cols, fault[bad], data[_FIELD, bad], bad)
        for key in self.keys:
            cols[key] = pd.Categorical.from_codes(
                cols[key].astype(np.int16), dtype=self._key_dtypes[key], validate=False
            )
        cols["fault"] = pd.Categorical.from_codes(fault.astype(np.int8), dtype=_FAULT_DTYPE, validate=False)
        try:  # 3x faster than the dict constructor: the arrays are already clean and typed
            return pd.DataFrame._from_arrays(
                list(cols.values()), columns=self._columns, index=pd.RangeIndex(len(fault)),
                verify_integrity=False,
            )
        except (AttributeError, TypeError):  # a pandas without this private fast path
            return pd.DataFrame(cols, copy=False)

    def _corrupt(self, cols: dict, kind: np.ndarray, field: np.ndarray, rows: np.ndarray) -> None:
        """Apply missing fields, wrong types and non-finite values to the batch's columns."""
        which, variant = field // 4, field % 4
        for j in np.unique(which):
            name = self._fields[j]
            sel = which == j
            r, kd, var = rows[sel], kind[sel], variant[sel]
            if name == "ts":
                col = cols["ts"].copy()
                col[r] = np.datetime64("NaT")
                cols["ts"] = col
            elif name in self.keys:
                col = cols[name].copy()
                col[r] = -1
                cols[name] = col
            elif (kd == WRONG_TYPE).any():
                col = cols[name].astype(object)
                for i, k, v in zip(r, kd, var):
                    if k == WRONG_TYPE:
                        col[i] = str(col[i])
                    elif k == MISSING:
                        col[i] = np.nan
                    else:
                        col[i] = (np.nan, np.inf, -np.inf)[v]
                cols[name] = col
            else:
                col = cols[name].astype(np.float64)
                col[r] = np.where(kd == MISSING, np.nan, np.array([np.nan, np.inf, -np.inf])[var])
                cols[name] = col
