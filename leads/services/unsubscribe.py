"""The unsubscribe link of the e-mails Leadflow sends a lead (nurture steps): a signed token naming the lead, and the
one way the link's page records the choice — an ``unsubscribe`` event through ``events.event_record``, so consent
is withdrawn, the lead suppressed, its open tasks cancelled and its nurture stopped exactly as for an unsubscribe
posted to the API. The token is signed with the install's SECRET_KEY (salted for this purpose only) and does not
expire: an old e-mail's link keeps working. Following it twice records one event (a fixed idempotency key)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from ..choices import Consent, EventType
from ..models import Lead
from .events import event_record

SALT = "leadflow.unsubscribe"


def unsubscribe_token(lead_id: int) -> str:
    return signing.Signer(salt=SALT).sign(str(lead_id))


def unsubscribe_link(lead_id: int) -> str:
    return f"{settings.LEADFLOW_BASE_URL}/unsubscribe/{unsubscribe_token(lead_id)}/"


def unsubscribe_lead(token: str) -> Lead | None:
    """The lead a token names (the survivor when it was merged since), or None for a token not signed here."""
    try:
        lead_id = int(signing.Signer(salt=SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None
    lead = Lead.objects.filter(pk=lead_id).first()
    while lead is not None and lead.merged_into_id:
        lead = lead.merged_into
    return lead


def unsubscribe_confirm(lead: Lead) -> bool:
    """Record the person's unsubscribe (once); returns whether it was new (False: they had opted out already)."""
    if lead.consent == Consent.OPT_OUT:
        return False
    _, created = event_record(lead_id=lead.pk, type=EventType.UNSUBSCRIBE, source="unsubscribe link",
                              idempotency_key=f"unsubscribe-link:{lead.pk}")
    return created
