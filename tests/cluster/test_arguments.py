"""Arguments of the cluster path, named as the user wrote them (no cluster needed)."""

from __future__ import annotations

import streamz
import pytest

import rtnb
from tests.conftest import require_module


def test_a_scheduler_that_does_not_answer_is_a_parameter_error_naming_cluster():
    require_module("distributed", "dask")
    with pytest.raises(rtnb.ParameterError, match="^cluster='tcp://127.0.0.1:9'"):
        rtnb.build_pipeline(streamz.Stream(), metric="amount", by="country", cluster="tcp://127.0.0.1:9")


def test_python_dash_m_rtnb_is_the_command_line():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "rtnb", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "advise" in out.stdout
