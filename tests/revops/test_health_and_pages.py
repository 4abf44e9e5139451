"""The health endpoint, the admin pages (with history) and the rep workspace."""

import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.services import lead_ingest
from routing.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def test_health_is_503_without_workers_and_names_what_is_down(client):
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["workers"] == {"ok": False, "count": 0}


def test_health_is_200_when_a_worker_and_the_schedulers_run(client):
    import django_rq
    from rq import SimpleWorker
    from rq.cron import CronScheduler

    redis = django_rq.get_connection("default")
    worker = SimpleWorker([django_rq.get_queue("default")], connection=redis)
    worker.register_birth()
    redis.set("rq:scheduler-lock:default", "1")
    cron = CronScheduler(connection=redis)
    cron.register_birth()
    try:
        response = client.get("/health/")
        assert response.status_code == 200, response.json()
    finally:
        worker.register_death()
        cron.register_death()


def test_every_admin_page_opens_for_the_revops_admin(client, revops_admin, configured, inline_jobs):
    revops_admin.is_superuser = True
    revops_admin.save()
    lead = lead_ingest(data={"email": "page@x.example", "country": "US", "first_name": "Page"}).lead
    client.force_login(revops_admin)
    from django.contrib import admin

    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in {"leads", "scoring", "routing", "revops"}:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        assert client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200, info
        obj = model.objects.first()
        if obj is not None:
            assert client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk])).status_code == 200, info
            if hasattr(model_admin, "history_view"):
                assert client.get(reverse("admin:{}_{}_history".format(*info), args=[obj.pk])).status_code == 200, info
    from revops.base.automation import automation_log

    automation_log(workflow="enrichment", action="lead_enrich", outcome="skipped", object_type="lead",
                   object_id=lead.pk, detail="the enrichment kill switch is off")
    page = client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    assert "Why this owner" in page and "assigned to" in page
    # Each explanation renders its content (a section that fails to render shows a bare dash).
    assert "Rules tried:" in page and "Candidates:" in page and "cause: " in page
    assert 'class="reason-points">+' in page  # why this score: reasons with their points
    assert "<th>Workflow</th>" in page  # the automation log
    assert "<th>Cause</th>" in page and "This score is wrong" in page  # the score changes


def test_a_rep_sees_and_completes_their_task_in_the_workspace(client, configured, inline_jobs):
    lead = lead_ingest(data={"email": "ws@x.example", "country": "US", "state": "Washington", "city": "Seattle",
                             "first_name": "Wendy"}).lead
    task = Task.objects.get(lead=lead)
    client.force_login(task.assignee)
    page = client.get("/workspace/").content.decode()
    assert "Follow up Wendy" in page
    detail = client.get(f"/workspace/leads/{lead.pk}/").content.decode()
    assert "assigned to" in detail and "ws@x.example · Seattle, WA, US" in detail  # where they are
    their_time = timezone.now().astimezone(zoneinfo.ZoneInfo("America/Los_Angeles"))
    assert f"their time: {their_time:%a} " in detail  # the lead's own clock, to call it in its day
    assert f" {their_time:%Z}, America/Los_Angeles</span>" in detail
    client.post(f"/workspace/tasks/{task.pk}/done/")
    task.refresh_from_db()
    assert task.status == "done"
    assert task.history.first().history_user == task.assignee


def test_another_rep_cannot_open_a_lead_that_is_not_theirs(client, configured, inline_jobs):
    lead = lead_ingest(data={"email": "private@x.example", "country": "US"}).lead
    lead.refresh_from_db()
    assert lead.owner_id is not None
    other = next(rep for rep in configured["reps"] if rep.user_id != lead.owner_id)
    client.force_login(other.user)
    assert client.get(f"/workspace/leads/{lead.pk}/").status_code == 404


def test_a_rep_signs_in_on_the_workspace_login_page(client, configured):
    rep = configured["reps"][0]
    rep.user.set_password("pw-for-test")
    rep.user.save()
    page = client.get("/workspace/", follow=True)
    assert "Sign in" in page.content.decode()
    response = client.post("/accounts/login/", {"username": rep.user.username, "password": "pw-for-test",
                                                "next": "/workspace/"})
    assert response.status_code == 302 and response["Location"] == "/workspace/"
    assert "Tasks" in client.get("/workspace/").content.decode()
