"""The demo's workflow history: five weeks of hourly run counts, so the workflow-health page has a usual rate to
compare with and a chart worth reading. Busier in working hours and on weekdays, a few failures; in the last complete
hour enrichment ran far below its usual rate (the page flags it, and the hourly alert job opens an incident)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from revops.base.choices import Workflow
from revops.base.models import WorkflowHourlyStat
from revops.base.workflow_stats import hour_start

# Workflow: runs in a busy hour.
BUSY = {Workflow.ENRICHMENT: 60, Workflow.SCORING: 140, Workflow.ROUTING: 50, Workflow.TASKS: 45,
        Workflow.NOTIFICATIONS: 55, Workflow.PENDING_SWEEP: 60}
WEEKS = 5


def health_history_demo(rng: random.Random, now: datetime) -> int:
    """Write the hourly counters of the last five weeks (up to the last complete hour); returns the rows written."""
    last = hour_start(now) - timedelta(hours=1)
    rows = []
    for back in range(WEEKS * 7 * 24):
        hour = last - timedelta(hours=back)
        busy = hour.weekday() < 5 and 8 <= hour.hour < 18
        for workflow, peak in BUSY.items():
            if workflow == Workflow.PENDING_SWEEP:
                runs = 60  # every minute, day and night
            else:
                runs = max(0, round(peak * (1.0 if busy else 0.3) * rng.uniform(0.85, 1.15)))
            if back == 0 and workflow == Workflow.ENRICHMENT:
                runs = max(1, runs // 10)
            failures = sum(1 for _ in range(runs) if rng.random() < 0.01)
            rows.append(WorkflowHourlyStat(workflow=workflow, hour=hour, runs=runs, failures=failures))
    WorkflowHourlyStat.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)
