"""The ``redis_server`` fixture lives in tests/conftest.py; this re-export keeps test
modules written before the move (``from tests.recovery.conftest import redis_server``)
importing during this session's parallel landings. Remove next session."""

from tests.conftest import redis_server  # noqa: F401
