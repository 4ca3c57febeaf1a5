"""A throw-away ``redis-server`` for tests, notebooks and benchmarks.

:class:`LocalRedisServer` starts ``redis-server`` on a free loopback port, bound to
127.0.0.1 only, with a generated password (kept in a 0600 config file, never on the
command line where ``ps`` would show it), no persistence and its files in a temporary
directory. A small watchdog process holds a pipe from this process: if this process
dies — a kernel killed with ``kill -9`` included — the pipe closes and the watchdog
kills the server, so no server outlives its kernel. Needs the ``redis-server`` program
(Debian package ``redis-server``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile

from .._checks import check_int, check_optional, check_str
from .._errors import StoreError

__all__ = ["LocalRedisServer"]

# The watchdog: blocks reading stdin (a pipe from the parent). "stop" means the parent
# stopped the server itself; end of file means the parent died: kill the server.
# A pidfd pins the server process, so a reused pid is never signalled.
_WATCHDOG = """
import os, signal, sys
pid = int(sys.argv[1])
try:
    fd = os.pidfd_open(pid)
except (AttributeError, OSError):
    fd = None
line = sys.stdin.buffer.readline()
if line.strip() != b"stop":
    try:
        if fd is not None:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, OSError):
        pass
"""


class LocalRedisServer:
    """A throw-away ``redis-server`` on a free loopback port (tests, notebooks, benchmarks).

    ``start()`` returns once the server accepts connections (it reads the server's log,
    no polling); ``stop()`` kills it, as a crash would, so an outage can be played and
    the server started again on the same port (same password). ``url`` carries the
    password, for :class:`rtnb.RedisStore`; the repr never shows it. Use it as a context
    manager.

    >>> with LocalRedisServer() as server:                  # doctest: +SKIP
    ...     store = RedisStore(server.url)
    >>> LocalRedisServer(port=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: port=0 is invalid: must be an integer between 1 and 65535
    >>> "password" in repr(LocalRedisServer(port=6399))
    False
    """

    def __init__(self, port: int | None = None, *, executable: str = "redis-server") -> None:
        port = check_optional(check_int, "port", port, minimum=1, maximum=65535)
        self.executable = check_str("executable", executable)
        self.port = port if port is not None else _free_port()
        self._password = secrets.token_hex(16)
        self.url = f"redis://:{self._password}@127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.watchdog: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None

    @staticmethod
    def available(executable: str = "redis-server") -> bool:
        """Whether the ``redis-server`` program is installed.

        >>> isinstance(LocalRedisServer.available(), bool)
        True
        """
        return shutil.which(executable) is not None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return None if self.process is None else self.process.pid

    def _config(self) -> str:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="rtnb-redis-")
        path = os.path.join(self._dir.name, "redis.conf")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\nprotected-mode yes\n"
                    f"requirepass {self._password}\nsave \"\"\nappendonly no\n"
                    f"daemonize no\ndir {self._dir.name}\nloglevel notice\n")
        return path

    def start(self) -> LocalRedisServer:
        """Start the server (and its watchdog); returns once it accepts connections."""
        if self.process is not None:
            return self
        if not self.available(self.executable):
            raise StoreError(f"{self.executable!r} is not installed (Debian package "
                             "redis-server); cannot start a local Redis")
        # its own session: an interrupt sent to the kernel's process group spares it
        self.process = subprocess.Popen(
            [self.executable, self._config()], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.watchdog = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(self.process.pid)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        log = []
        for line in self.process.stdout:  # the server says when it is ready
            log.append(line)
            if "Ready to accept connections" in line:
                self.process.stdout.close()  # the log is not read further
                return self
        self.stop()
        text = "".join(log[-10:]).replace(self._password, "***")
        raise StoreError(f"redis-server did not start on port {self.port}:\n{text}")

    def stop(self) -> None:
        """Kill the server (as a crash would) and wait until it has exited."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            if self.process.stdout is not None and not self.process.stdout.closed:
                self.process.stdout.close()
            self.process = None
        if self.watchdog is not None:
            try:
                self.watchdog.stdin.write(b"stop\n")
                self.watchdog.stdin.close()
            except OSError:  # the watchdog is gone already
                pass
            self.watchdog.wait()
            self.watchdog = None

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> LocalRedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.process is not None else "stopped"
        return f"LocalRedisServer('redis://127.0.0.1:{self.port}/0', {state})"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
