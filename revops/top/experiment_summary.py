"""The experiments summary (revops/top/models.py ``ExperimentLead``): per lead and experiment variant, whether a
scoring under it made the lead MQL or better, kept from the score changes by a mark (revops/base/db/summary.py) as
the funnel summary is kept from the history, with the lead's outcome copied from its facts (when the row is written,
and whenever the facts are rebuilt). The experiments page then counts a row per lead and variant instead of every
score change of every experiment (millions at a million leads); unfiltered, it reads those rows counted
(``ExperimentCount``: per experiment, variant, qualified and outcome), which every statement here keeps by counting
the rows it rewrites out before and in after, in the same transaction.
Refreshed every minute with the dashboards' summaries and before the page reads it."""

from __future__ import annotations

from django.db import connection, transaction

from leads.choices import Stage
from revops.base.db.summary import Summary, SummaryReport, summary_rebuild, summary_refresh, summary_refresh_quietly
from revops.base.models import SummaryMark
from scoring.choices import Variant
from scoring.models import ScoreChange

from .models import ExperimentCount, ExperimentLead, LeadFacts

QUALIFIED = (Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER)


def _count(leads_sql: str, params: list, sign: int) -> None:
    """The summary rows of the leads ``leads_sql`` selects added to (``sign`` 1) or taken from (-1) the counts."""
    quote = connection.ops.quote_name
    summary, counts = quote(ExperimentLead._meta.db_table), quote(ExperimentCount._meta.db_table)
    key = ", ".join(quote(column) for column in ("experiment_id", "variant", "qualified", "outcome"))
    with connection.cursor() as cursor:
        # ``WHERE`` before ``GROUP BY`` also keeps SQLite from reading the upsert's ON as a join's.
        cursor.execute(
            f"INSERT INTO {counts} ({key}, {quote('n')}) SELECT {key}, {int(sign)} * COUNT(*) FROM {summary} "
            f"WHERE {quote('lead_id')} IN ({leads_sql}) GROUP BY {key} "
            f"ON CONFLICT ({key}) DO UPDATE SET {quote('n')} = {counts}.{quote('n')} + excluded.{quote('n')}", params)


def _rebuild(leads_sql: str, params: list) -> int:
    quote = connection.ops.quote_name
    summary, changes = quote(ExperimentLead._meta.db_table), quote(ScoreChange._meta.db_table)
    facts = quote(LeadFacts._meta.db_table)
    qualified = ", ".join(f"'{stage.value}'" for stage in QUALIFIED)
    _count(leads_sql, params, -1)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {summary} WHERE {quote('lead_id')} IN ({leads_sql})", params)
        cursor.execute(
            f"INSERT INTO {summary} ({quote('experiment_id')}, {quote('variant')}, {quote('lead_id')}, "
            f"{quote('qualified')}, {quote('outcome')}) SELECT c.experiment_id, c.variant, c.lead_id, "
            f"MAX(CASE WHEN c.new_stage IN ({qualified}) THEN 1 ELSE 0 END) = 1, "
            f"COALESCE(MAX(f.{quote('outcome')}), '') FROM {changes} c LEFT JOIN {facts} f ON f.id = c.lead_id "
            f"WHERE c.experiment_id IS NOT NULL AND c.variant <> %s AND c.lead_id IN ({leads_sql}) "
            "GROUP BY c.experiment_id, c.variant, c.lead_id", [Variant.NONE.value, *params])
        rebuilt = cursor.rowcount
    _count(leads_sql, params, 1)
    return rebuilt


def experiment_outcomes_copy(leads_sql: str, params: list) -> None:
    """These leads' outcomes from their facts, just rebuilt (revops/top/dashboard_facts.py), into their rows here.
    Under the summary's own lock (its mark row, as a refresh takes it): a refresh rewriting the same rows at the same
    time would otherwise count them out twice."""
    quote = connection.ops.quote_name
    summary, facts = quote(ExperimentLead._meta.db_table), quote(LeadFacts._meta.db_table)
    with transaction.atomic():
        SummaryMark.objects.select_for_update().filter(name=EXPERIMENT_LEADS.name).first()
        _count(leads_sql, params, -1)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {summary} SET {quote('outcome')} = COALESCE((SELECT f.{quote('outcome')} FROM {facts} f "
                f"WHERE f.id = {summary}.{quote('lead_id')}), '') WHERE {quote('lead_id')} IN ({leads_sql})", params)
        _count(leads_sql, params, 1)


EXPERIMENT_LEADS = Summary(name="experiment_leads", source=ScoreChange, key="lead_id", pk="id", date="at",
                           rebuild=_rebuild, tables=(ExperimentLead, ExperimentCount))


def experiment_leads_refresh() -> SummaryReport:
    return summary_refresh(EXPERIMENT_LEADS)


def experiment_leads_refresh_quietly() -> None:
    summary_refresh_quietly(EXPERIMENT_LEADS)


def experiment_leads_rebuild() -> SummaryReport:
    return summary_rebuild(EXPERIMENT_LEADS)
