"""The event log's Redis side: a redis-py client with one timeout and no client-side
retries, known in messages by ``host:port`` (the URL may hold a password); stream ids
(the log's offsets) and the fields of an entry. Shared by
:class:`~rtnb.EventLogWriter` and :class:`~rtnb.EventLogSource`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .._checks import check_number, check_str
from .._errors import ParameterError, SourceError, SourceUnavailable

__all__ = ["stream_id"]

_FIELD_FRAME = b"f"
_FIELD_ROWS = b"n"


def stream_id(raw: bytes | str | None) -> tuple[int, int]:
    """A Redis stream id ``"<ms>-<seq>"`` as a comparable pair (``None`` is before all).

    >>> stream_id("1700000000000-3") < stream_id("1700000000001-0")
    True
    >>> stream_id(None)
    (0, 0)
    >>> stream_id("soon")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: offset='soon' is invalid: not a Redis stream id such as '1700000000000-0'
    """
    if raw is None:
        return (0, 0)
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    ms, _, seq = text.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        raise ParameterError("offset", raw, "not a Redis stream id such as '1700000000000-0'") from None


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class _Connection:
    """A redis-py client with one timeout and no client-side retries, and the address
    it is known by in messages (host:port; the URL may hold a password)."""

    def __init__(self, url: str, timeout: float, extra_wait: float = 0.0) -> None:
        check_str("url", url)
        parts = urlsplit(url)
        if parts.scheme not in {"redis", "rediss", "unix"}:
            raise ParameterError("url", "<hidden>" if parts.password else url,
                                 "not a Redis URL such as 'redis://127.0.0.1:6379/0'")
        self.timeout = check_number("timeout", timeout, minimum=0, strict=True)
        self.address = f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:  # pragma: no cover - the extra is in the test environment
            raise SourceError("the event log needs the redis client: pip install 'rtnb[redis]'") from None
        self.errors = (redis.exceptions.RedisError,)
        self.client = redis.Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), socket_timeout=self.timeout + extra_wait,
            socket_connect_timeout=self.timeout, health_check_interval=0,
        )

    def unavailable(self, what: str, exc: BaseException) -> SourceUnavailable:
        # redis-py's messages name host:port, never the password
        return SourceUnavailable(f"event log at {self.address}: {what} failed: {type(exc).__name__}: {exc}")
