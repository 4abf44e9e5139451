"""Consent in the scoring triggers (``leads/consent.py``): a lead outreach may not go to earns no cold trigger (it
would become a "re-engage" task), even when its stage was left on the ladder. Hot and high intent: scoring moves an
opted-out lead off the ladder (``tests/scoring/test_triggers.py`` ``test_an_opted_out_lead_is_never_hot``)."""

from datetime import timedelta

import pytest

from leads.models import Lead
from scoring.services import lead_score, leads_cold_check
from tests.scoring.test_triggers import NOW, kinds, lead_with_fit

pytestmark = pytest.mark.django_db


def test_an_opted_out_lead_left_on_the_ladder_is_never_cold(scoring_model, django_capture_on_commit_callbacks):
    quiet = lead_with_fit("quiet@x.example")
    opted_out = lead_with_fit("out@x.example")
    Lead.objects.filter(pk__in=[quiet.pk, opted_out.pk]).update(created_at=NOW - timedelta(days=200),
                                                                 last_interaction_at=NOW - timedelta(days=120))
    for lead in (quiet, opted_out):
        lead_score(lead_id=lead.pk, cause="ingest", now=NOW - timedelta(days=100))
    # Opted out after scoring (an unsubscribe of a customer keeps its stage): only consent stands in the way.
    Lead.objects.filter(pk=opted_out.pk).update(consent="opt_out")
    assert Lead.objects.get(pk=opted_out.pk).stage == Lead.objects.get(pk=quiet.pk).stage
    with django_capture_on_commit_callbacks(execute=True):
        leads_cold_check(now=NOW)
    assert kinds(quiet) == ["cold"] and kinds(opted_out) == []
