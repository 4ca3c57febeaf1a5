"""The rtnb command line: tiers table, advise, errors, the installed entry point."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import rtnb
from rtnb.cli import COMMANDS, build_parser, main


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_tiers_prints_one_row_per_tier_with_age_load_and_cost():
    code, text = run("tiers", "--rate", "10", "--viewers", "200", "--hours", "1")
    assert code == 0
    lines = text.strip().splitlines()
    assert lines[0].split()[:4] == ["tier", "pattern", "age", "p50"]
    for col in ("req/s", "connections", "queries/s", "kB/s", "msg/s", "build", "per month"):
        assert col in lines[0]
    assert [ln.split()[0] for ln in lines[1:]] == ["batch", "near_real_time", "real_time", "sub_second"]
    assert "$11,200–14,400" in lines[3]  # a range: an en dash


def test_tiers_csv_has_the_raw_numbers_and_the_limit():
    code, text = run("tiers", "--rate", "10", "--viewers", "50", "--hours", "1", "--csv", "--limit", "5min")
    assert code == 0
    df = pd.read_csv(io.StringIO(text), index_col="tier")
    assert df.loc["near_real_time", "requests_per_s"] == pytest.approx(50 / 60)
    assert df.loc["real_time", "open_connections"] == pytest.approx(50, rel=0.01)
    assert not df.loc["batch", "limit_kept"] and df.loc["real_time", "limit_kept"]


def test_bad_parameters_exit_2_and_name_them(capsys):
    code, _ = run("tiers", "--rate", "10", "--viewers", "-3")
    assert code == 2
    assert "viewers=-3 is invalid" in capsys.readouterr().err
    code, _ = run("tiers", "--rate", "10", "--tiers", "instant")
    assert code == 2
    assert "tier='instant' is unknown" in capsys.readouterr().err
    code, _ = run("advise", "--example", "horoscope")
    assert code == 2
    assert "example='horoscope' is unknown" in capsys.readouterr().err


@pytest.mark.parametrize("argv, says", [
    (["tiers", "--rate", "10", "--hours", "0.1", "--seed", "-1"], "seed=-1 is invalid"),  # was a traceback
    # own-metric flags without --max-age were ignored and the whole catalogue printed
    (["advise", "--name", "orders"], "--name is for your own metric"),
    (["advise", "--response-time", "5min", "--value-per-minute", "10"], "--response-time, --value-per-minute are"),
    (["advise", "--example", "fraud_alerts", "--max-age", "30s", "--response-time", "1min"], "not both"),
])
def test_conflicting_or_ignored_flags_exit_2_with_a_message(capsys, argv, says):
    code, text = run(*argv)
    assert code == 2 and text == ""
    assert says in capsys.readouterr().err

def test_advise_examples_and_own_metric():
    code, text = run("advise", "--example", "fraud_alerts", "weekly_revenue")
    assert code == 0
    assert "fraud_alerts: Real-time via Server-Sent Events" in text and "weekly_revenue: Batch via batch refresh" in text
    assert "[ ] Budget" in text
    code, text = run("advise", "--max-age", "5min", "--response-time", "10min", "--value-per-minute", "1000")
    assert code == 0 and "Near-real-time via short polling" in text


def test_subcommands_are_registered_in_one_place():
    parser = build_parser()
    for name in COMMANDS:
        assert parser.parse_args([name]).command == name


def test_no_subcommand_prints_help_and_exits_2():
    code, text = run()
    assert code == 2 and "tiers" in text


@pytest.mark.skipif(not hasattr(rtnb, "simulate"), reason="the simulators (rtnb.simulate) have not landed")
def test_tiers_for_a_scenario():
    code, text = run("tiers", "--scenario", "ecommerce_orders", "--viewers", "20", "--hours", "1")
    assert code == 0 and "sub_second" in text


def test_the_installed_entry_point_runs():
    exe = shutil.which("rtnb", path=os.path.dirname(sys.executable))
    assert exe, "the rtnb entry point is declared in pyproject (rtnb.cli:main)"
    proc = subprocess.run([exe, "tiers", "--rate", "5", "--viewers", "10", "--hours", "0.5"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "near_real_time" in proc.stdout
