"""Model versions: new draft version, activation, rollback, preview, and their admin actions and page."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.models import Lead, LeadEvent
from scoring.choices import ModelStatus
from scoring.models import ScoreChange, ScoringModel, ScoringRule
from scoring.selectors import ScoringError, scoring_model_preview
from scoring.services import (
    lead_score,
    scoring_model_activate,
    scoring_model_new_version,
    scoring_model_rollback,
)


def scored_leads(n: int = 4) -> list[Lead]:
    leads = []
    for i in range(n):
        lead = Lead.objects.create(email=f"g{i}@x.example", employees=200, seniority="vp" if i % 2 else "manager",
                                   industry="Technology", country="US")
        LeadEvent.objects.create(lead=lead, type="demo_request", occurred_at=lead.created_at)
        lead_score(lead_id=lead.pk, cause="events")
        leads.append(lead)
    return leads


def test_a_new_version_is_a_draft_copy_with_the_rules_and_the_next_number(scoring_model, revops_admin):
    draft = scoring_model_new_version(model_id=scoring_model.pk, user=revops_admin)

    assert (draft.version, draft.status, draft.segment) == (2, ModelStatus.DRAFT, "default")
    assert draft.mql_threshold == scoring_model.mql_threshold and draft.dimension_caps == {"title": 20}
    assert sorted(draft.rules.values_list("reason_code", flat=True)) == sorted(
        scoring_model.rules.values_list("reason_code", flat=True))
    assert draft.history.first().history_user == revops_admin
    assert scoring_model_new_version(model_id=scoring_model.pk).version == 3


def test_activation_retires_the_active_version_records_why_and_rescores_the_segment(
    scoring_model, revops_admin, inline_jobs, django_capture_on_commit_callbacks
):
    leads = scored_leads()
    draft = scoring_model_new_version(model_id=scoring_model.pk)
    ScoringRule.objects.filter(model=draft, reason_code="demo_request").update(points=10)

    with django_capture_on_commit_callbacks(execute=True):
        scoring_model_activate(model_id=draft.pk, user=revops_admin)

    scoring_model.refresh_from_db()
    draft.refresh_from_db()
    assert (scoring_model.status, draft.status) == (ModelStatus.RETIRED, ModelStatus.ACTIVE)
    assert scoring_model.retired_at == draft.activated_at
    assert scoring_model.history.first().history_change_reason == "retired by ada: replaced by v2"
    assert draft.history.first().history_change_reason == "activated by ada, replacing v1"
    assert draft.history.first().history_user == revops_admin
    for lead in leads:
        lead.refresh_from_db()
        assert lead.engagement_score == 10
    assert ScoreChange.objects.filter(cause="model v2 activated", model=draft).count() == len(leads)


def test_rollback_reactivates_the_previously_active_version(scoring_model):
    v2 = scoring_model_new_version(model_id=scoring_model.pk)
    v3 = scoring_model_new_version(model_id=scoring_model.pk)
    scoring_model_activate(model_id=v2.pk)
    scoring_model_activate(model_id=v3.pk)

    back = scoring_model_rollback(segment="default")

    assert back.pk == v2.pk and back.status == ModelStatus.ACTIVE
    assert back.history.first().history_change_reason.endswith("(rollback)")
    assert ScoringModel.objects.get(pk=v3.pk).status == ModelStatus.RETIRED
    assert scoring_model_rollback(segment="default").pk == v3.pk  # rolling back twice is a redo


def test_rollback_without_an_earlier_version_says_so(scoring_model):
    with pytest.raises(ScoringError, match="no earlier active version"):
        scoring_model_rollback(segment="default")


def test_a_model_with_a_broken_rule_is_never_activated(scoring_model):
    draft = scoring_model_new_version(model_id=scoring_model.pk)
    ScoringRule.objects.filter(model=draft, reason_code="size_50_1000").update(value="fifty-ish")

    with pytest.raises(ValidationError, match="min..max"):
        scoring_model_activate(model_id=draft.pk)

    assert ScoringModel.objects.get(pk=scoring_model.pk).status == ModelStatus.ACTIVE


def test_preview_counts_band_and_stage_moves_and_writes_nothing(scoring_model):
    scored_leads(6)
    draft = scoring_model_new_version(model_id=scoring_model.pk)
    draft.mql_threshold, draft.sql_threshold, draft.band_a_min = 30, 60, 60
    draft.save()
    history = Lead.history.count(), ScoreChange.objects.count()

    with CaptureQueriesContext(connection) as queries:
        preview = scoring_model_preview(model_id=draft.pk, last_n=100)

    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE", "CREATE"}]
    assert writes == []
    assert (Lead.history.count(), ScoreChange.objects.count()) == history
    assert preview["compared"] == 6
    # 3 managers at 50 (MQL) become 50 ≥ 30: still MQL; 3 VPs at 65 (MQL) become SQL (≥ 60) and band A
    assert preview["stage_changed"] == 3 and preview["band_changed"] == 3
    row = dict(preview["stage_matrix"]["rows"])["mql"]
    assert row[preview["stage_matrix"]["labels"].index("sql")] == 3
    assert {s["new_stage"] for s in preview["sample"]} == {"sql"} and len(preview["sample"]) == 3


def test_preview_page_shows_the_changes_and_its_button_activates(admin_client, scoring_model):
    scored_leads(2)
    draft = scoring_model_new_version(model_id=scoring_model.pk)
    url = reverse("admin:scoring_scoringmodel_preview", args=[draft.pk])

    page = admin_client.get(url + "?last=50").content.decode()
    assert "would change band" in page and "Activate Default v2" in page

    response = admin_client.post(url, {"activate": "1"})
    assert response.status_code == 302
    assert ScoringModel.objects.get(pk=draft.pk).status == ModelStatus.ACTIVE


def test_admin_actions_create_a_version_activate_it_and_roll_back(admin_client, scoring_model):
    changelist = reverse("admin:scoring_scoringmodel_changelist")
    admin_client.post(changelist, {"action": "new_version", "_selected_action": [scoring_model.pk]})
    draft = ScoringModel.objects.get(version=2)
    preview = admin_client.post(changelist, {"action": "preview_model", "_selected_action": [draft.pk]})
    assert preview.url == reverse("admin:scoring_scoringmodel_preview", args=[draft.pk])

    admin_client.post(changelist, {"action": "activate_model", "_selected_action": [draft.pk]})
    assert ScoringModel.objects.get(pk=draft.pk).status == ModelStatus.ACTIVE
    admin_client.post(changelist, {"action": "rollback_segment", "_selected_action": [draft.pk]})
    assert ScoringModel.objects.get(pk=scoring_model.pk).status == ModelStatus.ACTIVE


def test_a_model_added_in_the_admin_is_the_next_draft_and_status_is_not_editable(admin_client, scoring_model):
    page = admin_client.get(reverse("admin:scoring_scoringmodel_change", args=[scoring_model.pk])).content.decode()
    assert 'name="status"' not in page
    data = {"name": "Challenger", "segment": "default", "segment_priority": 100, "band_a_min": 70, "band_b_min": 40,
            "band_c_min": 20, "mql_threshold": 40, "sql_threshold": 70, "min_fit": 0, "dimension_caps": "{}",
            "predictive_weight": 0, "decay_mode": "half_life", "decay_rate": 30, "decay_step_days": 30,
            "engagement_floor": 0, "engagement_ceiling": 100, "hot_points": 20, "hot_window_hours": 24,
            "cold_points": 5, "cold_window_days": 90, "rules-TOTAL_FORMS": 0, "rules-INITIAL_FORMS": 0}
    response = admin_client.post(reverse("admin:scoring_scoringmodel_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    added = ScoringModel.objects.get(name="Challenger")
    assert (added.version, added.status) == (2, ModelStatus.DRAFT)


def test_the_rules_of_a_retired_version_are_read_only_in_the_admin(admin_client, scoring_model):
    draft = scoring_model_new_version(model_id=scoring_model.pk)
    scoring_model_activate(model_id=draft.pk)

    retired = admin_client.get(reverse("admin:scoring_scoringmodel_change", args=[scoring_model.pk])).content.decode()
    live = admin_client.get(reverse("admin:scoring_scoringmodel_change", args=[draft.pk])).content.decode()

    assert 'name="rules-0-points"' not in retired and 'name="rules-0-points"' in live
