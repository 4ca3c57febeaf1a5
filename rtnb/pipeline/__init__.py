"""The pipeline: validate → watermark and late data → rolling aggregates → snapshots.

Stages are streamz nodes over micro-batches (pandas DataFrames), never single events.
"""

from __future__ import annotations

from .graph import DeadLetter, Pipeline, build_pipeline
from .schema import Field, Schema, Validation
from ._buckets import Buckets
from .rolling import Rolling, RollingConfig
from .sketch import QuantileSketch
from .metric import Metric

__all__ = ["Metric", "Buckets", "QuantileSketch", "Rolling", "RollingConfig", "DeadLetter", "Field", "Pipeline", "Schema", "Validation", "build_pipeline"]
