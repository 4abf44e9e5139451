"""'Score is wrong' feedback in the admin, its report, and the admin pages of the new scoring tables."""

from django.urls import reverse

from leads.models import Lead
from scoring.models import ScoreFeedback
from scoring.selectors import score_feedback_report
from scoring.services import lead_score, score_feedback_create


def test_flagging_a_score_in_the_admin_keeps_the_score_it_was_about_and_the_user(admin_client, admin_user,
                                                                                 scoring_model):
    lead = Lead.objects.create(email="flag@x.example", employees=200, seniority="vp")
    lead_score(lead_id=lead.pk, cause="ingest")
    add = reverse("admin:scoring_scorefeedback_add")
    assert admin_client.get(f"{add}?lead={lead.pk}").status_code == 200

    response = admin_client.post(add, {"lead": lead.pk, "reason": "too_high", "comment": "student project"})

    assert response.status_code == 302
    feedback = ScoreFeedback.objects.get()
    assert (feedback.score, feedback.band, feedback.stage, feedback.user) == (25, "C", "new", admin_user)
    assert feedback.comment == "student project" and feedback.consumed_by is None


def test_the_feedback_report_counts_per_reason_and_band(admin_client, scoring_model):
    leads = [Lead.objects.create(email=f"r{i}@x.example", employees=200) for i in range(3)]
    for lead in leads:
        lead_score(lead_id=lead.pk, cause="ingest")
    score_feedback_create(lead_id=leads[0].pk, reason="too_high")
    score_feedback_create(lead_id=leads[1].pk, reason="too_high")
    score_feedback_create(lead_id=leads[2].pk, reason="too_low", comment="they bought last year")

    report = score_feedback_report()

    assert report["total"] == 3 and report["pending"] == 3 and report["consumed"] == 0
    assert dict(report["reasons"])["Score too high (not a real buyer)"] == 2
    assert report["by_band"] == [("D", [2, 1, 0, 0])]
    page = admin_client.get(reverse("admin:scoring_scorefeedback_report")).content.decode()
    assert "they bought last year" in page and "3</strong> flags" in page


def test_the_trigger_and_predictive_admin_lists_open(admin_client, scoring_model):
    for name in ("scoretrigger", "predictivemodel", "scoringexperiment", "scorefeedback", "scorechange"):
        assert admin_client.get(reverse(f"admin:scoring_{name}_changelist")).status_code == 200, name


def test_the_lead_page_shows_the_latest_score_changes_and_links_to_all_and_to_the_feedback_form(admin_client,
                                                                                                 scoring_model):
    from datetime import timedelta

    from django.utils import timezone

    from scoring.models import ScoreChange

    lead = Lead.objects.create(email="decayed@x.example", employees=200)
    now = timezone.now()
    ScoreChange.objects.bulk_create([
        ScoreChange(lead=lead, model=scoring_model, at=now - timedelta(days=day), cause="decay", old_score=60 - day,
                    new_score=59 - day, delta=-1, band="B", old_stage="mql", new_stage="mql", reasons=[])
        for day in range(45)])
    page = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    assert page.count("<td>decay</td>") == 20 and "The latest 20." in page
    every = reverse("admin:scoring_scorechange_changelist") + f"?lead__id__exact={lead.pk}"
    assert every in page and admin_client.get(every).status_code == 200
    assert f"{reverse('admin:scoring_scorefeedback_add')}?lead={lead.pk}" in page
