"""What a role may do is what it sees: no link or action that answers 403; refusals and missing pages are styled
pages in the Leadflow look, never Django's debug page."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import override_settings
from django.urls import reverse

from leads.choices import MatchRule
from leads.models import DuplicateReview, Lead
from revops.base.choices import Workflow
from revops.base.models import WorkflowSwitch

pytestmark = pytest.mark.django_db

LEADFLOW_APPS = {"leads", "scoring", "routing", "revops"}


def _review() -> DuplicateReview:
    # As an uncertain match leaves them: unowned, in the review queue (which every manager triages).
    a = Lead.objects.create(email="a@dup.example", first_name="Ann", queue="review")
    b = Lead.objects.create(email="a2@dup.example", first_name="Ann", queue="review")
    return DuplicateReview.objects.create(lead=a, other_lead=b, similarity=0.9, reason=MatchRule.MANUAL)


def test_every_admin_action_declares_the_permission_it_needs():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in LEADFLOW_APPS:
            continue
        for action in model_admin.actions or ():
            func = getattr(model_admin, action) if isinstance(action, str) else action
            assert getattr(func, "allowed_permissions", None), f"{model.__name__}: {getattr(func, '__name__', action)}"


def test_the_manager_decides_duplicates_and_sees_compare_a_viewer_does_not(client, sales_manager):
    review = _review()
    compare = reverse("admin:leads_duplicatereview_compare", args=[review.pk])
    client.force_login(sales_manager)
    listing = client.get(reverse("admin:leads_duplicatereview_changelist")).content.decode()
    assert compare in listing and client.get(compare).status_code == 200
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_duplicatereview"))
    client.force_login(viewer)
    listing = client.get(reverse("admin:leads_duplicatereview_changelist")).content.decode()
    assert compare not in listing and "Not duplicates" not in listing
    assert client.get(compare).status_code in (403, 404)  # no role: the pair is not even in their scope


def test_the_manager_sees_the_switches_but_no_switch_action_and_cannot_flip_one(client, sales_manager):
    client.force_login(sales_manager)
    url = reverse("admin:revops_workflowswitch_changelist")
    page = client.get(url).content.decode()
    assert "Enrichment" in page and "Switch OFF" not in page and "Switch on" not in page
    switch = WorkflowSwitch.objects.get(workflow=Workflow.ENRICHMENT)
    client.post(url, {"action": "switch_off", "_selected_action": [switch.pk]})
    switch.refresh_from_db()
    assert switch.enabled


def test_the_revops_admin_sees_and_uses_the_switch_actions(client, revops_admin):
    client.force_login(revops_admin)
    url = reverse("admin:revops_workflowswitch_changelist")
    assert "Switch OFF (kill switch)" in client.get(url).content.decode()
    switch = WorkflowSwitch.objects.get(workflow=Workflow.ENRICHMENT)
    client.post(url, {"action": "switch_off", "_selected_action": [switch.pk]})
    switch.refresh_from_db()
    assert not switch.enabled


def test_the_manager_imports_lead_csvs_but_not_the_company_directory(client, sales_manager):
    client.force_login(sales_manager)
    assert "Import CSV" in client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert client.get(reverse("admin:leads_leadimport_upload")).status_code == 200
    refused = client.get(reverse("admin:leads_leadimport_company_upload"))
    assert refused.status_code == 403
    body = refused.content.decode()
    assert "Your role does not allow this" in body and "max" in body.lower()


@override_settings(DEBUG=False)
def test_a_missing_page_is_the_styled_404(client, sales_manager):
    client.force_login(sales_manager)
    response = client.get("/workspace/leads/999999/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "There is nothing here" in body and "Leadflow" in body


def test_the_500_page_renders_with_no_context():
    from django.template import loader

    body = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in body and "Leadflow" in body
