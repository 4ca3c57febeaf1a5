"""A real ``redis-server`` on a free loopback port, started and stopped by the tests.

``redis_server`` starts one per test (a few milliseconds) in a temporary directory,
with no persistence, so a test may stop it and start it again (``stop()``, ``start()``)
to play an outage. It skips (fails under CI=true) when redis-server is not installed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require

pytest.importorskip("redis", reason="the redis client (rtnb[redis]) is not installed")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server subprocess on 127.0.0.1:``port``; ``url`` to connect."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the server and return once it accepts connections."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--dir", str(self.directory), "--loglevel", "notice"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        log = []
        # Block on the server's own log instead of sleeping: it prints this when ready.
        for line in self.process.stdout:
            log.append(line)
            if "Ready to accept connections" in line:
                return
        self.process.wait()
        raise RuntimeError("redis-server did not start:\n" + "".join(log))

    def stop(self) -> None:
        """Kill the server (as a crash would) and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None


@pytest.fixture
def redis_server(tmp_path):
    require(shutil.which("redis-server") is not None, "redis-server",
            "the Debian package redis-server is needed for the RedisStore tests "
            "(`make system-deps` installs it as root)")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
