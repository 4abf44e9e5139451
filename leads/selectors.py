"""Business logic of the lead layer that reads."""

from django.db.models import QuerySet

from .filtersets import LeadFilterSet
from .models import Lead


def lead_list(*, filters: dict | None = None) -> QuerySet[Lead]:
    """Live leads, filtered with the LeadFilterSet vocabulary (stage, band, owner, queue, score range...)."""
    queryset = Lead.objects.live().select_related("owner")
    return LeadFilterSet(filters or {}, queryset).qs


def lead_get(*, lead_id: int) -> Lead:
    return Lead.objects.select_related("owner", "account").get(pk=lead_id)


def lead_contactable(lead: Lead) -> bool:
    """Whether outreach (a call, an e-mail, a re-engagement) may go to this lead: not opted out, not suppressed."""
    from .choices import Consent, Stage

    return lead.consent != Consent.OPT_OUT and lead.stage != Stage.SUPPRESSED and lead.merged_into_id is None
