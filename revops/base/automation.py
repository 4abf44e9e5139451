"""The automation log: one row per job run that did, skipped or failed something."""

from .models import AutomationLog


def automation_log(
    *, workflow: str, action: str, outcome: str, object_type: str = "", object_id: int | None = None, detail: str = ""
) -> AutomationLog:
    """Record what an automation did to one object."""
    return AutomationLog.objects.create(
        workflow=workflow,
        action=action,
        outcome=outcome,
        object_type=object_type,
        object_id=object_id,
        detail=detail[:10000],
    )


def automation_log_for(*, object_type: str, object_id: int, limit: int = 50) -> list[AutomationLog]:
    """The newest automation log rows of one object."""
    return list(AutomationLog.objects.filter(object_type=object_type, object_id=object_id)[:limit])
