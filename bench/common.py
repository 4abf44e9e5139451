"""What the benchmarks share: a Django set-up on a temporary SQLite file, percentiles, and the website-form
benchmarks' environment and demo configuration (``bench_latency.py``, ``form_cpu.py``)."""

from __future__ import annotations

import multiprocessing
import os
import time


def setup_django(db_path: str) -> None:
    """Configure Django on the SQLite file ``db_path`` and migrate it.

    Measured as production runs: DEBUG off, so Django does not keep every statement in memory.
    """
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "revops.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def forms_environment(*, database_url: str, redis_port: int, slack_url: str, allowed_hosts: str) -> dict[str, str]:
    """The settings the website-form benchmarks run the application with: production-like (DEBUG off, no HTTPS
    redirect), no API throttles, the defaults not created on migrate (the demo's configuration is), Slack's stand-in
    and the benchmark's own Valkey."""
    return {"DATABASE_URL": database_url, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "LEADFLOW_DEFAULTS_ON_MIGRATE": "false", "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_API_URL": slack_url,
            "LOG_LEVEL": "WARNING", "DEBUG": "false", "ALLOWED_HOSTS": allowed_hosts,
            "SECRET_KEY": "bench-" + "x" * 60, "LEADFLOW_API_RATE_CLIENT": "", "LEADFLOW_API_RATE_ANONYMOUS": "",
            "SECURE_SSL_REDIRECT": "false", "SECURE_HSTS_SECONDS": "0"}


def forms_configuration() -> str:
    """The demo's configuration (territories, teams, reps, rules, scoring model) on a migrated database, every rep
    without a cap, and the admin's API token (returned). The rates run one after another on one database (tens of
    thousands of leads): no rep may fill up, or the later forms would measure the review queue ("nobody available"),
    not the way to Slack."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from revops.top.demo import demo_configuration, demo_users
    from routing.models import Rep

    demo_configuration(demo_users())
    Rep.objects.update(capacity=10_000_000, daily_cap=None, weekly_cap=None)
    return Token.objects.get_or_create(user=User.objects.get(username="admin"))[0].key


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def with_checkpointer(db_path: str, work):
    """Run ``work()`` with serve's SQLite checkpointer running in its own process, as ``manage.py serve`` runs it."""
    from revops.base.db.sqlite import checkpoint_forever

    checkpointer = multiprocessing.get_context("spawn").Process(target=checkpoint_forever, args=(db_path,),
                                                                daemon=True)
    checkpointer.start()
    time.sleep(2)  # let the new interpreter start before timing (serve's runs for as long as the server)
    try:
        return work()
    finally:
        checkpointer.terminate()
        checkpointer.join()
