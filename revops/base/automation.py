"""The automation log: one row per job run that did, skipped or failed something."""

from django.contrib.auth import get_user_model
from django.db import connection

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


def automation_log_many(
    *, workflow: str, action: str, outcome: str, object_type: str, object_ids: list[int], detail: str = ""
) -> int:
    """The same automation log row for each of many objects (a bulk path doing what the one-by-one job logs per
    object), in one statement per 500 rows; returns how many were written."""
    rows = [AutomationLog(workflow=workflow, action=action, outcome=outcome, object_type=object_type,
                          object_id=object_id, detail=detail[:10000]) for object_id in object_ids]
    AutomationLog.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def automation_log_for(*, object_type: str, object_id: int, limit: int = 50) -> list[AutomationLog]:
    """The newest automation log rows of one object."""
    return list(AutomationLog.objects.filter(object_type=object_type, object_id=object_id)[:limit])


# The user every automated change is recorded under (history rows written by jobs, bulk writes and the services
# they run), so the audit trail names "Leadflow automation" instead of nobody.
AUTOMATION_USERNAME = "leadflow-automation"
_automation_user_ids: dict[str, int] = {}


def automation_user_ensure() -> int:
    """Create the automation user if it is missing (idempotent: after every migrate or flush); return its id.

    The user cannot log in (inactive, unusable password) and has no permission: it only names automated changes.
    """
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=AUTOMATION_USERNAME,
        defaults={"first_name": "Leadflow", "last_name": "automation", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    _automation_user_ids[connection.alias] = user.pk
    return user.pk


def automation_user_id() -> int:
    """The automation user's id, read once per process and database (created if missing)."""
    user_id = _automation_user_ids.get(connection.alias)
    return user_id if user_id is not None else automation_user_ensure()


def history_user_id_or_automation(user_id: int | None) -> int:
    """The ``history_user_id`` of a history row: the person who made the change, else the automation user."""
    return user_id if user_id is not None else automation_user_id()
