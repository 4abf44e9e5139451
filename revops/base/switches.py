"""Kill switches: one per workflow, read by every job when it starts."""

from django.db import transaction

from .choices import Workflow
from .jobscope import job_memo, job_memo_forget, job_scoped
from .models import WorkflowSwitch
from .signals import workflow_resumed

# The job_memo key of every switch, read together once per drain job.
SWITCHES = "workflow_switches"


def workflow_enabled(workflow: str) -> bool:
    """True unless an admin switched the workflow off. A workflow with no switch row is on.

    Read from the database, once per drain job for every workflow at once (``revops.base.jobscope``: a drain that
    takes a lead from enrichment to its message asks for five switches), so a flip takes effect from the next job
    in every worker process, without a cache to invalidate. Outside a drain job: one indexed query for the one.
    """
    if not job_scoped():
        return _enabled(workflow)
    return job_memo(SWITCHES, _all_enabled).get(workflow, True)


def _enabled(workflow: str) -> bool:
    enabled = WorkflowSwitch.objects.filter(workflow=workflow).values_list("enabled", flat=True).first()
    return True if enabled is None else enabled


def _all_enabled() -> dict[str, bool]:
    return dict(WorkflowSwitch.objects.values_list("workflow", "enabled"))


def workflow_switch_set(*, workflow: str, enabled: bool, note: str = "", user=None) -> WorkflowSwitch:
    """Switch a workflow on or off, with history; switching on sends ``workflow_resumed`` after commit."""
    if workflow not in Workflow.values:
        raise ValueError(f"unknown workflow {workflow!r}; known: {', '.join(Workflow.values)}")
    with transaction.atomic():
        switch, _ = WorkflowSwitch.objects.select_for_update().get_or_create(workflow=workflow)
        was_enabled = switch.enabled
        switch.enabled = enabled
        switch.note = note or switch.note
        switch._history_user = user
        switch._change_reason = f"switched {'on' if enabled else 'off'}" + (f": {note}" if note else "")
        switch.full_clean()
        switch.save()
        job_memo_forget(SWITCHES)
        if enabled and not was_enabled:
            transaction.on_commit(lambda: workflow_resumed.send(sender=WorkflowSwitch, workflow=workflow))
    return switch


def workflow_switches_ensure() -> None:
    """Create a switch row (on) for every workflow that has none, so the admin lists them all."""
    existing = set(WorkflowSwitch.objects.values_list("workflow", flat=True))
    for workflow in Workflow.values:
        if workflow not in existing:
            WorkflowSwitch.objects.create(workflow=workflow, enabled=True)
