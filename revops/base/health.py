"""The /health/ endpoint: database, Redis, workers and scheduler; 200 only when all are up."""

import django_rq
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from rq import Worker
from rq.cron import CronScheduler

from .pending import pending_count


def health_status() -> dict[str, dict]:
    """Check every component and say what is wrong with each that is not up."""
    checks: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True, "vendor": connection.vendor}
        # Informational: pipeline jobs not finished yet (rows that stay mean Redis or the workers are down).
        checks["pending_jobs"] = {"ok": True, "count": pending_count()}
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        checks["database"] = {"ok": False, "error": str(exc)}
    try:

        redis = django_rq.get_connection("default")
        redis.ping()
        checks["redis"] = {"ok": True}
        workers = Worker.all(connection=redis)
        checks["workers"] = {"ok": bool(workers), "count": len(workers)}
        scheduler_lock = bool(redis.exists("rq:scheduler-lock:default"))
        cron = CronScheduler.all(redis)
        checks["scheduler"] = {"ok": scheduler_lock and bool(cron), "rq_scheduler": scheduler_lock,
                               "cron_processes": len(cron)}
        queues = {name: django_rq.get_queue(name, connection=redis) for name in settings.RQ_QUEUES}
        checks["queue"] = {"ok": True, "queued": sum(q.count for q in queues.values()),
                           "failed": sum(q.failed_job_registry.count for q in queues.values()),
                           "by_queue": {name: q.count for name, q in queues.items()}}
    except Exception as exc:  # noqa: BLE001
        checks.setdefault("redis", {"ok": False, "error": str(exc)})
        checks.setdefault("workers", {"ok": False, "error": "Redis unreachable"})
        checks.setdefault("scheduler", {"ok": False, "error": "Redis unreachable"})
    return checks


def health_view(request):
    checks = health_status()
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503)
