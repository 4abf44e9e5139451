"""Calls paced per key: at most one per interval, and one more after the last one held back (a trailing call).

A busy web process commits hundreds of pipeline steps a second, and each commit told Redis that a drain of its step
is wanted (``revops.base.pending.drain_signal``: one round trip, waited for while the request's worker serves
nobody else). One signal covers every step committed before it, so a process needs only one per step kind and
interval. :class:`Paced` sends the first call of a quiet key at once (an idle system adds no latency) and holds back
the calls that come within ``every`` seconds of the last one sent; a timer thread sends a single call for all of
them when the interval is up. Every call is thus followed by a call sent at or after it, never more than ``every``
seconds later: nothing waits for the sweeper.

One timer thread per :class:`Paced`, for every key, kept while calls are held (and one interval more), not a thread
per held interval: a busy web process held a call of each step kind in nearly every interval, and starting a thread
costs about 0.14 ms of CPU here — some 120 threads a second across three web processes at 100 forms a second.

The timer is not a daemon thread: a process that exits (a command that committed its last lead a moment ago) sends
its held-back call first, within the interval.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Hashable

logger = logging.getLogger(__name__)


class Paced:
    """``send(key)`` at most once per ``every()`` seconds per key, with a trailing call for those held back.

    ``every`` is read at each call (a setting: 0 or less sends every call at once). ``send`` runs on the caller's
    thread for a call sent at once and on the timer's thread for a trailing call; it should not raise (a trailing
    call has nobody to raise to: an exception is logged and the timer goes on)."""

    def __init__(self, send: Callable[[Hashable], None], every: Callable[[], float]) -> None:
        self._send = send
        self._every = every
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a child process has no timer thread: its own state

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._sent_at: dict[Hashable, float] = {}
        self._due: dict[Hashable, float] = {}  # the held keys: when each one's trailing call is due
        self._thread: threading.Thread | None = None

    def __call__(self, key: Hashable) -> bool:
        """Send now (True) or leave it to the trailing call, due when its interval is up (False)."""
        every = self._every()
        if every <= 0:
            self._send(key)
            return True
        now = time.monotonic()
        with self._cond:
            sent_at = self._sent_at.get(key)
            held = sent_at is not None and now - sent_at < every
            if not held:
                self._sent_at[key] = now
            elif key not in self._due:
                self._due[key] = sent_at + every
                if self._thread is None:
                    self._thread = threading.Thread(target=self._timer, name="paced", daemon=False)
                    self._thread.start()
                else:
                    self._cond.notify()
        if not held:
            self._send(key)
        return not held

    def _timer(self) -> None:
        """Send each held key's trailing call when it is due; end after an interval with nothing held."""
        with self._cond:
            while True:
                if not self._due:
                    if not self._cond.wait_for(lambda: self._due, timeout=max(self._every(), 0.01)):
                        self._thread = None
                        return
                key, due = min(self._due.items(), key=lambda item: item[1])
                now = time.monotonic()
                if due > now:
                    self._cond.wait(due - now)  # or sooner: a key held meanwhile, a flush, a cancel
                    continue
                del self._due[key]
                self._sent_at[key] = now
                self._cond.release()  # a call arriving while this one is sent is held for the next interval
                try:
                    self._send(key)
                except Exception:
                    logger.exception("paced call %r failed", key)
                finally:
                    self._cond.acquire()

    def flush(self) -> None:
        """Send the held-back calls now."""
        with self._cond:
            keys = list(self._due)
            self._due.clear()
            now = time.monotonic()
            for key in keys:
                self._sent_at[key] = now
            self._cond.notify()
        for key in keys:
            self._send(key)

    def cancel(self) -> None:
        """Drop the held-back calls unsent and forget when each key was last sent: the next call of each key goes at
        once (tests start each from here)."""
        with self._cond:
            self._due.clear()
            self._sent_at.clear()
            self._cond.notify()
