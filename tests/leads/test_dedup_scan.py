"""The scheduled full-database duplicate scan and its command."""

import django_rq
import pytest
from django.core.management import call_command
from rq.cron import CronScheduler

from leads.choices import ReviewStatus
from leads.dedup.scan import dedup_scan_run
from leads.models import DuplicateReview, Lead
from leads.services import review_dismiss

pytestmark = pytest.mark.django_db


def seed():
    # Written directly: these leads predate ingest-time dedup (an old import), which is what the scan is for.
    Lead.objects.create(first_name="Katherine", last_name="Johnson", phone="+14155550101", email="kj@a.example")
    Lead.objects.create(first_name="Kathrine", last_name="Johnson", phone="+14155550101", email="k@b.example")
    Lead.objects.create(first_name="Front", last_name="Desk", phone="+14155550102", email="fd@c.example")
    Lead.objects.create(first_name="Zed", last_name="Quinn", phone="+14155550102", email="zq@c.example")
    Lead.objects.create(first_name="Ann", last_name="Other", email="ann@d.example")


def test_scan_opens_review_pairs_for_probable_duplicates():
    seed()
    report = dedup_scan_run()
    assert report.leads == 5 and report.pairs_found == 2 and report.reviews_opened == 2
    reasons = set(DuplicateReview.objects.values_list("reason", flat=True))
    assert reasons == {"same_phone_similar_name", "same_phone_different_name"}
    assert set(DuplicateReview.objects.values_list("found_by", flat=True)) == {"scan"}


def test_a_second_scan_opens_nothing_and_dismissed_pairs_never_return(revops_admin):
    seed()
    dedup_scan_run()
    review_dismiss(review_id=DuplicateReview.objects.first().pk, user=revops_admin)
    report = dedup_scan_run()
    assert report.pairs_found == 2 and report.reviews_opened == 0
    assert DuplicateReview.objects.filter(status=ReviewStatus.NOT_DUPLICATE).count() == 1


def test_merged_leads_are_not_scanned():
    seed()
    a, b = Lead.objects.filter(phone="+14155550101")
    Lead.objects.filter(pk=b.pk).update(merged_into=a)
    assert dedup_scan_run().leads == 4


def test_command_prints_pairs_and_time(capsys):
    seed()
    call_command("dedup_scan", "--sync")
    out = capsys.readouterr().out
    assert "Scanned 5 leads" in out and "2 probable duplicate pairs" in out


def test_cron_configuration_loads_every_job():
    scheduler = CronScheduler(connection=django_rq.get_connection("default"))
    scheduler.load_config_from_file("revops.cron")
    names = {job.name for job in scheduler.get_jobs()}
    assert {"weekly duplicate scan", "daily re-enrichment", "daily score decay", "escalate overdue tasks",
            "daily cold-lead check", "weekly predictive retraining"} <= names
