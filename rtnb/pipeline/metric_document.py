"""A :class:`~rtnb.pipeline.metric.Metric` as a plain document: a dict, JSON or YAML text.

``Metric.from_dict(m.to_dict()) == m``: every field as text, numbers or lists (a
duration as the shortest exact text ``to_duration`` reads back), so a definition is
handed over to whoever runs it elsewhere.

A mixin: the fields and their checks live in :mod:`rtnb.pipeline.metric`; these methods
read the metric's fields.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._errors import ParameterError, UnknownNameError

if TYPE_CHECKING:
    from .metric import Metric

__all__ = ["MetricDocument", "duration_text"]

_DURATIONS = ("window", "resolution", "every", "gap", "lateness")


def duration_text(td: pd.Timedelta) -> str:
    """A duration as the shortest exact text ``to_duration`` reads back: '1D', '90s'.

    >>> duration_text(pd.Timedelta("90min")), duration_text(pd.Timedelta("1.5s"))
    ('90min', '1500ms')
    """
    ns = td.value
    if ns == 0:
        return "0s"
    for unit, n in (("D", 86_400 * 10**9), ("h", 3600 * 10**9), ("min", 60 * 10**9), ("s", 10**9),
                    ("ms", 10**6), ("us", 10**3)):
        if ns % n == 0:
            return f"{ns // n}{unit}"
    return f"{ns}ns"


class MetricDocument:
    """Writing a metric as a plain document (dict, JSON, YAML) and reading one back."""

    def to_dict(self) -> dict[str, Any]:
        """A plain document (text, numbers, lists): JSON or YAML as it is.

        >>> from rtnb.pipeline.metric import Metric
        >>> Metric(name="orders", value="amount").to_dict()["window"]
        '5min'
        """
        out: dict[str, Any] = {"name": self.name, "value": list(self.value), "by": list(self.by),
                               "aggs": list(self.aggs), "derived": dict(self.derived),
                               "filter": self.filter, "kind": self.kind}
        for p in _DURATIONS:
            v = getattr(self, p)
            out[p] = None if v is None else duration_text(v)
        out.update(tz=self.tz, origin=None if self.origin is None else self.origin.isoformat(),
                   time_col=self.time_col, id_col=self.id_col, description=self.description)
        return out

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Metric:
        """A metric from :meth:`to_dict`'s document; an unknown field is an error.

        >>> from rtnb.pipeline.metric import Metric
        >>> Metric.from_dict({"name": "x", "value": "v", "windw": "1min"})
        Traceback (most recent call last):
        ...
        rtnb._errors.UnknownNameError: field='windw' is unknown (not a field of Metric); choose one of: 'name', 'value', 'by', 'aggs', 'derived', 'filter', 'window', 'kind', 'resolution', 'every', 'gap', 'lateness', 'tz', 'origin', 'time_col', 'id_col', 'description'
        """
        if not isinstance(doc, Mapping):
            raise ParameterError("doc", type(doc).__name__, "must be a mapping (a parsed JSON/YAML document)")
        fields = [f.name for f in dataclasses.fields(cls) if f.init]
        for k in doc:
            if k not in fields:
                raise UnknownNameError("field", k, fields, reason="not a field of Metric")
        for k in ("name", "value"):
            if k not in doc:
                raise ParameterError("doc", sorted(doc), f"has no {k!r}")
        kw = dict(doc)
        if kw.get("lateness", 0) is None:
            kw["lateness"] = 0
        return cls(**kw)

    def to_json(self, **options: Any) -> str:
        """The document as JSON text (``options`` go to :func:`json.dumps`)."""
        options.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **options)

    @classmethod
    def from_json(cls, text: str) -> Metric:
        """A metric from :meth:`to_json`'s text.

        >>> from rtnb.pipeline.metric import Metric
        >>> m = Metric(name="x", value="v", derived={"per_s": "v_sum / seconds"})
        >>> Metric.from_json(m.to_json()) == m
        True
        """
        try:
            doc = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise ParameterError("text", str(text)[:40], f"is not JSON: {exc}") from None
        return cls.from_dict(doc)

    def to_yaml(self) -> str:
        """The document as YAML text (needs PyYAML, installed with JupyterLab)."""
        return _yaml().safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> Metric:
        """A metric from :meth:`to_yaml`'s text.

        >>> from rtnb.pipeline.metric import Metric
        >>> m = Metric(name="x", value="v", by="k", tz="Europe/Paris", window="1D")
        >>> Metric.from_yaml(m.to_yaml()) == m
        True
        """
        yaml = _yaml()
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ParameterError("text", str(text)[:40], f"is not YAML: {exc}") from None
        return cls.from_dict(doc)


def _yaml():
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML comes with JupyterLab
        raise ParameterError("format", "yaml", "needs PyYAML (pip install pyyaml); use to_json") from None
    return yaml
