"""The lead list opens on live leads; merged-away duplicates are a filter away, with their survivor; a merged lead's
page says so first."""

import pytest
from django.urls import reverse

from leads.choices import MatchRule
from leads.models import Lead
from leads.services import lead_merge

pytestmark = pytest.mark.django_db


def _merged_pair() -> tuple[Lead, Lead]:
    survivor = Lead.objects.create(email="keep@x.example", first_name="Keeper")
    merged = Lead.objects.create(email="dupe@x.example", first_name="Dupe")
    lead_merge(survivor_id=survivor.pk, merged_id=merged.pk, rule=MatchRule.MANUAL, user=None, reason="test")
    return survivor, merged


def test_the_lead_list_shows_live_leads_by_default(client, revops_admin):
    survivor, merged = _merged_pair()
    client.force_login(revops_admin)
    page = client.get(reverse("admin:leads_lead_changelist"))
    shown = {lead.pk for lead in page.context["cl"].result_list}
    assert survivor.pk in shown and merged.pk not in shown


def test_the_merged_filter_lists_merged_leads_with_their_survivor(client, revops_admin):
    survivor, merged = _merged_pair()
    client.force_login(revops_admin)
    page = client.get(reverse("admin:leads_lead_changelist"), {"merged": "merged"})
    assert [lead.pk for lead in page.context["cl"].result_list] == [merged.pk]
    survivor_url = reverse("admin:leads_lead_change", args=[survivor.pk])
    assert f'href="{survivor_url}"' in page.content.decode()


def test_a_merged_leads_page_says_so_at_the_top_with_a_link(client, revops_admin):
    survivor, merged = _merged_pair()
    client.force_login(revops_admin)
    page = client.get(reverse("admin:leads_lead_change", args=[merged.pk])).content.decode()
    banner = page.index('id="merged-banner"')
    assert banner < page.index('id="lead_form"') if 'id="lead_form"' in page else banner > 0
    assert f'href="{reverse("admin:leads_lead_change", args=[survivor.pk])}"' in page[banner:banner + 400]
    live = client.get(reverse("admin:leads_lead_change", args=[survivor.pk])).content.decode()
    assert 'id="merged-banner"' not in live
