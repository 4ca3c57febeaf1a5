"""The one error tree of rtnb.

Catch :class:`RtnbError` for anything rtnb raises on purpose, or a precise subclass::

    RtnbError
    ├── ParameterError        a parameter has an invalid value (also a ValueError)
    │   └── UnknownNameError  a name is not one of the valid choices (also a KeyError)
    ├── SourceError           a source cannot be read (file missing, unreadable, bad data)
    │   └── SourceUnavailable a source is temporarily down (an outage); retry later
    ├── StoreError            a store backend cannot be reached or written
    └── CheckpointError       a checkpoint cannot be written, read, or does not fit

Messages name the parameter and the value that was wrong and, where there are some,
the valid choices:

>>> raise ParameterError("rate", -5, "must be > 0")
Traceback (most recent call last):
...
rtnb._errors.ParameterError: rate=-5 is invalid: must be > 0
>>> raise UnknownNameError("scenario", "shop", ["ad_spend", "ecommerce_orders"])
Traceback (most recent call last):
...
rtnb._errors.UnknownNameError: scenario='shop' is unknown; choose one of: 'ad_spend', 'ecommerce_orders'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "RtnbError",
    "ParameterError",
    "UnknownNameError",
    "SourceError",
    "SourceUnavailable",
    "StoreError",
    "CheckpointError",
]


class RtnbError(Exception):
    """Base class of every error rtnb raises on purpose.

    >>> issubclass(ParameterError, RtnbError)
    True
    """


class ParameterError(RtnbError, ValueError):
    """A parameter has an invalid value.

    ``param`` is the parameter's name, ``value`` the value given, ``reason`` what is
    wrong with it and ``choices`` the valid values where there is a short list.

    >>> err = ParameterError("window", "5 parsecs", "not a duration such as '60s'")
    >>> err.param, err.value
    ('window', '5 parsecs')
    >>> str(err)
    "window='5 parsecs' is invalid: not a duration such as '60s'"
    """

    def __init__(
        self,
        param: str,
        value: Any,
        reason: str = "",
        choices: Iterable[Any] | None = None,
    ) -> None:
        self.param = param
        self.value = value
        self.reason = reason
        self.choices = list(choices) if choices is not None else None
        super().__init__(self._message())

    def _message(self) -> str:
        msg = f"{self.param}={self.value!r} is invalid"
        if self.reason:
            msg += f": {self.reason}"
        if self.choices is not None:
            msg += "; choose one of: " + ", ".join(repr(c) for c in self.choices)
        return msg

    def __reduce__(self):  # keep pickling (multiprocessing, dask) working
        return (type(self), (self.param, self.value, self.reason, self.choices))


class UnknownNameError(ParameterError, KeyError):
    """A name (scenario, data set, tier, aggregate, ...) is not one of the valid choices.

    >>> err = UnknownNameError("tier", "instant", ["batch", "real_time"])
    >>> err.choices
    ['batch', 'real_time']
    """

    def __init__(
        self,
        param: str,
        value: Any,
        choices: Iterable[Any] | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(param, value, reason, choices)

    def _message(self) -> str:
        msg = f"{self.param}={self.value!r} is unknown"
        if self.reason:
            msg += f" ({self.reason})"
        if self.choices is not None:
            msg += "; choose one of: " + ", ".join(repr(c) for c in self.choices)
        return msg

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self._message()

    def __reduce__(self):
        return (type(self), (self.param, self.value, self.choices, self.reason))


class SourceError(RtnbError):
    """A source cannot be read: a missing or unreadable file, or data it cannot use.

    >>> str(SourceError("data='missing.csv' cannot be read: no such file"))
    "data='missing.csv' cannot be read: no such file"
    """


class SourceUnavailable(SourceError):
    """A source is temporarily down (an outage, a dropped connection).

    The runner counts it, shows the source as down and asks again on its next tick;
    events are delivered once the source is back, so none are lost.

    >>> issubclass(SourceUnavailable, SourceError)
    True
    """


class StoreError(RtnbError):
    """A store backend cannot be reached or written (e.g. Redis is down).

    >>> issubclass(StoreError, RtnbError)
    True
    """


class CheckpointError(RtnbError):
    """A checkpoint cannot be written or read, is damaged, or was written by a pipeline
    of another configuration (the message names the file and what differs).

    >>> issubclass(CheckpointError, RtnbError)
    True
    """
