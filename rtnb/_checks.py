"""Argument checks, one message style for the whole package.

Every public entry point checks its arguments with these helpers, so the same kind of
value is accepted (or refused) the same way everywhere: numpy integers count as
integers, booleans never count as numbers, NaN and infinity are refused unless asked
for, and every refusal is a :class:`rtnb.ParameterError` naming the parameter as the
user wrote it and the value given.

>>> check_int("history", np.int64(5), minimum=1)
5
>>> check_int("history", True)
Traceback (most recent call last):
...
rtnb._errors.ParameterError: history=True is invalid: must be an integer, not bool
>>> check_number("rate", 2.5, minimum=0, strict=True)
2.5
>>> check_number("rate", float("nan"))
Traceback (most recent call last):
...
rtnb._errors.ParameterError: rate=nan is invalid: must be a finite number
>>> check_choice("pattern", "sse", ("polling", "sse", "websocket"))
'sse'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ._errors import ParameterError, UnknownNameError

__all__ = [
    "check_bool",
    "check_choice",
    "check_int",
    "check_number",
    "check_optional",
    "check_probability",
    "check_str",
]


def _bound(minimum: float | None, maximum: float | None, strict: bool) -> str:
    lo = ">" if strict else ">="
    if minimum is not None and maximum is not None:
        return f"between {minimum} and {maximum}"
    if minimum is not None:
        return f"{lo} {minimum}"
    if maximum is not None:
        return f"<= {maximum}"
    return ""


def check_int(
    param: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """``value`` as a Python int: ints and numpy integers, never bools or floats.

    >>> check_int("port", 0, minimum=0, maximum=65535)
    0
    >>> check_int("keep", -1, minimum=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: keep=-1 is invalid: must be an integer >= 0
    """
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(param, value, "must be an integer, not bool")
    if not isinstance(value, (int, np.integer)):
        raise ParameterError(param, value, f"must be an integer, not {type(value).__name__}")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ParameterError(param, value, "must be an integer " + _bound(minimum, maximum, False))
    return v


def check_number(
    param: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict: bool = False,
    finite: bool = True,
) -> float:
    """``value`` as a float: ints, floats and numpy numbers, never bools or text.

    ``strict`` makes ``minimum`` exclusive (``> minimum``); ``finite=False`` lets
    infinity through (NaN never passes).

    >>> check_number("speed", 0, minimum=0, strict=True)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: speed=0 is invalid: must be a number > 0
    """
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(param, value, "must be a number, not bool")
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(param, value, f"must be a number, not {type(value).__name__}")
    try:
        v = float(value)
    except OverflowError:
        raise ParameterError(param, value, "must be a finite number") from None
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ParameterError(param, value, "must be a finite number")
    bad = (
        (minimum is not None and (v <= minimum if strict else v < minimum))
        or (maximum is not None and v > maximum)
    )
    if bad:
        raise ParameterError(param, value, "must be a number " + _bound(minimum, maximum, strict))
    return v


def check_probability(param: str, value: Any) -> float:
    """A number in [0, 1].

    >>> check_probability("late", 1.5)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: late=1.5 is invalid: must be a number between 0 and 1
    """
    return check_number(param, value, minimum=0, maximum=1)


def check_bool(param: str, value: Any) -> bool:
    """A bool (or numpy bool), never 0/1 or text.

    >>> check_bool("loop", "yes")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: loop='yes' is invalid: must be True or False
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(param, value, "must be True or False")
    return bool(value)


def check_str(param: str, value: Any, *, empty: bool = False) -> str:
    """A string; empty only when ``empty`` is true.

    >>> check_str("by", "")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: by='' is invalid: must be a non-empty string
    """
    if not isinstance(value, str):
        raise ParameterError(param, value, f"must be a string, not {type(value).__name__}")
    if not empty and not value:
        raise ParameterError(param, value, "must be a non-empty string")
    return value


def check_choice(param: str, value: Any, choices: Iterable[Any]) -> Any:
    """One of ``choices``; otherwise an :class:`rtnb.UnknownNameError` listing them.

    >>> check_choice("tier", "instant", ["batch", "real_time"])
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: tier='instant' is unknown; choose one of: 'batch', 'real_time'
    """
    options = list(choices)
    try:
        ok = value in options
    except TypeError:  # unhashable or incomparable
        ok = False
    if not ok:
        raise UnknownNameError(param, value, options)
    return value


def check_optional(check: Any, param: str, value: Any, **kwargs: Any) -> Any:
    """``None``, or ``value`` passed through ``check``.

    >>> check_optional(check_int, "max_rows", None, minimum=1) is None
    True
    >>> check_optional(check_int, "max_rows", 10, minimum=1)
    10
    """
    return None if value is None else check(param, value, **kwargs)
