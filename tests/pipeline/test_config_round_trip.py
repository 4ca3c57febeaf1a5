"""Finding 7: a Rolling's configuration is a hand-off, not a dead end."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

import rtnb

CONFIGS = [
    dict(window="60s", by="k", value="v", aggs=("count", "sum", "p95"), lateness="2s"),
    dict(window="1h", value=["a", "b"], kind="bucketed", resolution="1min", keep_late=0),
    dict(window="1D", kind="tumbling", value="v", by=("k", "j")),
    dict(window="10min", kind="sliding", every="1min", value="v", series="sum"),
    dict(kind="session", gap="30s", value="v", by="k", id_col="id"),
]


@pytest.mark.parametrize("options", CONFIGS)
def test_rolling_rebuilds_from_asdict_of_its_config(options):
    agg = rtnb.Rolling(**options)
    again = rtnb.Rolling(**dataclasses.asdict(agg.config))   # failed: option='size' is unknown
    assert again.config == agg.config


def test_a_derived_field_that_disagrees_is_refused():
    cfg = dataclasses.asdict(rtnb.Rolling(window="60s", value="v").config)
    cfg["size"] = pd.Timedelta("5s")
    with pytest.raises(rtnb.ParameterError) as e:
        rtnb.Rolling(**cfg)
    assert e.value.param == "size"


def test_a_metric_definition_exports_as_a_document():
    m = rtnb.Metric(name="orders", value="amount", by="country", window="5min", derived={"avg": "amount_sum / count"})
    doc = json.loads(m.to_json())
    assert doc["window"] == "5min" and rtnb.Metric.from_dict(doc) == m
