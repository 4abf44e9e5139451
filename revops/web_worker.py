"""gunicorn's sync worker, one of them woken for each new connection instead of all.

gunicorn's sync workers share the listening socket and wait for a connection with ``select`` on it: a connection
wakes every idle worker, one accepts it, and the others find nothing and go back to waiting (a "thundering herd").
With three web processes that was about four wake-ups of a web process a request instead of two (gunicorn serving
a one-line application, 200 requests a second), and 0.4–0.5 ms of the web's CPU a website form at 60 forms a second
with three web processes, about 0.2 ms with two (``bench/web_pair.py``; docs/benchmarks.md, thirty-first stop).

This worker waits with ``epoll`` instead, the listening sockets registered with ``EPOLLEXCLUSIVE`` (Linux 4.5 and
later): the kernel wakes one of the waiting workers for a connection (or a few, when several arrive at once), and
the workers still busy take the next connections straight from the queue as gunicorn's do (``accept`` before
waiting again). The wake-up pipe of gunicorn's signal handling (a Ctrl-C, a graceful stop) stays in the same
``epoll`` set without ``EPOLLEXCLUSIVE``, so a signal wakes each worker as before. Where ``EPOLLEXCLUSIVE`` is not
available, gunicorn's own ``select`` wait runs.

``serve`` runs it (``--worker-class revops.web_worker.OneWokenSyncWorker``); tests/revops/test_web_worker.py counts
the wake-ups.
"""

from __future__ import annotations

import os
import select

from gunicorn.workers.sync import SyncWorker

EXCLUSIVE = getattr(select, "EPOLLEXCLUSIVE", None)


class OneWokenSyncWorker(SyncWorker):
    """gunicorn's ``SyncWorker`` (requests one at a time, each connection closed after its answer) whose wait for
    the next connection wakes it alone (module docstring)."""

    _epoll = None
    _ready: dict[int, object]

    def run(self) -> None:
        if EXCLUSIVE is not None and hasattr(select, "epoll"):
            self._epoll = select.epoll()
            self._ready = {}
            for listener in self.sockets:
                self._epoll.register(listener.fileno(), select.EPOLLIN | EXCLUSIVE)
                self._ready[listener.fileno()] = listener
            self._epoll.register(self.PIPE[0], select.EPOLLIN)
            self._ready[self.PIPE[0]] = self.PIPE[0]
        super().run()

    def wait(self, timeout):
        """What gunicorn's ``wait`` returns: the listening sockets with a connection waiting and the signal pipe if
        a signal arrived (its byte read); None when the timeout passed first."""
        if self._epoll is None:
            return super().wait(timeout)
        self.notify()
        ready = []
        for fd, _events in self._epoll.poll(timeout):
            if fd == self.PIPE[0]:
                try:
                    os.read(fd, 1)
                except BlockingIOError:  # another wake-up read it first
                    pass
            ready.append(self._ready[fd])
        return ready or None
