"""Where the rows a :class:`~rtnb.pipeline.graph.Pipeline` did not aggregate go, and
the failures that cost them: counted, kept in its :class:`DeadLetter`, emitted on its
``rejected`` and ``late`` streams, and reported on its ``errors``.

A mixin (like :class:`~rtnb.sources._replay_progress.ReplayProgress`): the stages live
in :mod:`rtnb.pipeline.graph`; these methods read the attributes its constructor sets:
``aggregate``, ``dead_letter``, ``rejected``, ``late``, ``errors``, ``_rejected`` and
``_zone``, and the pipeline's ``name`` and ``_now()``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._errors import ParameterError
from .schema import Validation

__all__ = ["Rejections"]


class Rejections:
    """Rejecting rows and batches, and reporting the stage failures behind them."""

    def _check_zone(self, batch: Any, out: Any) -> Any:
        """A naive batch after aware ones (or the other way round) is rejected whole,
        with a reason naming both: the schema alone would read naive times as UTC."""
        from ._input import _zone_of, check_zone

        col = self._time_col()
        if col is None or not isinstance(batch, pd.DataFrame) or col not in batch.columns or not len(batch):
            return out
        if not batch.columns.is_unique:
            return out
        zone = _zone_of(batch[col].dtype)
        try:
            check_zone(self._zone, zone, col)
        except ParameterError as exc:
            rejected = batch.assign(reason=exc.reason, rule=f"{col} mixes naive and aware times")
            return Validation(accepted=_empty_like(out.accepted), rejected=rejected)
        self._zone = zone
        return out

    def _time_col(self) -> str | None:
        cfg = getattr(self.aggregate, "config", None) or getattr(getattr(self.aggregate, "metric", None), "time_col", None)
        if isinstance(cfg, str):
            return cfg
        return getattr(cfg, "time_col", None)

    def _report_aggregate_errors(self) -> None:
        """Failures the aggregate survived (e.g. a Dask worker lost and replaced:
        ``DaskRolling.take_errors``) go on the errors like a stage's."""
        take = getattr(self.aggregate, "take_errors", None)
        for exc in (take() if callable(take) else ()):
            self._report("aggregate", exc)

    def _aggregate_rows(self, accepted: pd.DataFrame, exc: Exception) -> None:
        """A batch the aggregate refused: reject its bad rows one by one (with their
        reasons) and aggregate the others; only a batch with no bad row to blame is
        rejected whole."""
        from ._input import decode

        cfg = getattr(self.aggregate, "config", None)
        try:
            d = decode(accepted, cfg) if cfg is not None and hasattr(cfg, "measures") else None
        except Exception:
            d = None
        if d is None or not len(d.rejected):
            self._report("aggregate", exc)
            self._reject(_fail_rows(accepted, f"aggregate failed: {type(exc).__name__}: {exc}", "aggregate failed"))
            return
        self._reject(d.rejected)
        good = accepted.iloc[d.keep]
        if len(good):
            try:
                self.aggregate.update(good)
            except Exception as exc2:
                self._report("aggregate", exc2)
                self._reject(_fail_rows(good, f"aggregate failed: {type(exc2).__name__}: {exc2}", "aggregate failed"))

    def _reject(self, rejected: pd.DataFrame) -> None:
        self._rejected += len(rejected)
        self._emit_rejected(rejected)

    def _emit_rejected(self, rejected: pd.DataFrame) -> None:
        self.dead_letter.add(rejected)
        try:
            self.rejected.emit(rejected)
        except Exception as exc:  # a user's sink on the dead-letter stream failed
            self._report("rejected sink", exc)

    def _emit_late(self) -> None:
        """The late rows of the batch just aggregated (an aggregate's ``last_late``)."""
        if not self.late.downstreams:
            return
        rows = getattr(self.aggregate, "last_late", None)
        if not isinstance(rows, pd.DataFrame) or rows.empty:
            return
        try:
            self.late.emit(rows)
        except Exception as exc:
            self._report("late sink", exc)

    def _report(self, stage: str, exc: BaseException) -> None:
        self.errors.report("pipeline", f"{self.name}: {stage}", exc, at=self._now())


def _fail_rows(batch: Any, reason: str, rule: str) -> pd.DataFrame:
    if isinstance(batch, pd.DataFrame):
        return batch.assign(reason=reason, rule=rule)
    return pd.DataFrame({"value": [repr(batch)[:40]], "reason": [reason], "rule": [rule]})


def _empty_like(batch: Any) -> pd.DataFrame:
    return batch.iloc[:0] if isinstance(batch, pd.DataFrame) else pd.DataFrame()
