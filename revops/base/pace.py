"""Calls paced per key: at most one per interval, and one more after the last one held back (a trailing call).

A busy web process commits hundreds of pipeline steps a second, and each commit told Redis that a drain of its step
is wanted (``revops.base.pending.drain_signal``: one round trip, waited for while the request's worker serves
nobody else). One signal covers every step committed before it, so a process needs only one per step kind and
interval. :class:`Paced` sends the first call of a quiet key at once (an idle system adds no latency) and holds back
the calls that come within ``every`` seconds of the last one sent; one timer thread sends a single call for all of
them when the interval is up. Every call is thus followed by a call sent at or after it, never more than ``every``
seconds later: nothing waits for the sweeper.

The timer is not a daemon thread: a process that exits (a command that committed its last lead a moment ago) sends
its held-back call first, within the interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class Paced:
    """``send(key)`` at most once per ``every()`` seconds per key, with a trailing call for those held back.

    ``every`` is read at each call (a setting: 0 or less sends every call at once). ``send`` runs on the caller's
    thread for a call sent at once and on the timer's thread for a trailing call; it should not raise (a trailing
    call has nobody to raise to)."""

    def __init__(self, send: Callable[[Hashable], None], every: Callable[[], float]) -> None:
        self._send = send
        self._every = every
        self._lock = threading.Lock()
        self._sent_at: dict[Hashable, float] = {}
        self._timers: dict[Hashable, threading.Timer] = {}

    def __call__(self, key: Hashable) -> bool:
        """Send now (True) or leave it to the trailing call, started if none is (False)."""
        every = self._every()
        if every <= 0:
            self._send(key)
            return True
        now = time.monotonic()
        with self._lock:
            sent_at = self._sent_at.get(key)
            held = sent_at is not None and now - sent_at < every
            if not held:
                self._sent_at[key] = now
            elif key not in self._timers:
                timer = threading.Timer(sent_at + every - now, self._trailing, args=(key,))
                timer.name = f"paced {key}"
                self._timers[key] = timer
                timer.start()
        if not held:
            self._send(key)
        return not held

    def _trailing(self, key: Hashable) -> None:
        with self._lock:
            self._timers.pop(key, None)
            self._sent_at[key] = time.monotonic()
        self._send(key)  # after the lock: a call arriving now is held for the next interval, or starts its timer

    def flush(self) -> None:
        """Send the held-back calls now (their timers cancelled)."""
        with self._lock:
            timers, self._timers = self._timers, {}
            for key, timer in timers.items():
                timer.cancel()
                self._sent_at[key] = time.monotonic()
        for key in timers:
            self._send(key)

    def cancel(self) -> None:
        """Drop the held-back calls unsent and forget when each key was last sent: the next call of each key goes at
        once (tests start each from here)."""
        with self._lock:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
            self._sent_at.clear()
