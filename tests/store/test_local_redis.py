"""LocalRedisServer: loopback only, a generated password, and no server outliving the
process that started it (a kernel killed with kill -9 included)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import redis

from rtnb import StoreError
from rtnb.store.redis import RedisStore


def _wait_for_exit(pid: int, timeout: float = 30.0) -> bool:
    """Block until process ``pid`` (not our child) exits: a pidfd becomes readable."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def test_it_binds_loopback_and_refuses_clients_without_the_password(redis_server):
    parts = urlsplit(redis_server.url)
    assert parts.hostname == "127.0.0.1" and len(parts.password) >= 32
    anonymous = redis.Redis(host="127.0.0.1", port=redis_server.port, socket_timeout=2)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
    admin = redis.Redis.from_url(redis_server.url, socket_timeout=2)
    assert admin.config_get("bind")["bind"] == "127.0.0.1"
    assert admin.config_get("protected-mode")["protected-mode"] == "yes"
    # the password is in a 0600 config file, not on the command line (ps shows that)
    with open(f"/proc/{redis_server.pid}/cmdline", "rb") as f:
        assert parts.password.encode() not in f.read()


def test_the_password_is_in_no_repr_or_message(redis_server):
    password = urlsplit(redis_server.url).password
    store = RedisStore(redis_server.url, prefix="t")
    assert password not in repr(redis_server) and password not in repr(store)
    assert password not in str(store.url)
    redis_server.stop()
    with pytest.raises(StoreError) as err:
        RedisStore(redis_server.url)
    assert password not in str(err.value) and "***" in str(err.value)
    with pytest.raises(StoreError) as err:
        store.clear()
    assert password not in str(err.value)
    assert store.metrics() == []
    assert store.status == "down" and password not in (store.last_error or "")
    wrong = redis_server.url.replace(password, "wrong-password")
    redis_server.start()
    with pytest.raises(StoreError) as err:
        RedisStore(wrong)
    assert "wrong-password" not in str(err.value) and "***" in str(err.value)


PARENT = """
import sys
from rtnb.store.local_redis import LocalRedisServer
server = LocalRedisServer().start()
print(server.pid, server.watchdog.pid, flush=True)
sys.stdin.readline()   # wait here until killed
"""


def test_a_server_does_not_outlive_a_parent_killed_with_sigkill(redis_server):
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        redis_pid, watchdog_pid = map(int, parent.stdout.readline().split())
        os.kill(redis_pid, 0)                  # running
        parent.send_signal(signal.SIGKILL)     # the kernel dies without cleaning up
        parent.wait()
        assert _wait_for_exit(redis_pid), "redis-server outlived its parent"
        assert _wait_for_exit(watchdog_pid)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_stop_leaves_no_watchdog_and_start_again_keeps_the_password(redis_server):
    url, watchdog = redis_server.url, redis_server.watchdog
    redis_server.stop()
    assert watchdog.poll() is not None and redis_server.watchdog is None
    redis_server.start()
    assert redis_server.url == url
    RedisStore(redis_server.url, prefix="t").metrics()
