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
