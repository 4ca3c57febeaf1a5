"""Schema validation: every rule, every odd input, and fuzzed bad rows (hypothesis)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtnb
from rtnb import Field, Schema

NOW = pd.Timestamp("2024-01-01 12:00")


def clean_batch(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-01 11:59", periods=n, freq="s").as_unit("ns"),
            "country": (["FR", "DE"] * n)[:n],
            "amount": np.arange(n, dtype=float),
            "order_id": np.arange(n),
        }
    )


ORDERS = Schema.infer(keys="country", measures="amount", id_col="order_id", non_negative=True, max_age="24h")


def reasons(batch, schema=ORDERS, now=NOW) -> list[str]:
    return schema.validate(batch, now=now).rejected["reason"].tolist()


# ----------------------------------------------------------------------------- clean path


def test_a_clean_batch_passes_through_without_a_copy():
    b = clean_batch()
    out = ORDERS.validate(b, now=NOW)
    assert out.accepted is b
    assert len(out.rejected) == 0 and out.received == len(b)


def test_time_columns_come_out_at_nanosecond_resolution():
    b = clean_batch()
    b["ts"] = b["ts"].astype("datetime64[us]")
    out = ORDERS.validate(b, now=NOW)
    assert out.accepted["ts"].dtype == "datetime64[ns]"
    assert (out.accepted["ts"] == b["ts"].astype("datetime64[ns]")).all()


def test_tz_aware_times_are_converted_to_naive_utc():
    b = clean_batch(2)
    b["ts"] = pd.to_datetime(["2024-01-01 12:30", "2024-01-01 12:31"]).tz_localize("Europe/Paris")
    out = ORDERS.validate(b, now=NOW)
    assert out.accepted["ts"].tolist() == [pd.Timestamp("2024-01-01 11:30"), pd.Timestamp("2024-01-01 11:31")]
    assert out.accepted["ts"].dtype == "datetime64[ns]"


def test_object_columns_of_numbers_are_converted_and_ints_become_floats():
    b = clean_batch(3)
    b["amount"] = pd.Series([1.5, np.int64(2), 3], dtype=object)
    out = ORDERS.validate(b, now=NOW)
    assert out.accepted["amount"].dtype == np.float64
    assert out.accepted["amount"].tolist() == [1.5, 2.0, 3.0]


def test_numbers_sent_as_text_are_rejected_unless_parse_text():
    b = clean_batch(3)
    b["amount"] = pd.Series(["1.5", " 2 ", 3.0], dtype=object)
    assert reasons(b) == ["amount is not a number: '1.5'", "amount is not a number: ' 2 '"]
    lenient = Schema(fields=(Field(name="amount", dtype="float", parse_text=True),))
    assert lenient.validate(b).accepted["amount"].tolist() == [1.5, 2.0, 3.0]
    ints = Schema(fields=(Field(name="n", dtype="int", parse_text=True),))
    assert ints.validate(pd.DataFrame({"n": ["4", "x"]})).accepted["n"].tolist() == [4]


def test_object_key_columns_of_text_are_accepted():
    b = clean_batch(4)
    b["country"] = b["country"].astype(object)
    assert len(ORDERS.validate(b, now=NOW).accepted) == 4


# ----------------------------------------------------------------------------- each rule


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("amount", np.nan, "amount is NaN"),
        ("amount", None, "amount is missing"),
        ("amount", np.inf, "amount is not finite: inf"),
        ("amount", -np.inf, "amount is not finite: -inf"),
        ("amount", "abc", "amount is not a number: 'abc'"),
        ("amount", True, "amount is not a number: True"),
        ("amount", [1, 2], "amount is not a number: [1, 2]"),
        ("amount", -3.5, "amount is -3.5, below the minimum 0"),
        ("country", None, "country is missing"),
        ("country", 5, "country is not text: 5"),
        ("ts", None, "ts is missing"),
        ("ts", "not a date", "ts is not a time: 'not a date'"),
        ("ts", 17, "ts is not a time: 17"),
        ("ts", pd.Timestamp("2024-01-04 12:00"), "ts is 3 days in the future"),
        ("ts", pd.Timestamp("2023-12-25 12:00"), "ts is 7 days old, more than 1 day"),
        ("order_id", None, "order_id is missing"),
        ("order_id", [3], "order_id is not a valid id: [3]"),
    ],
)
def test_each_rule_rejects_the_bad_row_with_its_reason(column, value, reason):
    b = clean_batch(3)
    col = b[column].astype(object)
    col.iloc[1] = value
    b[column] = col
    out = ORDERS.validate(b, now=NOW)
    assert out.rejected["reason"].tolist() == [reason]
    assert out.rejected.index.tolist() == [1]
    assert out.accepted.index.tolist() == [0, 2]


def test_missing_required_column_rejects_every_row():
    b = clean_batch(3).drop(columns="country")
    out = ORDERS.validate(b, now=NOW)
    assert out.rejected["reason"].tolist() == ["missing column country"] * 3
    assert len(out.accepted) == 0


def test_several_failures_of_one_row_are_all_named_in_field_order():
    b = clean_batch(2).astype({"amount": object, "country": object})
    b.loc[0, "amount"] = -1
    b.loc[0, "country"] = None
    assert reasons(b) == ["country is missing; amount is -1, below the minimum 0"]
    assert ORDERS.validate(b, now=NOW).rejected["rule"].tolist() == [
        "country is missing; amount is below the minimum"
    ]


def test_choices_max_and_whole_numbers():
    schema = Schema(
        fields=(
            Field(name="country", dtype="str", choices=("FR", "DE")),
            Field(name="qty", dtype="int", min=1, max=10),
        )
    )
    b = pd.DataFrame({"country": ["FR", "IT", "DE", "DE"], "qty": [1, 2, 2.5, 11]})
    out = schema.validate(b)
    assert out.rejected["reason"].tolist() == [
        "country is 'IT', not one of 'FR', 'DE'",
        "qty is not a whole number: 2.5",
        "qty is 11.0, above the maximum 10",
    ]
    assert out.accepted["qty"].dtype == np.int64 and out.accepted["qty"].tolist() == [1]


def test_plausible_time_is_only_checked_when_now_is_given():
    b = clean_batch(1)
    b["ts"] = pd.Timestamp("2030-01-01").as_unit("ns")
    assert len(ORDERS.validate(b).accepted) == 1
    assert reasons(b)[0].endswith("in the future")


def test_optional_column_is_added_with_missing_values():
    schema = Schema(fields=(Field(name="x", dtype="float"), Field(name="note", dtype="str", required=False)))
    out = schema.validate(pd.DataFrame({"x": [1.0, 2.0]}))
    assert len(out.accepted) == 2 and out.accepted["note"].isna().all()


def test_nullable_fields_accept_missing_values():
    schema = Schema(fields=(Field(name="x", dtype="float", nullable=True),))
    assert len(schema.validate(pd.DataFrame({"x": [1.0, np.nan]})).accepted) == 2


# ----------------------------------------------------------------------------- odd inputs


@pytest.mark.parametrize(
    "batch, rows, kind",
    [
        (None, 1, "NoneType"),
        ({"ts": [1, 2, 3]}, 1, "dict"),
        ("ts,amount", 1, "str"),
        (42, 1, "int"),
        ([{"amount": 1}, {"amount": 2}], 2, "list"),
        (np.zeros(5), 5, "ndarray"),
        (pd.Series([1.0, 2.0, 3.0]), 3, "Series"),
        ([], 0, "list"),
    ],
)
def test_a_batch_that_is_not_a_dataframe_is_rejected_whole(batch, rows, kind):
    out = ORDERS.validate(batch, now=NOW)
    assert len(out.accepted) == 0
    assert out.received == rows
    assert out.rejected["reason"].tolist() == [f"batch is a {kind}, not a DataFrame"] * rows


def test_empty_batch_gives_empty_frames_with_the_schema_columns():
    out = ORDERS.validate(pd.DataFrame(), now=NOW)
    assert out.received == 0
    assert list(out.accepted.columns) == ["ts", "country", "amount", "order_id"]
    assert out.accepted["ts"].dtype == "datetime64[ns]"


def test_extra_columns_are_kept_by_default_or_dropped():
    b = clean_batch(2).assign(fault="", note="x")
    assert list(ORDERS.validate(b, now=NOW).accepted.columns) == list(b.columns)
    drop = Schema(fields=ORDERS.fields, extra="drop")
    assert list(drop.validate(b, now=NOW).accepted.columns) == ["ts", "country", "amount", "order_id"]


def test_duplicate_column_names_reject_the_batch():
    b = pd.DataFrame([[1.0, 2.0]], columns=["amount", "amount"])
    out = ORDERS.validate(b, now=NOW)
    assert out.rejected["reason"].tolist() == ["duplicate column names: 'amount'"]


def test_non_unique_index_is_fine():
    b = clean_batch(4)
    b.index = [0, 0, 1, 1]
    b["amount"] = [1.0, np.nan, 2.0, 3.0]
    out = ORDERS.validate(b, now=NOW)
    assert len(out.accepted) == 3 and out.rejected["reason"].tolist() == ["amount is NaN"]


# ----------------------------------------------------------------------------- configuration


def test_invalid_configuration_names_the_parameter():
    with pytest.raises(rtnb.UnknownNameError, match="dtype='money'"):
        Field(name="a", dtype="money")
    with pytest.raises(rtnb.ParameterError, match="max=1"):
        Field(name="a", dtype="float", min=2, max=1)
    with pytest.raises(rtnb.ParameterError, match="choices"):
        Field(name="a", dtype="float", choices=("x",))
    with pytest.raises(rtnb.ParameterError, match="max_future='soon'"):
        Field(name="ts", dtype="time", max_future="soon")
    with pytest.raises(rtnb.UnknownNameError, match="extra='ignore'"):
        Schema(fields=(), extra="ignore")
    with pytest.raises(rtnb.ParameterError, match="fields"):
        Schema(fields=("amount",))
    with pytest.raises(rtnb.ParameterError, match="parse_text"):
        Field(name="ts", dtype="time", parse_text=True)


@pytest.mark.parametrize("keys", [[3, 7, 3], [True, False, True], np.array([3, 7, 3], dtype="uint8"),
                                  pd.array([3, None, 3], dtype="Int64"), pd.Categorical([3, 7, 3])])
def test_inferred_keys_take_integer_and_boolean_columns_whole(keys):
    # Rolling groups by them and replay() infers boolean columns as keys: a key that is
    # not text must not send every row of the stream to the dead-letter.
    b = clean_batch(3).assign(country=keys)
    out = ORDERS.validate(b, now=NOW)
    missing = pd.isna(pd.Series(keys)).to_numpy()
    assert out.accepted.index.tolist() == [i for i in range(3) if not missing[i]]
    assert out.rejected["reason"].tolist() == ["country is missing"] * int(missing.sum())
    # text with a stray number or float is still a producer's type error
    mixed = clean_batch(3).assign(country=pd.Series(["FR", 5, 1.5], dtype=object))
    assert reasons(mixed) == ["country is not text: 5", "country is not text: 1.5"]
    assert reasons(clean_batch(2).assign(country=[1.0, 2.0])) == ["country is not text: 1.0", "country is not text: 2.0"]


def test_an_old_time_says_its_age_in_plain_days():
    b = clean_batch(1).assign(ts=pd.Timestamp("2021-03-01 12:00"))
    assert reasons(b) == ["ts is 1,036 days old, more than 1 day"]


def test_from_source_uses_its_keys_measures_and_id():
    class Orders:
        name, keys, measures, id_col = "orders", ("country", "channel"), ("amount", "items"), "order_id"

    schema = Schema.from_source(Orders())
    assert [(f.name, f.dtype) for f in schema.fields] == [
        ("ts", "time"), ("country", "key"), ("channel", "key"),
        ("amount", "float"), ("items", "float"), ("order_id", "id"),
    ]


# ----------------------------------------------------------------------------- fuzzing

WEIRD = st.one_of(
    st.none(),
    st.just(np.nan),
    st.just(np.inf),
    st.just(-np.inf),
    st.just(pd.NA),
    st.just(pd.NaT),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 1, 1)),
    st.sampled_from(["2024-01-01 11:59", "2024-01-01T11:59:30Z", "FR", "1e3", "nan", "-0", " 12 "]),
    st.builds(lambda s: pd.Timestamp("2024-01-01 11:59") + pd.Timedelta(seconds=s), st.integers(-10**6, 10**6)),
)


@st.composite
def messy_batches(draw):
    n = draw(st.integers(min_value=0, max_value=12))
    batch = clean_batch(n) if n else pd.DataFrame({c: [] for c in ("ts", "country", "amount", "order_id")})
    fault = np.zeros(n, dtype=bool)
    for col in ("ts", "country", "amount", "order_id"):
        if draw(st.booleans()):
            continue
        values = batch[col].astype(object).tolist()
        for i in draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=n)) if n else []:
            values[i] = draw(WEIRD)
            fault[i] = True
        batch[col] = pd.Series(values, dtype=object, index=batch.index)
    if draw(st.booleans()) and n:
        batch = batch.drop(columns=draw(st.sampled_from(["country", "amount"])))
    if draw(st.booleans()):
        batch["extra"] = pd.Series([draw(WEIRD)] * len(batch), dtype=object, index=batch.index)
    return batch, fault


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_batches())
def test_fuzzed_batches_never_raise_and_every_row_is_accounted_for(case):
    batch, _ = case
    out = ORDERS.validate(batch, now=NOW)
    assert out.received == len(batch)
    assert len(out.accepted) + len(out.rejected) == len(batch)
    # Accepted and rejected rows partition the input rows.
    assert sorted(out.accepted.index.tolist() + out.rejected.index.tolist()) == sorted(batch.index.tolist())
    assert out.rejected["reason"].map(lambda r: isinstance(r, str) and len(r) > 0).all()
    assert out.rejected["rule"].map(lambda r: isinstance(r, str) and len(r) > 0).all()
    acc = out.accepted
    if len(acc):
        assert acc["ts"].dtype == "datetime64[ns]"
        assert acc["ts"].notna().all() and (acc["ts"] <= NOW + pd.Timedelta("1h")).all()
        assert (acc["ts"] >= NOW - pd.Timedelta("24h")).all()
        assert acc["amount"].dtype == np.float64
        assert np.isfinite(acc["amount"]).all() and (acc["amount"] >= 0).all()
        # keys: text, or a whole column of integers or booleans
        kinds = acc["country"].map(lambda v: str if isinstance(v, str) else int if isinstance(v, (int, np.integer)) else None)
        assert kinds.notna().all() and kinds.nunique() == 1
        assert acc["order_id"].notna().all()
        assert acc["order_id"].map(lambda v: not isinstance(v, (list, dict))).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["nan", "none", "text", "negative", "inf", "future", "old", "list"]), min_size=1, max_size=30))
def test_every_injected_fault_is_rejected_and_no_clean_row_is(faults):
    n = len(faults) * 2
    b = clean_batch(n)
    b["amount"] = b["amount"].astype(object)
    b["ts"] = b["ts"].astype(object)
    b["fault"] = ""
    bad = {
        "nan": ("amount", np.nan), "none": ("amount", None), "text": ("amount", "12,5"),
        "negative": ("amount", -1.0), "inf": ("amount", np.inf), "list": ("amount", [1]),
        "future": ("ts", pd.Timestamp("2024-02-01")), "old": ("ts", pd.Timestamp("2023-01-01")),
    }
    for i, f in enumerate(faults):  # every other row is faulty
        col, value = bad[f]
        b.at[2 * i, col] = value
        b.at[2 * i, "fault"] = f
    out = ORDERS.validate(b, now=NOW)
    assert (out.rejected["fault"] != "").all() and len(out.rejected) == len(faults)
    assert (out.accepted["fault"] == "").all() and len(out.accepted) == n - len(faults)
