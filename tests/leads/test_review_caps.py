"""Duplicate-review pairs are capped per lead and per batch, strongest first, and what was left out is reported."""

import pytest

from leads.dedup.batch import BatchReview, reviews_cap
from leads.models import DuplicateReview
from leads.services import lead_ingest, leads_import_bulk


def _pair(ref: int, similarity: float):
    return (("lead", ref, "a", "b", "x.example"), similarity, "name_domain")


def test_reviews_cap_keeps_the_strongest_pairs_per_lead_and_per_batch():
    reviews = {1: BatchReview([_pair(10, 86), _pair(11, 99), _pair(12, 90)]), 2: BatchReview([_pair(13, 95)]),
               3: BatchReview([_pair(14, 87)])}
    skipped = reviews_cap(reviews, per_lead=2, per_batch=3)
    assert [p[1] for p in reviews[1].pairs] == [99, 90] and [p[1] for p in reviews[2].pairs] == [95]
    assert reviews[3].pairs == [] and reviews[3].skipped == 1 and reviews[1].skipped == 1
    assert skipped == 2


@pytest.mark.django_db
def test_a_bulk_of_similar_names_at_one_domain_opens_a_bounded_number_of_pairs(settings):
    settings.LEADFLOW_DEDUP_MAX_PAIRS_PER_LEAD = 3
    settings.LEADFLOW_DEDUP_MAX_PAIRS_PER_BATCH = 50
    rows = [(i + 2, {"email": f"jon.smith{i}@acme-corp.example", "first_name": "Jon", "last_name": "Smith",
                     "company": "Acme"}) for i in range(200)]
    report = leads_import_bulk(rows, reason="test")
    assert DuplicateReview.objects.count() == 50
    assert report.reviews_skipped > 0


@pytest.mark.django_db
def test_one_lead_opens_at_most_the_per_lead_cap_strongest_first(settings):
    settings.LEADFLOW_DEDUP_MAX_PAIRS_PER_LEAD = 2
    for i, first in enumerate(["Jonathan", "Jonathon", "Jonatan", "Johnathan"]):
        lead_ingest(data={"email": f"p{i}@acme-corp.example", "first_name": first, "last_name": "Smith"},
                    pipeline=False)
    result = lead_ingest(data={"email": "new@acme-corp.example", "first_name": "Jonathan", "last_name": "Smith"},
                         pipeline=False)
    assert DuplicateReview.objects.filter(other_lead_id=result.lead.pk).count() <= 2
    assert result.reviews_skipped >= 1


@pytest.mark.django_db
def test_the_bulk_api_caps_review_pairs_per_request_and_reports_the_skipped(api_client, settings):
    settings.LEADFLOW_DEDUP_MAX_PAIRS_PER_LEAD = 3
    settings.LEADFLOW_DEDUP_MAX_PAIRS_PER_BATCH = 20
    items = [{"email": f"jon.smith{i}@acme-corp.example", "first_name": "Jon", "last_name": "Smith"}
             for i in range(40)]
    response = api_client.post("/api/leads/bulk/", items, format="json")
    assert response.status_code == 200
    assert DuplicateReview.objects.count() == 20
    assert response.json()["review_pairs_skipped"] > 0
