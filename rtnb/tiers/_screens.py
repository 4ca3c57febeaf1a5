"""What every viewer's screen shows and what the server carries, in closed form.

:func:`rtnb.tiers.simulate` samples one instant per viewer and slice and hands them
here, by the pattern's family:

- :func:`_simulate_pull` (batch refresh, polling): each viewer polls on its own phase;
  the answer on screen is the last poll that landed; a poll reaching a server that is
  down fails and the screen keeps the previous answer;
- :func:`_simulate_push` (SSE, WebSocket): every connected viewer gets the message of
  each push slot; drops and server restarts disconnect viewers, who reconnect with
  back-off (a reconnect storm) and get a snapshot on reconnect.

Both return the data ages at the sampled instants and at the end of their display
period, the loads per slice, a ``screen(viewer)`` function (every update of one
viewer) and the peak requests per second. The store's answer is computed once per
pipeline run or push slot (:func:`_ordered_newest`) and shared by every viewer who
reads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._errors import ParameterError

if TYPE_CHECKING:
    from .delivery import _Plan
    from .workload import Workload


_MAX_SAMPLES = 50_000_000  # viewers x slices; bounds memory (two float64 matrices)


def _cutoff(s: np.ndarray, p: _Plan) -> np.ndarray:
    """Arrival time up to which the store holds data at time s."""
    c = s - p.pipe_delay
    if p.pipe_interval > 0:
        c = np.floor(c / p.pipe_interval) * p.pipe_interval
    return c


def _asof(wl: Workload, s: np.ndarray, p: _Plan, rng: np.random.Generator) -> np.ndarray:
    """Newest event time in the store read at times s.

    With micro-batches or a scheduled job, every reader of one run sees the same answer:
    compute it once per run (a few thousand runs, not millions of reads)."""
    if p.pipe_interval <= 0:
        return wl.newest_at(s - p.pipe_delay, rng)
    k = np.floor((s - p.pipe_delay) / p.pipe_interval)
    k0 = float(k.min())
    idx = (k - k0).astype(np.int64)
    runs = (k0 + np.arange(int(idx.max()) + 1)) * p.pipe_interval
    return _ordered_newest(wl, runs, rng)[idx]


def _read_time(s: np.ndarray, p: _Plan) -> np.ndarray:
    """When the store was actually read for a request at time s (server cache)."""
    return np.floor(s / p.cache_ttl) * p.cache_ttl if p.cache_ttl > 0 else s


def _simulate_pull(wl, p, V, T, t, edges, down, downtime, rng):
    screen_seed = int(rng.integers(2**32))  # screen(v) is the same whenever it is asked
    N, L = p.cadence, p.latency
    phase = rng.random(V) * N
    ph = phase[:, None]
    poll = ph + np.floor((t - 2 * L - ph) / N) * N  # the last poll whose answer has landed
    nxt = poll + N
    if down.size:
        # A poll reaching the server while it is down fails: the screen keeps the
        # previous successful answer until the first poll after the server is back.
        arrive = poll + L
        k = np.searchsorted(down, arrive, side="right") - 1
        m = down[np.maximum(k, 0)]
        failed = (k >= 0) & (arrive < m + downtime)
        back = np.floor((m - L - ph) / N) * N + ph  # last poll before the outage
        back = np.where(back + L >= m, back - N, back)
        after = ph + np.ceil((m + downtime - L - ph) / N) * N  # first poll after it
        poll = np.where(failed, back, poll)
        nxt = np.where(failed, np.maximum(after, poll + N), nxt)
    asof = _asof(wl, _read_time(poll + L, p), p, rng)
    ages = t - asof
    end_ages = nxt + 2 * L - asof

    # Loads per slice: polls in [e0, e1) summed over viewers, exactly.
    counts = np.clip(np.ceil((edges[None, :] - ph) / N), 0, None).sum(axis=0)
    width = np.diff(edges)
    requests = np.diff(counts) / width
    up = 1.0 - _down_fraction(edges, down, downtime) if down.size else np.ones_like(width)
    answered = requests * up
    queries = np.minimum(answered, up / p.cache_ttl) if p.cache_ttl > 0 else answered
    loads = {
        "requests_per_s": requests,
        "open_connections": requests * 2 * L,  # requests in flight (Little's law)
        "store_queries_per_s": queries,
        "bytes_per_s": requests * p.request_bytes + answered * p.response_bytes,
        "messages_per_s": answered,
    }

    def screen(v: int):
        n0 = int(np.floor(-phase[v] / N))
        polls = phase[v] + np.arange(n0, int(np.ceil((T - phase[v]) / N)) + 1) * N
        if down.size:
            k = np.searchsorted(down, polls + L, side="right") - 1
            ok = ~((k >= 0) & (polls + L < down[np.maximum(k, 0)] + downtime))
            polls = polls[ok]
        a = _ordered_newest(wl, _cutoff(_read_time(polls + L, p), p), np.random.default_rng((screen_seed, v)))
        return polls + 2 * L, a

    return ages, end_ages, loads, screen, float(requests.max())


def _down_fraction(edges, down, downtime):
    """Fraction of each slice during which the server is down."""
    lo, hi = edges[:-1], edges[1:]
    frac = np.zeros(lo.size)
    for m in down:  # restarts are few
        frac += np.clip(np.minimum(hi, m + downtime) - np.maximum(lo, m), 0, None)
    return np.clip(frac / (hi - lo), 0, 1)


def _disconnections(p, V, T, down, downtime, rng):
    """Intervals during which viewers are disconnected, and every connection attempt."""
    viewer, start, end, attempts = [], [], [], []
    if p.drop_rate > 0:
        n = rng.poisson(p.drop_rate * T, size=V)
        v = np.repeat(np.arange(V), n)
        a = rng.random(v.size) * T
        r = a + p.reconnect_delay * (1 + p.jitter * rng.random(v.size))
        viewer += [v]; start += [a]; end += [r]; attempts += [r]
    if down.size:
        K = 1 + int(np.ceil(np.log(max(downtime / p.reconnect_delay, 1.0) + 1) / np.log(p.backoff))) if p.backoff > 1 else 0
        K = max(K, int(np.ceil(downtime / min(p.reconnect_delay, p.max_backoff))) + 1)
        steps = np.minimum(p.reconnect_delay * p.backoff ** np.arange(K), p.max_backoff)
        for m in down:
            u = 1 + p.jitter * rng.random((V, K))
            tries = m + np.cumsum(steps[None, :] * u, axis=1)  # retry times per viewer
            ok = tries >= m + downtime
            first = np.argmax(ok, axis=1)
            r = tries[np.arange(V), first]
            viewer += [np.arange(V)]; start += [np.full(V, m)]; end += [r]
            attempts += [tries[np.arange(K)[None, :] <= first[:, None]]]
    if not viewer:
        e = np.empty(0)
        return np.empty(0, dtype=int), e, e, e
    return (np.concatenate(viewer), np.concatenate(start), np.concatenate(end), np.concatenate(attempts))


def _simulate_push(wl, p, V, T, t, edges, down, downtime, rng):
    screen_seed = int(rng.integers(2**32))
    c, L = p.cadence, p.latency
    dv, da, dr, attempts = _disconnections(p, V, T, down, downtime, rng)
    tau = t
    frozen = None
    if dv.size:
        # Instants inside one of their viewer's disconnections (until the snapshot sent
        # on reconnect lands) show what was on screen when it dropped. Disconnections are
        # short and few: visit the one-per-slice instants each one covers.
        frozen = _frozen_instants(t, T, dv, da, dr + L)
        tau = t.copy()
        tau.flat[frozen[0]] = frozen[1]
    # Every viewer connected at push slot k gets the same message: compute the store's
    # answer once per slot (T / push_interval of them), then index it per viewer.
    k = np.floor((tau - L) / c)
    k0 = int(k.min())
    ks = np.arange(k0, int(np.floor((T - L) / c)) + 2)
    if ks.size > _MAX_SAMPLES:
        raise ParameterError("push_interval", pd.Timedelta(seconds=c), f"gives {ks.size:,} pushes over the run")
    counts = None
    if wl.arrival is not None and p.pipe_interval <= 0:  # cutoffs on a uniform grid
        counts = wl.arrived_on_grid(k0 * c - p.pipe_delay, c, ks.size)
        slot_newest = np.where(counts > 0, wl.newest[np.maximum(counts - 1, 0)], np.nan) \
            if wl.newest.size else np.full(ks.size, np.nan)
    else:
        slot_newest = _ordered_newest(wl, _cutoff(ks * c, p), rng)
    asof = slot_newest[(k - k0).astype(np.int64)]
    ages = t - asof
    nxt = (k + 1) * c + L
    if frozen is not None:
        nxt.flat[frozen[0]] = frozen[2]
    end_ages = nxt - asof

    # Sends: push slots in [0, T) with new data since the previous slot.
    inside_run = (ks >= 0) & (ks * c < T)
    slots = ks[inside_run] * c
    if wl.arrival is None:  # consistent with the answers drawn above
        prev = np.concatenate([[-np.inf], slot_newest[:-1]])
        sent = (slot_newest > prev)[inside_run]
    elif counts is not None:  # any arrival counts, late events included
        sent = (np.diff(counts, prepend=0) > 0)[inside_run]
    else:  # any arrival counts, late events included (they change the aggregates)
        sent = wl.has_new(_cutoff(slots - c, p), _cutoff(slots, p), rng)
    send_times = slots[sent]
    width = np.diff(edges)
    sends = np.histogram(send_times, bins=edges)[0]
    connected = V - _mean_disconnected(edges, da, dr)
    reconnects = np.histogram(dr, bins=edges)[0] if dr.size else np.zeros(width.size)
    tries = np.histogram(attempts, bins=edges)[0] if attempts.size else np.zeros(width.size)
    messages = (sends * connected + reconnects) / width  # pushed + snapshots
    loads = {
        "requests_per_s": tries / width,
        "open_connections": connected,
        "store_queries_per_s": (sends + reconnects) / width,  # one read per push, fanned out
        "bytes_per_s": messages * p.message_bytes + tries / width * p.connect_bytes,
        "messages_per_s": messages,
    }

    def screen(v: int):
        mine = dv == v
        shown = send_times + L
        if mine.any():
            order = np.argsort(da[mine], kind="stable")
            a, r = da[mine][order], dr[mine][order]
            i = np.searchsorted(a, send_times, side="right") - 1
            off = (i >= 0) & (send_times < r[np.maximum(i, 0)])
            shown = np.sort(np.concatenate([shown[~off], r + L]))
        sent_at = shown - L
        asof = _ordered_newest(wl, _cutoff(np.floor(sent_at / c) * c, p), np.random.default_rng((screen_seed, v)))
        return shown, asof

    # Reconnect storms last seconds: the peak over 1-second bins, on top of the baseline.
    peak = 0.0
    if attempts.size:
        peak = float(np.bincount(np.floor(attempts[(attempts >= 0) & (attempts < T)]).astype(np.int64)).max(initial=0))
    return ages, end_ages, loads, screen, peak


def _frozen_instants(t, T, dv, da, de):
    """Flat indices of sampled instants inside a disconnection [da, de) of their viewer,
    with that disconnection's start and end (the latest-starting one if several)."""
    V, M = t.shape
    w = T / M
    m0 = np.floor(da / w).astype(np.int64)
    m1 = np.floor(np.minimum(de, T * (1 - 1e-12)) / w).astype(np.int64)
    hits = []
    for o in range(int((m1 - m0).max(initial=0)) + 1):
        m = m0 + o
        ok = np.flatnonzero((m <= m1) & (m >= 0) & (m < M))
        tt = t[dv[ok], m[ok]]
        ok = ok[(tt >= da[ok]) & (tt < de[ok])]
        hits.append((dv[ok] * M + m[ok], ok))
    flat = np.concatenate([h[0] for h in hits])
    which = np.concatenate([h[1] for h in hits])
    order = np.argsort(da[which], kind="stable")[::-1]  # latest start first
    flat, which = flat[order], which[order]
    flat, first = np.unique(flat, return_index=True)
    which = which[first]
    return flat, da[which], de[which]


def _mean_disconnected(edges, a, r):
    """Mean number of disconnected viewers over each slice (exact, from intervals)."""
    if a.size == 0:
        return np.zeros(edges.size - 1)
    sa, sr = np.sort(a), np.sort(r)
    ca, cr = np.concatenate([[0], np.cumsum(sa)]), np.concatenate([[0], np.cumsum(sr)])
    na, nr = np.searchsorted(sa, edges, side="right"), np.searchsorted(sr, edges, side="right")
    integral = (na * edges - ca[na]) - (nr * edges - cr[nr])  # disconnected viewer-seconds up to edge
    return np.diff(integral) / np.diff(edges)


def _ordered_newest(wl: Workload, cutoff: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Newest event time at increasing cutoffs, consistent along one viewer's timeline.

    For a Poisson rate: if an event arrived since the previous cutoff (probability
    1 - exp(-rate * gap)) the newest is a truncated-exponential distance back,
    otherwise it is the previous one.
    """
    if wl.arrival is not None or cutoff.size == 0:
        return wl.newest_at(cutoff, rng)
    lam = wl.rate
    gap = np.diff(cutoff, prepend=-np.inf)
    p_any = -np.expm1(-lam * gap)
    fresh = rng.random(cutoff.size) < p_any
    u = rng.random(cutoff.size)
    back = -np.log1p(-u * p_any) / lam  # exponential truncated to the gap
    newest = np.where(fresh, cutoff - back, -np.inf)
    newest = np.maximum.accumulate(newest)
    return np.where(np.isinf(newest), cutoff[0] - rng.exponential(1 / lam), newest)
