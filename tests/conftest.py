"""Shared test helpers.

``require(ok, component, why)`` skips a test when a real component is missing on a
user's machine, but fails it under ``CI=true``: CI must never pass by skipping.
"""

from __future__ import annotations

import os

import pytest

ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(ok: bool, component: str, why: str) -> None:
    """Skip (or, under CI=true, fail) when ``component`` is not available."""
    if ok:
        return
    msg = f"{component} is not available: {why}"
    if ON_CI:
        pytest.fail(f"{msg} (CI=true: a missing component is a failure, not a skip)")
    pytest.skip(msg)
