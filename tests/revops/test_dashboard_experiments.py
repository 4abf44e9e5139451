"""Experiments and feedback, and the rep workload, against hand-computed sets."""

import random
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from leads.models import Lead
from revops.top.dashboard_facts import lead_facts_rebuild, lead_facts_refresh
from revops.top.dashboards_experiments import experiment_results, feedback_by_reason, feedback_by_rule
from revops.top.dashboards_filters import parse_filters
from revops.top.dashboards_stats import two_proportion_test
from revops.top.dashboards_workload import workload_table
from revops.top.models import ExperimentCount, ExperimentLead
from routing.models import Task
from scoring.models import ScoreChange, ScoreFeedback, ScoringExperiment

pytestmark = pytest.mark.django_db


def test_two_proportion_test_matches_the_textbook_example():
    # 45/100 against 30/100: pooled p = 0.375, z = 0.15 / sqrt(0.375 * 0.625 * 0.02) = 2.19, two-sided p = 0.0285.
    result = two_proportion_test(30, 100, 45, 100)
    assert (result["z"], result["p"], result["significant"]) == (2.19, 0.0285, True)
    assert "B converts better than A" in result["text"]
    small = two_proportion_test(1, 4, 2, 4)
    assert small["significant"] is False and "Not significant" in small["text"]
    assert two_proportion_test(0, 0, 1, 2) is None


@pytest.mark.parametrize("narrow", [True, False], ids=["looked-up", "counted"])
def test_experiment_results_give_conversion_per_variant_and_a_significance_note(scoring_model, narrow):
    experiment = ScoringExperiment.objects.create(segment="default", name="MQL at 45", b_mql_threshold=45,
                                                  split_percent=50, active=True, started_at=timezone.now())
    # A: 4 leads, 1 won, 2 reached MQL. B: 2 leads, 2 won, both MQL. Each lead logged twice: counted once.
    plan = [("A", "won", "mql"), ("A", "lost", "mql"), ("A", "open", "engaged"), ("A", "open", "new"),
            ("B", "won", "mql"), ("B", "won", "sql")]
    for index, (variant, outcome, stage) in enumerate(plan):
        lead = Lead.objects.create(email=f"e{index}@x.example", outcome=outcome)
        for new_stage in ("new", stage):
            ScoreChange.objects.create(lead=lead, model=scoring_model, at=timezone.now(), cause="test",
                                       experiment=experiment, variant=variant, new_stage=new_stage)
    [result] = experiment_results(Lead.objects.all(), narrow=narrow)
    a, b = result["variants"]
    assert (a["leads"], a["mql"], a["won"], a["lost"], a["conversion"], a["win_rate"]) == (4, 2, 1, 1, 25.0, 50.0)
    assert (b["leads"], b["mql"], b["won"], b["conversion"]) == (2, 2, 2, 100.0)
    assert result["observed_b_pct"] == 33.3 and result["expected_b_pct"] == 50
    assert result["test"]["significant"] is False and "Not significant" in result["note"]


@pytest.mark.parametrize("narrow", [True, False], ids=["looked-up", "counted"])
def test_a_lead_won_after_it_was_scored_under_a_variant_counts_as_won(scoring_model, narrow):
    """The experiments summary copies the outcome: a lead closed after its scoring (a history row, no score change)
    is counted as won once the facts catch up, and as lost if it is reopened and lost."""
    experiment = ScoringExperiment.objects.create(segment="default", name="MQL at 45", b_mql_threshold=45,
                                                  split_percent=50, active=True, started_at=timezone.now())
    lead = Lead.objects.create(email="late@x.example")
    ScoreChange.objects.create(lead=lead, model=scoring_model, at=timezone.now() - timedelta(hours=2), cause="test",
                               experiment=experiment, variant="B", new_stage="mql")  # settled: not read again
    [result] = experiment_results(Lead.objects.all(), narrow=narrow)
    assert (result["variants"][1]["leads"], result["variants"][1]["won"]) == (1, 0)
    changes = ScoreChange.objects.count()
    lead.outcome = "won"
    lead.save()
    [result] = experiment_results(Lead.objects.all(), narrow=narrow)
    assert (result["variants"][1]["won"], result["variants"][1]["lost"]) == (1, 0)
    lead.outcome = "lost"
    lead.save()
    assert ScoreChange.objects.count() == changes  # no new scoring: the facts' rebuild brought the outcome
    [result] = experiment_results(Lead.objects.all(), narrow=narrow)
    assert (result["variants"][1]["won"], result["variants"][1]["lost"]) == (0, 1)


def test_feedback_is_counted_by_reason_band_and_scoring_rule(db):
    reasons = [{"code": "vp_or_above", "label": "VP", "points": 15}, {"code": "pricing_visit", "label": "P",
                                                                        "points": 10}]
    high = Lead.objects.create(email="h@x.example", band="A", score_reasons=reasons)
    low = Lead.objects.create(email="l@x.example", band="C", score_reasons=reasons[1:])
    odd = Lead.objects.create(email="o@x.example", band="", score_reasons=[])
    for lead, reason in ((high, "too_high"), (high, "too_high"), (low, "too_low"), (odd, "other")):
        ScoreFeedback.objects.create(lead=lead, reason=reason, band=lead.band)
    old = ScoreFeedback.objects.create(lead=low, reason="too_high", band="C")
    ScoreFeedback.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=200))
    feedback = parse_filters({"period": "90"}).in_window(ScoreFeedback.objects.all(), "created_at")
    by_reason = {row["code"]: row for row in feedback_by_reason(feedback)}
    assert (by_reason["too_high"]["flags"], by_reason["too_high"]["band_A"], by_reason["too_high"]["band_C"]) == (
        2, 2, 0)
    assert (by_reason["too_low"]["band_C"], by_reason["other"]["band_—"], by_reason["wrong_data"]["flags"]) == (1, 1, 0)
    by_rule = feedback_by_rule(feedback)
    assert [(row["rule"], row["flags"], row["too_high"], row["too_low"]) for row in by_rule] == [
        ("pricing_visit", 3, 2, 1), ("vp_or_above", 2, 2, 0)]


def test_workload_counts_open_leads_against_capacity_and_overdue_tasks(reps):
    rita, ravi = reps
    rita.capacity = 2
    rita.save()
    now = timezone.now()
    for index, (owner, outcome, stage) in enumerate([(rita, "open", "mql"), (rita, "open", "sql"),
                                                     (rita, "open", "engaged"), (rita, "won", "customer"),
                                                     (ravi, "open", "disqualified")]):
        lead = Lead.objects.create(email=f"w{index}@x.example", owner=owner.user, outcome=outcome, stage=stage)
        if index < 2:
            Task.objects.create(lead=lead, assignee=owner.user, title="t", dedup_key=f"w{index}",
                                due_at=now - timedelta(hours=3 if index == 0 else -3))
    filters = parse_filters({})
    rows = {row["rep"]: row for row in workload_table(filters, filters.apply_dimensions(Lead.objects.live()), now)}
    assert (rows["rita"]["open_leads"], rows["rita"]["capacity"], rows["rita"]["utilisation_pct"]) == (3, 2, 150.0)
    assert rows["rita"]["over_capacity"] is True
    assert (rows["rita"]["open_tasks"], rows["rita"]["overdue_tasks"], rows["rita"]["oldest_overdue_h"]) == (2, 1, 3.0)
    assert (rows["ravi"]["open_leads"], rows["ravi"]["open_tasks"]) == (0, 0)
    only_ravi = parse_filters({"rep": str(ravi.pk)})
    assert [row["rep"] for row in workload_table(only_ravi, Lead.objects.live(), now)] == ["ravi"]


def counted(rows, key) -> dict:
    return {tuple(row[k] for k in key): row["n"] for row in rows if row["n"]}


@pytest.mark.parametrize("seed", range(3))
def test_the_experiment_counts_equal_counting_the_summary_after_generated_changes(scoring_model, seed):
    """Generated scorings under two experiments' variants and outcomes changed by hand, with the summaries refreshed
    at random between them (each refresh reads the young rows again: counted out and in again): the counts the
    page sums equal the summary's rows counted, and so does a rebuild from scratch."""
    rng = random.Random(seed)
    experiments = [ScoringExperiment.objects.create(segment="default", name=f"exp {i}", b_mql_threshold=45,
                                                    split_percent=50, active=i == 0, started_at=timezone.now())
                   for i in range(2)]  # one running per segment
    leads = [Lead.objects.create(email=f"g{seed}-{i}@x.example") for i in range(8)]
    key = ("experiment_id", "variant", "qualified", "outcome")

    def check():
        expected = counted(ExperimentLead.objects.values(*key).annotate(n=Count("id")).order_by(), key)
        assert counted(ExperimentCount.objects.values(*key, "n"), key) == expected
        return expected

    for _ in range(30):
        lead = rng.choice(leads)
        if rng.random() < 0.6:
            ScoreChange.objects.create(lead=lead, model=scoring_model, at=timezone.now(), cause="test",
                                       experiment=rng.choice(experiments), variant=rng.choice("AB"),
                                       new_stage=rng.choice(["new", "engaged", "mql", "sql"]))
        else:
            lead.outcome = rng.choice(["open", "won", "lost"])
            lead.save()
        if rng.random() < 0.3:
            lead_facts_refresh()
            check()
    lead_facts_refresh()
    before = check()
    assert sum(before.values()) == ExperimentLead.objects.count() > 0
    lead_facts_rebuild()
    assert check() == before
