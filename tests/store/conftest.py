"""A real ``redis-server`` on a free loopback port, started and stopped by the tests.

``redis_server`` starts one per test (a few milliseconds) with no persistence, so a
test may ``stop()`` it (as a crash would) and ``start()`` it again on the same port to
play an outage. It skips — and fails under CI=true — when redis-server or the redis
client is not installed.
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
            "the Debian package redis-server is needed for the RedisStore tests "
            "(`make system-deps` installs it as root)")
    server = LocalRedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()
