"""CSV imports started in the admin (LeadImport): confirming an uploaded, previewed import.

The import itself runs as a job (``leads.jobs.lead_import_run_job``) over ``leads.csv``; confirming only claims
the upload and announces it (``lead_import_confirmed``), and the receiver schedules that job.
"""

from __future__ import annotations

from django.db import transaction

from .. import signals
from ..choices import ImportStatus
from ..models import LeadImport


def lead_import_confirm(*, import_id: int) -> bool:
    """Queue an uploaded (previewed) import once: status uploaded → queued, the job enqueued after commit.

    Returns False when the import was not waiting for confirmation (confirmed twice, or already run).
    """
    with transaction.atomic():
        claimed = LeadImport.objects.filter(pk=import_id, status=ImportStatus.UPLOADED).update(
            status=ImportStatus.QUEUED, message="")
        if claimed:
            signals.lead_import_confirmed.send(sender=LeadImport, import_id=import_id)
    return bool(claimed)
