"""Real servers for the browser tests: JupyterLab, Notebook 7, Voila, and how to stop them.

JupyterLab, Notebook 7 and Voila are started by the tests on free ports, in their own process
group, with a fresh workspace and settings directory; they are always stopped (and
their kernels shut down) in ``finally``. Chromium is Debian's ``/usr/bin/chromium``
driven by Playwright through ``executable_path``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("RTNB_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless=new", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
    # A page driven by a test is the user's page in front: Chromium must not throttle its
    # timers (the freshness badge ages on a 100 ms timer; throttled to seconds under load
    # it never showed a 3 s kernel block).
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows", "--disable-features=IntensiveWakeUpThrottling",
]
#: How long the notebook's live cells run in the browser tests (wall seconds).
LIVE_SECONDS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60.0, log: Path | None = None) -> None:
    """Wait until ``url`` answers 200, failing fast if the server process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # polling a server we started, not waiting for our own work
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a server started with ``start_new_session=True``, and everything it started."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    else:  # the leader is gone; kernels it started may still be in its group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def lab_settings(settings: Path) -> None:
    """No news popup, no autosave, no windowing (every cell stays in the DOM)."""
    for plugin, values in {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def server_env(tmp: Path, live_seconds: float = LIVE_SECONDS) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RTNB_LIVE_SECONDS=str(live_seconds),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    lab_settings(tmp / "settings")
    return env


def delete_sessions(base: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        with urllib.request.urlopen(f"{base}/api/sessions", timeout=5) as r:
            sessions = json.load(r)
        for s in sessions:
            req = urllib.request.Request(f"{base}/api/sessions/{s['id']}", method="DELETE")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(req, timeout=10).close()


@contextlib.contextmanager
def jupyter_lab(workdir: Path, tmp: Path):
    """A JupyterLab serving ``workdir``; yields its base URL."""
    with _jupyter("lab", "LabApp", workdir, tmp) as base:
        yield base


@contextlib.contextmanager
def jupyter_notebook(workdir: Path, tmp: Path):
    """A Notebook 7 serving ``workdir`` (``window.jupyterapp`` exposed); yields its base URL.

    Notebook 7 is built from JupyterLab's components: it reads the same workspace and
    settings directories, so the settings of :func:`lab_settings` apply to it too.
    """
    with _jupyter("notebook", "JupyterNotebookApp", workdir, tmp) as base:
        yield base


@contextlib.contextmanager
def _jupyter(subcommand: str, app: str, workdir: Path, tmp: Path):
    """``jupyter <subcommand>`` on a free port, no token, the app exposed as ``window.jupyterapp``."""
    port = free_port()
    log = tmp / f"{subcommand}.log"
    cmd = [
        str(BIN / "jupyter"), subcommand, "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True", f"--{app}.expose_app_in_browser=True",
        f"--ServerApp.root_dir={workdir}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # as root the server refuses to start without it
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, env=server_env(tmp), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/api/status", proc, log=log)
        yield base
    finally:
        delete_sessions(base)
        stop_group(proc)


@contextlib.contextmanager
def voila(notebook: Path, tmp: Path, live_seconds: float = LIVE_SECONDS):
    """Voila rendering ``notebook`` (its live cells run ``live_seconds``); yields its URL."""
    port = free_port()
    log = tmp / "voila.log"
    cmd = [str(BIN / "voila"), str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           "--show_tracebacks=True"]  # a failing cell shows its traceback (the tests look for one)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=notebook.parent, env=server_env(tmp, live_seconds), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_port(port, proc, log)  # the page itself runs the notebook: just wait to listen
        yield base
    finally:
        stop_group(proc)


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited with {proc.returncode}\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"voila did not listen on {port} within {timeout} s")


