"""``run_async``, ``Heartbeat`` and ``WALL`` live in tests/conftest.py; this re-export keeps
test modules written before the move (``from tests.runner._live import ...``) importing
during this session's parallel landings. Remove next session."""

from tests.conftest import WALL, Heartbeat, run_async  # noqa: F401
