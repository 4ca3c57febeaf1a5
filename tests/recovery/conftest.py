"""A real ``redis-server`` for the recovery tests (one per test, no persistence).

Skips — and fails under CI=true — when redis-server or the redis client is missing.
"""

from __future__ import annotations

import importlib.util

import pytest

from rtnb.store.redis import LocalRedisServer
from tests.conftest import require


@pytest.fixture
def redis_server():
    require(importlib.util.find_spec("redis") is not None, "the redis client",
            "pip install 'rtnb[redis]' (part of the test extra)")
    require(LocalRedisServer.available(), "redis-server",
            "the Debian package redis-server is needed for the event log tests "
            "(`make system-deps` installs it as root)")
    server = LocalRedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()
