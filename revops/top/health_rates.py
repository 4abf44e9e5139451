"""Workflow health figures: each workflow's runs and failures in an hour against its usual rate, the hourly series
of the chart, queue depths and kill-switch states. Reads only (the alerts are in health_alerts.py).

The usual rate of a workflow at an hour is the median of its runs in the same hour of the same weekday over the last
``LEADFLOW_HEALTH_WEEKS`` weeks. A week counts only when the counter recorded something (any workflow) in that hour:
before Leadflow was installed, or while every worker was down, nothing is known, which is not the same as zero runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

import django_rq
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from revops.base.choices import Workflow
from revops.base.models import WorkflowHourlyStat, WorkflowIncident, WorkflowSwitch
from revops.base.pending import REDIS_ERRORS
from revops.base.workflow_stats import hour_start

STATUS_OK, STATUS_LOW, STATUS_HIGH, STATUS_FAILURES, STATUS_NO_BASELINE = "ok", "low", "high", "failures", "learning"
STATUS_LABELS = {STATUS_OK: "usual", STATUS_LOW: "far below usual", STATUS_HIGH: "far above usual",
                 STATUS_FAILURES: "failure rate jumped", STATUS_NO_BASELINE: "too little history"}


@dataclass
class WorkflowRate:
    """One workflow in one hour, against its usual rate."""

    workflow: str
    label: str
    hour: datetime
    runs: int
    failures: int
    usual_runs: float | None  # None: fewer than LEADFLOW_HEALTH_MIN_WEEKS weeks with data
    usual_failure_rate: float  # 0..1, the median of the sampled weeks' failure rates (0 without history)
    weeks: int
    enabled: bool

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.runs if self.runs else None

    @property
    def off_rate(self) -> dict[str, str]:
        """The incident kinds this hour shows, each with the sentence an alert says (empty: all is usual).

        Below: the workflow is on, its usual rate is at least ``LEADFLOW_HEALTH_MIN_RUNS`` and it ran fewer than
        ``LEADFLOW_HEALTH_LOW_FACTOR`` times that. Above: at least ``LEADFLOW_HEALTH_MIN_RUNS`` runs and more than
        ``LEADFLOW_HEALTH_HIGH_FACTOR`` times the usual rate. Failures: at least ``LEADFLOW_HEALTH_MIN_FAILURES``
        failures and a failure rate ``LEADFLOW_HEALTH_FAILURE_JUMP`` (a share, 0.2 = 20 points) above the usual one.
        """
        found: dict[str, str] = {}
        usual = self.usual_runs
        if usual is not None and self.enabled and usual >= settings.LEADFLOW_HEALTH_MIN_RUNS \
                and self.runs < usual * settings.LEADFLOW_HEALTH_LOW_FACTOR:
            found[STATUS_LOW] = f"{self.runs} runs, usual {usual:g} ({self._weeks_text()})"
        if usual is not None and self.runs >= settings.LEADFLOW_HEALTH_MIN_RUNS \
                and self.runs > max(usual, 1) * settings.LEADFLOW_HEALTH_HIGH_FACTOR:
            found[STATUS_HIGH] = f"{self.runs} runs, usual {usual:g} ({self._weeks_text()})"
        rate = self.failure_rate
        if rate is not None and self.failures >= settings.LEADFLOW_HEALTH_MIN_FAILURES \
                and rate >= self.usual_failure_rate + settings.LEADFLOW_HEALTH_FAILURE_JUMP:
            found[STATUS_FAILURES] = (f"{self.failures} of {self.runs} runs failed ({100 * rate:.0f} %), usually "
                                      f"{100 * self.usual_failure_rate:.0f} %")
        return found

    @property
    def status(self) -> str:
        off = self.off_rate
        for status in (STATUS_FAILURES, STATUS_LOW, STATUS_HIGH):
            if status in off:
                return status
        return STATUS_OK if self.usual_runs is not None else STATUS_NO_BASELINE

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def _weeks_text(self) -> str:
        return f"median of the same hour on the last {self.weeks} {self.hour:%A}s"

    def as_row(self) -> dict:
        rate = self.failure_rate
        return {"workflow": self.workflow, "label": self.label, "hour": self.hour.isoformat(), "runs": self.runs,
                "failures": self.failures, "failure_pct": None if rate is None else round(100 * rate, 1),
                "usual_runs": self.usual_runs, "usual_failure_pct": round(100 * self.usual_failure_rate, 1),
                "weeks": self.weeks, "switch": "on" if self.enabled else "OFF", "status": self.status_label}


def usual_rates(*, hour: datetime, weeks: int | None = None) -> dict[str, tuple[float | None, float, int]]:
    """Per workflow: (usual runs, usual failure rate, weeks sampled) at ``hour`` — the median over the same hour of
    the same weekday in the last ``weeks`` weeks that have data. One query."""
    weeks = weeks or settings.LEADFLOW_HEALTH_WEEKS
    hour = hour_start(hour)
    sample_hours = [hour - timedelta(days=7 * k) for k in range(1, weeks + 1)]
    rows = WorkflowHourlyStat.objects.filter(hour__in=sample_hours).values_list("workflow", "hour", "runs",
                                                                                  "failures")
    by_hour: dict[datetime, dict[str, tuple[int, int]]] = {}
    for workflow, at, runs, failures in rows:
        by_hour.setdefault(hour_start(at), {})[workflow] = (runs, failures)
    observed = [h for h in sample_hours if h in by_hour]
    result: dict[str, tuple[float | None, float, int]] = {}
    for workflow in Workflow.values:
        samples = [by_hour[h].get(workflow, (0, 0)) for h in observed]
        rates = [failures / runs for runs, failures in samples if runs]
        usual = float(median(runs for runs, _ in samples)) if len(samples) >= settings.LEADFLOW_HEALTH_MIN_WEEKS \
            else None
        result[workflow] = (usual, float(median(rates)) if rates else 0.0, len(samples))
    return result


def switch_states() -> dict[str, bool]:
    """Every workflow's kill switch (on when it has no row)."""
    states = dict(WorkflowSwitch.objects.values_list("workflow", "enabled"))
    return {workflow: states.get(workflow, True) for workflow in Workflow.values}


def workflow_rates(*, hour: datetime) -> list[WorkflowRate]:
    """Every workflow in ``hour`` against its usual rate, with its kill switch. Three queries."""
    hour = hour_start(hour)
    counts = {workflow: (runs, failures) for workflow, runs, failures in
              WorkflowHourlyStat.objects.filter(hour=hour).values_list("workflow", "runs", "failures")}
    usual, switches = usual_rates(hour=hour), switch_states()
    return [WorkflowRate(workflow=workflow, label=label, hour=hour, runs=counts.get(workflow, (0, 0))[0],
                         failures=counts.get(workflow, (0, 0))[1], usual_runs=usual[workflow][0],
                         usual_failure_rate=usual[workflow][1], weeks=usual[workflow][2],
                         enabled=switches[workflow])
            for workflow, label in Workflow.choices]


def hourly_series(*, until: datetime, hours: int = 48) -> dict:
    """The chart's data: for the ``hours`` hours up to ``until`` (included), runs and failures per workflow that ran,
    and all failures per hour. One grouped query."""
    end = hour_start(until)
    start = end - timedelta(hours=hours - 1)
    labels = [start + timedelta(hours=i) for i in range(hours)]
    index = {h: i for i, h in enumerate(labels)}
    runs: dict[str, list[int]] = {}
    failures = [0] * hours
    rows = (WorkflowHourlyStat.objects.filter(hour__gte=start, hour__lte=end).values("workflow", "hour")
            .annotate(r=Sum("runs"), f=Sum("failures")).order_by())
    for row in rows:
        i = index.get(hour_start(row["hour"]))
        if i is None:
            continue
        runs.setdefault(row["workflow"], [0] * hours)[i] += row["r"]
        failures[i] += row["f"]
    names = dict(Workflow.choices)
    return {"labels": [f"{timezone.localtime(h):%a %H:00}" for h in labels],
            "runs": [{"label": names.get(w, w), "data": data} for w, data in sorted(runs.items())],
            "failures": failures}


def hourly_rows(*, until: datetime, hours: int = 48) -> list[dict]:
    """The counter rows of the last ``hours`` hours (the CSV download)."""
    end = hour_start(until)
    rows = WorkflowHourlyStat.objects.filter(hour__gte=end - timedelta(hours=hours - 1), hour__lte=end)
    return [{"hour": row.hour.isoformat(), "workflow": row.workflow, "runs": row.runs, "failures": row.failures}
            for row in rows.order_by("hour", "workflow")]


def queue_depths() -> dict[str, int | None]:
    """Jobs waiting per RQ queue (None: Redis unreachable)."""
    try:
        return {name: django_rq.get_queue(name).count for name in settings.RQ_QUEUES}
    except REDIS_ERRORS:
        return dict.fromkeys(settings.RQ_QUEUES)


def incidents(*, limit: int = 20) -> list[WorkflowIncident]:
    """Open incidents first, then the latest resolved ones."""
    return (list(WorkflowIncident.objects.filter(resolved_at=None).order_by("-opened_at"))
            + list(WorkflowIncident.objects.exclude(resolved_at=None).order_by("-resolved_at")[:limit]))
