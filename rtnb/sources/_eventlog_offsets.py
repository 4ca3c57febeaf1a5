"""The offsets of an :class:`~rtnb.sources.eventlog.EventLogSource`: what it has read,
acknowledged and still holds, and how a checkpoint carries that through a restart.

A mixin (like :class:`~rtnb.sources._replay_progress.ReplayProgress`): the reading
lives in :mod:`rtnb.sources.eventlog`; these methods read the attributes its
constructor sets: ``stream``, ``group``, ``consumer``, ``position``, ``rows_read``,
``entries_read``, ``_conn``, ``_held``, ``_unacked``, ``_redeliver_from``,
``_refetch``, ``_acked_upto``, ``_bad`` and ``_claimed``.
"""

from __future__ import annotations

from .._errors import ParameterError, SourceUnavailable
from ._eventlog_redis import _text, stream_id

__all__ = ["LogOffsets"]


class LogOffsets:
    """Acknowledging, counting and checkpointing what an event log source has read."""

    def _settle_restored(self) -> None:
        """Acknowledge the pending entries a restored checkpoint already holds."""
        upto = self._acked_upto
        if upto is None:
            return
        client = self._conn.client
        try:
            while True:
                rows = client.xpending_range(self.stream, self.group, min="-", max=upto,
                                             count=1000, consumername=self.consumer)
                if not rows:
                    break
                client.xack(self.stream, self.group, *[r["message_id"] for r in rows])
                if len(rows) < 1000:
                    break
        except self._conn.errors as exc:
            raise self._conn.unavailable("XACK", exc) from None
        self._acked_upto = None

    def acknowledge(self, upto: str | None = None) -> int:
        """Acknowledge the entries read up to offset ``upto`` (default: all read so far).

        Call it once what includes them is durable (a checkpoint). Returns how many
        entries were acknowledged. Raises :class:`rtnb.SourceUnavailable` when the
        server is down (they stay pending and are acknowledged by the next call).
        """
        limit = stream_id(self.position if upto is None else upto)
        ids = []
        while self._unacked and stream_id(self._unacked[0]) <= limit:
            ids.append(self._unacked.popleft())
        if not ids:
            return 0
        try:
            for lo in range(0, len(ids), 1000):
                self._conn.client.xack(self.stream, self.group, *ids[lo: lo + 1000])
        except self._conn.errors as exc:
            self._unacked.extendleft(reversed(ids))
            raise self._conn.unavailable("XACK", exc) from None
        return len(ids)

    @property
    def pending(self) -> int:
        """Rows waiting: those held for the next read, plus the entries of the log not
        read yet (:meth:`lag`, one round trip) times the rows per entry read so far —
        what a runner shows as "catching up". Never raises (held rows only when the
        server does not answer)."""
        held = sum(len(f) for _, f in self._held if f is not None)
        try:
            lag = self.lag() - len(self._held)
        except SourceUnavailable:
            return held
        per_entry = self.rows_read / self.entries_read if self.entries_read else 1.0
        return held + int(round(max(lag, 0) * per_entry))

    @property
    def unacknowledged(self) -> int:
        """Entries read by this source and not yet acknowledged."""
        return len(self._unacked)

    def lag(self) -> int:
        """Entries in the log not yet read by the group, plus those held here (one round
        trip; ``XINFO GROUPS``' lag, Redis >= 7)."""
        try:
            groups = self._conn.client.xinfo_groups(self.stream)
        except self._conn.errors as exc:
            raise self._conn.unavailable("XINFO GROUPS", exc) from None
        for g in groups:
            if _text(g["name"]) == self.group:
                lag = g.get("lag")
                return (int(lag) if lag is not None else 0) + len(self._held)
        return len(self._held)

    def checkpoint_state(self) -> dict:
        """The offset to resume from, as plain JSON values: the last entry returned and
        how many entries read with it are held for the next read (so a restart reads
        them again in the same batches)."""
        return {"stream": self.stream, "group": self.group, "position": self.position,
                "held": len(self._held)}

    def checkpoint_config(self) -> dict:
        """What must not change between a checkpoint and its restore."""
        return {"stream": self.stream, "group": self.group}

    def restore_state(self, state: dict) -> None:
        """Resume after ``state["position"]``: pending entries up to it are acknowledged
        (the restored state holds them), later ones are read again, then new ones."""
        if state.get("stream") != self.stream or state.get("group") != self.group:
            raise ParameterError("state", {k: state.get(k) for k in ("stream", "group")},
                                 f"is the offset of another log (this source reads stream "
                                 f"{self.stream!r} with group {self.group!r})")
        position = state.get("position")
        if position is not None:
            stream_id(position)  # validated
        self.position = position
        self._held.clear()
        self._unacked.clear()
        self._redeliver_from = position if position is not None else "0"
        self._refetch = int(state.get("held") or 0)
        self._acked_upto = position
        self._bad.clear()
        self._claimed = False
