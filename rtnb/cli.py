"""The ``rtnb`` command line.

Subcommands (add one with a ``_add_<name>`` function registered in :data:`COMMANDS`):

- ``rtnb tiers`` — simulate a workload through the four latency tiers and print data
  age, load and cost per tier;
- ``rtnb advise`` — the tier advisor for the catalogue's example metrics or your own;
- ``rtnb serve`` — serve a RedisStore over HTTP polling, SSE and WebSocket (extra
  ``serve``), see :mod:`rtnb.serve._service`.

>>> main(["tiers", "--rate", "5", "--viewers", "20", "--hours", "0.5"])  # doctest: +ELLIPSIS
tier pattern age p50 age p95 age max req/s ...
batch batch_refresh ...
0
>>> main(["tiers", "--rate", "5", "--viewers", "-3"])  # the message goes to stderr
2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import pandas as pd

from ._errors import RtnbError
from .tiers import EXAMPLES, TIER_NAMES, CostModel, advise, tier_costs

__all__ = ["main", "build_parser", "COMMANDS"]


def _age(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "-"
    for unit, n in (("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= n:
            return f"{seconds / n:.3g} {unit}"
    return f"{seconds * 1000:.3g} ms"


def _money(lo: float, hi: float) -> str:
    return f"${lo:,.0f}" if round(lo) == round(hi) else f"${lo:,.0f}–{hi:,.0f}"  # an en dash: a range


def _tiers_table(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "pattern": df["pattern"],
        "age p50": df["age_p50_s"].map(_age),
        "age p95": df["age_p95_s"].map(_age),
        "age max": df["age_max_s"].map(_age),
        "req/s": df["requests_per_s"].map("{:,.2f}".format),
        "req/s peak": df["requests_peak_1s"].map("{:,.1f}".format),
        "connections": df["open_connections"].map("{:,.0f}".format),
        "queries/s": df["store_queries_per_s"].map("{:,.2f}".format),
        "kB/s": (df["bytes_per_s"] / 1000).map("{:,.1f}".format),
        "msg/s": df["messages_per_s"].map("{:,.1f}".format),
        "build": [_money(a, b) for a, b in zip(df["build_low"], df["build_high"])],
        "per month": [_money(a, b) for a, b in zip(df["monthly_low"], df["monthly_high"])],
    }, index=df.index)


def _workload(args: argparse.Namespace) -> Any:
    if args.scenario is None:
        return args.rate if args.rate is not None else 10.0
    import rtnb

    make = getattr(rtnb, "simulate", None)
    if make is None:
        raise RtnbError("scenarios need rtnb.simulate, which this installation lacks; use --rate")
    kwargs = {"seed": args.seed}
    if args.rate is not None:
        kwargs["rate"] = args.rate
    return make(args.scenario, **kwargs)


def _run_tiers(args: argparse.Namespace, out: TextIO) -> int:
    options: dict[str, Any] = {"seed": args.seed, "resolution": args.resolution}
    if args.limit:
        options["limit"] = args.limit
    df = tier_costs(_workload(args), viewers=args.viewers, hours=args.hours, tiers=args.tiers,
                    cost=CostModel(), **options)
    if args.csv:
        df.to_csv(out)
        return 0
    table = _tiers_table(df)
    if args.limit:
        table["limit kept"] = df["within_limit"].map("{:.1%}".format) if "within_limit" in df else "-"
    print(table.rename_axis("tier").reset_index().to_string(index=False), file=out)
    return 0


def _add_tiers(sub: Any) -> None:
    p = sub.add_parser("tiers", help="data age, load and cost of each latency tier for a workload",
                       description="Simulate V viewers for T hours under each tier's usual delivery "
                       "pattern and print data age (p50/p95/max), loads and cost ranges.")
    src = p.add_argument_group("workload (a scenario, or a Poisson rate)")
    src.add_argument("--scenario", help="a simulator scenario, e.g. ecommerce_orders")
    src.add_argument("--rate", type=float, help="events per second (default 10, or the scenario's)")
    p.add_argument("--viewers", type=int, default=200, help="concurrent viewers (default 200)")
    p.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    p.add_argument("--tiers", nargs="+", default=list(TIER_NAMES), metavar="TIER",
                   help="tiers to compare (default: all four)")
    p.add_argument("--limit", help="the metric's maximum acceptable age, e.g. 5min")
    p.add_argument("--resolution", default="1min", help="time slice of the simulation (default 1min)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--csv", action="store_true", help="print raw numbers as CSV")
    p.set_defaults(run=_run_tiers)


def _run_advise(args: argparse.Namespace, out: TextIO) -> int:
    own = {"--name": args.name, "--response-time": args.response_time,
           "--value-per-minute": args.value_per_minute, "--viewers": args.viewers,
           "--event-rate": args.event_rate, "--dataset": args.dataset}
    if args.max_age:
        if args.example:
            raise RtnbError("advise: give --example (catalogue metrics) or --max-age (your own metric), not both")
        if not args.response_time:
            raise RtnbError("advise: --max-age needs --response-time")
        extra: dict[str, Any] = {}
        if args.event_rate is not None:
            extra["event_rate"] = args.event_rate
        events = None
        if args.dataset is not None:  # the real event times of a shipped data set, replayed
            from . import datasets

            events = datasets.replay(args.dataset, speed=args.speed)
        recs = [advise(name=args.name if args.name is not None else "metric", max_age=args.max_age,
                       response_time=args.response_time, value_per_minute=args.value_per_minute,
                       viewers=args.viewers if args.viewers is not None else 50, events=events, **extra)]
    elif given := [flag for flag, value in own.items() if value is not None]:
        # without --max-age these would be ignored and the whole catalogue printed
        raise RtnbError(f"advise: {', '.join(given)} {'is' if len(given) == 1 else 'are'} for your own metric: "
                        "give --max-age and --response-time too (or drop it to advise on the catalogue)")
    else:
        from ._errors import UnknownNameError

        names = args.example or list(EXAMPLES)
        for n in names:
            if n not in EXAMPLES:
                raise UnknownNameError("example", n, list(EXAMPLES))
        recs = [advise(EXAMPLES[n]) for n in names]
    for r in recs:
        print(r, file=out)
        print(file=out)
    return 0


def _add_advise(sub: Any) -> None:
    p = sub.add_parser("advise", help="recommend a tier for metrics (decision-change test, cost, checklist)")
    p.add_argument("--example", nargs="+", metavar="NAME",
                   help="catalogue metrics to advise on (default: all): " + ", ".join(EXAMPLES))
    p.add_argument("--name", help="your metric's name (default: metric)")
    p.add_argument("--max-age", help="maximum acceptable data age, e.g. 30s")
    p.add_argument("--response-time", help="how fast the response to a change can happen, e.g. 5min")
    p.add_argument("--value-per-minute", type=float, help="yearly value of one minute less delay")
    p.add_argument("--viewers", type=int, help="concurrent viewers of your metric (default 50)")
    p.add_argument("--event-rate", type=float, help="events per second of your metric (default 10)")
    p.add_argument("--dataset", help="simulate with the real event times of a shipped data set "
                   "(flights, online_retail), replayed at --speed")
    p.add_argument("--speed", type=float, default=60.0, help="replay speed-up for --dataset (default 60)")
    p.set_defaults(run=_run_advise)


def _run_serve(args: argparse.Namespace, out: TextIO) -> int:
    from .serve._service import run_service

    limits = dict(item.split("=", 1) for item in args.limit or [])
    return run_service(args.redis, host=args.host, port=args.port, prefix=args.prefix, out=out,
                       token=args.token, max_connections=args.max_connections, limits=limits)


def _add_serve(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve a RedisStore over HTTP polling, SSE and WebSocket",
                       description="Serve the snapshots a pipeline writes to Redis: GET /metrics, "
                       "/metrics/NAME (ETag/304), /metrics/NAME/events (SSE), /metrics/NAME/ws, "
                       "and a live page at /.")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0",
                   help="the store's Redis URL (default redis://127.0.0.1:6379/0)")
    p.add_argument("--prefix", default="rtnb", help="the store's key prefix (default rtnb)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--token", help="require Authorization: Bearer TOKEN (or ?token=)")
    p.add_argument("--max-connections", type=int, default=2000, help="push clients at most (default 2000)")
    p.add_argument("--limit", nargs="+", metavar="METRIC=AGE",
                   help="acceptable data age per metric, e.g. orders=5s refunds=near_real_time")
    p.set_defaults(run=_run_serve)


COMMANDS: dict[str, Callable[[Any], None]] = {"tiers": _add_tiers, "advise": _add_advise, "serve": _add_serve}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subparser per entry of :data:`COMMANDS`.

    >>> build_parser().parse_args(["tiers", "--viewers", "5"]).viewers
    5
    """
    parser = argparse.ArgumentParser(prog="rtnb", description="rtnb: live analytics in Jupyter, and its tiers lab.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad usage or parameter)."""
    out = out if out is not None else sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(out)
        return 2
    try:
        return args.run(args, out)
    except RtnbError as e:
        print(f"rtnb: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
