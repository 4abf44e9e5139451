"""The web signals each step kind's drain at most once per interval per process, and once more after the last signal
held back (``revops.base.pace.Paced``, ``LEADFLOW_DRAIN_SIGNAL_EVERY_MS``): no committed step waits for the sweeper.
"""

import subprocess
import sys
import threading
import time
from pathlib import Path

import django_rq
import pytest
from django.test import override_settings

from leads.jobs import lead_enrich_job
from leads.models import Lead
from revops.base.models import PendingJob
from revops.base.pace import Paced
from revops.base.pending import function_path, pending_drain_job
from revops.base.redis_handoff import drain_signal_paced, jobs_left_pending
from tests.queues import work

from .test_drains import form

ENRICH = function_path(lead_enrich_job)
DRAIN = function_path(pending_drain_job)


def recorder(every: float):
    sent: list[tuple[str, float]] = []
    arrived = threading.Event()

    def send(key) -> None:
        sent.append((key, time.monotonic()))
        arrived.set()

    return Paced(send, lambda: every), sent, arrived


def test_a_quiet_key_is_sent_at_once_and_the_calls_after_it_once_when_the_interval_is_up():
    paced, sent, arrived = recorder(0.2)
    start = time.monotonic()
    assert paced("a") is True
    assert [key for key, _ in sent] == ["a"]
    held_at = []
    arrived.clear()
    for _ in range(5):  # five commits within the interval: one trailing call covers them all
        held_at.append(time.monotonic())
        assert paced("a") is False
    assert len(sent) == 1
    assert arrived.wait(2)
    time.sleep(0.3)  # and no second trailing call comes
    assert [key for key, _ in sent] == ["a", "a"]
    trailing_at = sent[1][1]
    assert trailing_at >= max(held_at)  # every held call is followed by a call sent after it
    assert trailing_at - start == pytest.approx(0.2, abs=0.15)  # when the interval is up


def test_keys_are_paced_apart_and_no_interval_sends_every_call():
    paced, sent, _ = recorder(5)
    assert paced("a") and paced("b")
    assert not paced("a")
    assert [key for key, _ in sent] == ["a", "b"]
    paced.cancel()
    unpaced, sent_unpaced, _ = recorder(0)
    assert all(unpaced("a") for _ in range(3))
    assert len(sent_unpaced) == 3


def test_flush_sends_what_is_held_and_cancel_drops_it():
    paced, sent, _ = recorder(5)
    paced("a")
    paced("a")
    paced.flush()
    assert [key for key, _ in sent] == ["a", "a"]
    paced("a")
    paced.cancel()
    time.sleep(0.05)
    assert len(sent) == 2
    assert paced("a") is True  # forgotten: at once


def _sent_by_a_process(tmp_path: Path, every: float, *lines: str) -> list[str]:
    """Run ``lines`` in a new Python process with ``paced``, a Paced that writes each key it sends and the sending
    process's id to a file; the lines written."""
    out = tmp_path / "sent.txt"
    root = str(Path(__file__).resolve().parents[2])
    code = "\n".join([
        f"import os, sys, time; sys.path.insert(0, {root!r})",
        "from revops.base.pace import Paced",
        f"out = open({str(out)!r}, 'a')",
        f"paced = Paced(lambda key: (out.write(f'{{key}} {{os.getpid()}}\\n'), out.flush()), lambda: {every})",
        *lines,
    ])
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    return out.read_text().splitlines()


def test_a_process_that_exits_sends_its_held_call_first(tmp_path: Path):
    lines = _sent_by_a_process(tmp_path, 0.3, "paced('lead'); paced('lead'); paced('lead')")
    assert [line.split()[0] for line in lines] == ["lead", "lead"]


@pytest.mark.django_db(transaction=True)
@override_settings(LEADFLOW_DRAIN_SIGNAL_EVERY_MS=300)
def test_forms_posted_together_queue_one_drain_then_a_trailing_one_and_every_lead_goes_through(
        api_client, configured, slack):
    queue = django_rq.get_queue("default")
    ids = []
    for n in range(4):
        response = api_client.post("/api/leads/", form(n, "paced"), format="json")
        assert response.status_code == 201
        ids.append(response.json()["id"])
    assert len([job for job in queue.get_jobs() if job.func_name == DRAIN]) == 1  # the three after it held back
    assert PendingJob.objects.filter(function=ENRICH).count() == 4

    work()  # the first drain takes all four (committed before it claimed)
    assert all(Lead.objects.get(pk=pk).score is not None for pk in ids)

    late = api_client.post("/api/leads/", form(5, "paced"), format="json").json()["id"]  # held: <300 ms since
    deadline = time.monotonic() + 3
    while not [job for job in queue.get_jobs() if job.func_name == DRAIN] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [job for job in queue.get_jobs() if job.func_name == DRAIN], "the trailing signal queued no drain"
    work()
    assert Lead.objects.get(pk=late).score is not None
    assert not PendingJob.objects.exists()


@pytest.mark.django_db(transaction=True)
@override_settings(LEADFLOW_DRAIN_SIGNAL_EVERY_MS=200)
def test_a_trailing_signal_with_redis_down_leaves_the_step_to_the_sweeper(api_client, configured, settings):
    assert api_client.post("/api/leads/", form(0, "down"), format="json").status_code == 201
    settings.RQ_QUEUES = {name: {**conf, "URL": "redis://127.0.0.1:1/0"} for name, conf in settings.RQ_QUEUES.items()}
    assert api_client.post("/api/leads/", form(1, "down"), format="json").status_code == 201  # held back
    refused = jobs_left_pending()
    drain_signal_paced.flush()  # the trailing signal, now: Redis refuses it, counted (and warned once a minute)
    assert jobs_left_pending() == refused + 1
    assert PendingJob.objects.filter(function=ENRICH).count() == 2  # both wait: the first drain, the sweeper


@pytest.mark.django_db(transaction=True)
@override_settings(LEADFLOW_DRAIN_SIGNAL_EVERY_MS=60_000)
def test_a_worker_job_signals_its_drain_at_once_however_recently_one_was_sent(monkeypatch):
    from revops.base import jobs

    sent = []
    monkeypatch.setattr(jobs, "drain_signal", lambda function, queue: sent.append((function, queue)))
    drain_signal_paced((ENRICH, "default"))  # a signal a moment ago: the web's next one would be held for a minute
    monkeypatch.setattr(jobs, "get_current_job", lambda: object())  # inside an RQ job on a worker
    jobs._enqueue_pending(lead_enrich_job, (1,), "default", 1)
    assert sent == [(ENRICH, "default")]


def test_one_timer_thread_sends_the_trailing_calls_of_every_interval_and_key():
    """A busy process holds a call of each key in nearly every interval: one thread sends them all (starting a
    thread per held interval cost more CPU than the signal), and ends once nothing is held."""
    sent: list[tuple[str, int]] = []
    paced = Paced(lambda key: sent.append((key, threading.get_native_id())), lambda: 0.05)
    caller = threading.get_native_id()
    deadline = time.monotonic() + 0.6
    while time.monotonic() < deadline:
        paced("lead")
        paced("event")
        time.sleep(0.01)
    time.sleep(0.15)
    trailing = [(key, thread) for key, thread in sent if thread != caller]
    keys = [key for key, _ in trailing]
    assert keys.count("lead") >= 6 and keys.count("event") >= 6  # about one every 50 ms each
    # The system's thread ids are not reused at once: a thread per interval would show a dozen or more.
    assert len({thread for _, thread in trailing}) <= 2  # one (a second if this process was held off a core)
    for _ in range(200):  # nothing held for an interval: the timer ends
        if paced._thread is None:
            break
        time.sleep(0.01)
    assert paced._thread is None


def test_a_trailing_call_that_raises_is_logged_and_the_next_ones_still_go(caplog):
    sent: list[str] = []

    def send(key) -> None:
        sent.append(key)
        if key == "bad" and sent.count("bad") == 2:  # its trailing call, on the timer's thread
            raise RuntimeError("Redis said no")

    paced = Paced(send, lambda: 0.05)
    paced("bad"), paced("good"), paced("bad"), paced("good")
    time.sleep(0.2)
    assert sent.count("bad") == 2 and sent.count("good") == 2
    assert "paced call 'bad' failed" in caplog.text


def test_a_forked_child_sends_its_own_held_calls(tmp_path: Path):
    """After a fork (gunicorn's and RQ's processes) the child has no timer thread: it starts its own."""
    lines = _sent_by_a_process(
        tmp_path, 0.2,
        "paced('parent'); paced('parent')",  # the parent's timer thread is running when it forks
        "pid = os.fork()",
        "if pid == 0:",
        "    paced('child'); paced('child'); time.sleep(0.5); os._exit(0)",
        "os.waitpid(pid, 0)",
    )
    assert sorted(line.split()[0] for line in lines) == ["child", "child", "parent", "parent"]
    assert len({line.split()[1] for line in lines}) == 2  # each process sent its own
