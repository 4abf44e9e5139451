"""The experiments summary (revops/top/models.py ``ExperimentLead``): per lead and experiment variant, whether a
scoring under it made the lead MQL or better, kept from the score changes by a mark (revops/base/db/summary.py) as
the funnel summary is kept from the history, with the lead's outcome copied from its facts (when the row is written,
and whenever the facts are rebuilt). The experiments page then counts a row per lead and variant instead of every
score change of every experiment (millions at a million leads).
Refreshed every minute with the dashboards' summaries and before the page reads it."""

from __future__ import annotations

from django.db import connection

from leads.choices import Stage
from revops.base.db.summary import Summary, SummaryReport, summary_rebuild, summary_refresh, summary_refresh_quietly
from scoring.choices import Variant
from scoring.models import ScoreChange

from .models import ExperimentLead, LeadFacts

QUALIFIED = (Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER)


def _rebuild(leads_sql: str, params: list) -> int:
    quote = connection.ops.quote_name
    summary, changes = quote(ExperimentLead._meta.db_table), quote(ScoreChange._meta.db_table)
    facts = quote(LeadFacts._meta.db_table)
    qualified = ", ".join(f"'{stage.value}'" for stage in QUALIFIED)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {summary} WHERE {quote('lead_id')} IN ({leads_sql})", params)
        cursor.execute(
            f"INSERT INTO {summary} ({quote('experiment_id')}, {quote('variant')}, {quote('lead_id')}, "
            f"{quote('qualified')}, {quote('outcome')}) SELECT c.experiment_id, c.variant, c.lead_id, "
            f"MAX(CASE WHEN c.new_stage IN ({qualified}) THEN 1 ELSE 0 END) = 1, "
            f"COALESCE(MAX(f.{quote('outcome')}), '') FROM {changes} c LEFT JOIN {facts} f ON f.id = c.lead_id "
            f"WHERE c.experiment_id IS NOT NULL AND c.variant <> %s AND c.lead_id IN ({leads_sql}) "
            "GROUP BY c.experiment_id, c.variant, c.lead_id", [Variant.NONE.value, *params])
        return cursor.rowcount


def experiment_outcomes_copy(leads_sql: str, params: list) -> None:
    """These leads' outcomes from their facts, just rebuilt (revops/top/dashboard_facts.py), into their rows here."""
    quote = connection.ops.quote_name
    summary, facts = quote(ExperimentLead._meta.db_table), quote(LeadFacts._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {summary} SET {quote('outcome')} = COALESCE((SELECT f.{quote('outcome')} FROM {facts} f "
            f"WHERE f.id = {summary}.{quote('lead_id')}), '') WHERE {quote('lead_id')} IN ({leads_sql})", params)


EXPERIMENT_LEADS = Summary(name="experiment_leads", source=ScoreChange, key="lead_id", pk="id", date="at",
                           rebuild=_rebuild, tables=(ExperimentLead,))


def experiment_leads_refresh() -> SummaryReport:
    return summary_refresh(EXPERIMENT_LEADS)


def experiment_leads_refresh_quietly() -> None:
    summary_refresh_quietly(EXPERIMENT_LEADS)


def experiment_leads_rebuild() -> SummaryReport:
    return summary_rebuild(EXPERIMENT_LEADS)
