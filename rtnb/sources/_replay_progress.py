"""Where a replay has got to: the clock time it is anchored at, the rows delivered so
far, whether it is exhausted, the data time it spans and has reached.

:class:`ReplayProgress` is the part of :class:`~rtnb.Replay` that answers these; it
reads the replay's offsets (``_arr_off``, ``_last_off``, ``_span_ns``, ``_t0``,
``_period``) and its reads (``_anchor``, ``_start``, ``_furthest``), set by
:class:`~rtnb.Replay`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._time import to_timestamp

__all__ = ["ReplayProgress"]


class ReplayProgress:
    """Progress of a :class:`~rtnb.Replay` (a mixin: see the module docstring)."""

    @property
    def anchor(self) -> pd.Timestamp | None:
        """The clock time the first row arrives at (``None`` until known).

        >>> import pandas as pd
        >>> from rtnb import replay
        >>> df = pd.DataFrame({"ts": [pd.Timestamp("2020-01-01")]})
        >>> src = replay(df)
        >>> src.anchor is None
        True
        >>> _ = src.read(pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-02"))
        >>> src.anchor, replay(df, start="2024-06-01").anchor
        (Timestamp('2024-03-01 00:00:00'), Timestamp('2024-06-01 00:00:00'))
        """
        return self._anchor if self._anchor is not None else self._start

    @property
    def position(self) -> int:
        """How many rows have been delivered, up to the furthest ``end`` read so far.

        Counts every cycle when looping.

        >>> import pandas as pd
        >>> from rtnb import replay
        >>> df = pd.DataFrame({"ts": pd.date_range("2020-01-01", periods=10, freq="1s")})
        >>> src = replay(df, start="2024-01-01")
        >>> _ = src.read(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:00:04"))
        >>> src.position
        4
        """
        anchor = self.anchor
        if self._furthest is None or anchor is None:
            return 0
        hi = (self._furthest - anchor).value
        if not self.loop:
            return int(np.searchsorted(self._arr_off, hi, side="left"))
        if hi <= 0:
            return 0
        k = (hi - 1) // self._period
        return int(k * self.rows + np.searchsorted(self._arr_off, hi - k * self._period, side="left"))

    @property
    def exhausted(self) -> bool:
        """True once every row has been delivered (never, when looping).

        >>> import pandas as pd
        >>> from rtnb import replay
        >>> src = replay(pd.DataFrame({"ts": [pd.Timestamp("2020-01-01")]}), start="2024-01-01")
        >>> src.exhausted, len(src.read(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:00:01"))), src.exhausted
        (False, 1, True)
        """
        return not self.loop and self.position >= self.rows

    @property
    def span(self) -> pd.Timedelta:
        """Data time from the first row emitted to the newest event time.

        >>> import pandas as pd
        >>> from rtnb import replay
        >>> replay(pd.DataFrame({"ts": pd.to_datetime(["2020-01-01", "2020-01-02"])})).span
        Timedelta('1 days 00:00:00')
        """
        return pd.Timedelta(self._span_ns, unit="ns")

    @property
    def duration(self) -> pd.Timedelta:
        """Clock time one pass lasts: from the first arrival to the last (``span / speed``).

        A run must read a little past ``anchor + duration`` to receive the last row.

        >>> import pandas as pd
        >>> from rtnb import replay
        >>> replay(pd.DataFrame({"ts": pd.to_datetime(["2020-01-01", "2020-01-02"])}), speed=3600).duration
        Timedelta('0 days 00:00:24')
        """
        return pd.Timedelta(self._last_off, unit="ns")

    def data_time(self, now: pd.Timestamp) -> pd.Timestamp | None:
        """The data's own time the replay has reached at clock time ``now``.

        ``None`` before the anchor is known. When looping, the time within the current
        cycle.

        >>> import pandas as pd
        >>> from rtnb import replay
        >>> df = pd.DataFrame({"ts": pd.date_range("2020-01-01", periods=3, freq="1h")})
        >>> replay(df, speed=3600, start="2024-01-01").data_time(pd.Timestamp("2024-01-01 00:00:01"))
        Timestamp('2020-01-01 01:00:00')
        """
        anchor = self.anchor
        if anchor is None:
            return None
        elapsed = (to_timestamp(now, "now") - anchor).value
        if self.loop:
            elapsed %= self._period
        return pd.Timestamp(self._t0 + int(round(elapsed * self.speed)), unit="ns")
