"""Fixtures of the browser tests: a real headless Chromium, a notebook folder to serve.

JupyterLab and Voila are started by the tests themselves (see ``_servers.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser._servers import CHROMIUM, CHROMIUM_ARGS, ROOT
from tests.conftest import require


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium (Debian's), shared by one module's browser tests.

    Module-scoped, not session-scoped: Playwright's sync API keeps an asyncio loop
    marked running in the main thread while it is open, and every later test that calls
    ``asyncio.run`` (the server, the runner, the tiers timeline) would fail."""
    require(Path(CHROMIUM).exists(), "chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright", "pip install playwright")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def workdir(tmp_path):
    """A copy of the notebooks folder to serve (the repository stays clean)."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_quickstart.ipynb", work / "01_quickstart.ipynb")
    return work
