"""Business logic of the lead layer that writes, by topic; every public service is importable from here.

- ``ingest``: one inbound record stored (new lead, update, merge, or new lead with review pairs), the read-only
  prediction of what an import would do, a person's edit of a lead, the ingest field lists;
- ``bulk``: many rows at a time, set-based, with the outcome of ``lead_ingest`` row by row;
- ``events``: engagement events (idempotent), unsubscribe → opt-out;
- ``merge``: merging two leads and undoing it exactly;
- ``review``: the review queues (a lead a pipeline step failed on; pairs that may be one person, decided);
- ``enrichment``: the providers and applying what they find, with the job's failure and skip hooks;
- ``vocabulary``: the cached industry vocabulary and the default vocabulary a fresh install starts with;
- ``lifecycle``: the transitions sales makes (won, lost, opportunity, disqualified, suppressed, reopened), one
  service for every path; a close announces ``lead_closed`` so the open tasks close with it;
- ``companies``: the company directory; ``imports``: confirming an admin CSV import;
- ``stage_summary``: the funnel summary (first time each stage was reached, rank changes) kept from the history;
- ``webforms``: a website form's submission mapped to lead columns (honeypot, consent) and ingested.

Services never enqueue jobs: they send ``leads.signals`` after commit and ``leads.receivers`` schedules the jobs.
"""

from .bulk import BulkReport, RowOutcome, directory_only, leads_bulk_ingest, leads_import_bulk
from .companies import company_profile_upsert
from .enrichment import (
    ENRICHABLE_FIELDS,
    CompanyDirectoryProvider,
    EnrichmentError,
    EnrichmentResult,
    HttpJsonProvider,
    Provider,
    enrichment_providers,
    lead_enrich,
    lead_enrichment_failed,
    lead_enrichment_skipped,
    leads_enrich,
)
from .events import LeadInputError, event_record, events_record
from .imports import lead_import_confirm
from .ingest import (
    OUTCOME_FIELDS,
    PROFILE_FIELDS,
    SCORING_INPUT_FIELDS,
    TOUCH_FIELDS,
    IngestResult,
    field_errors_from,
    lead_build,
    lead_ingest,
    lead_ingest_predict,
    lead_update,
)
from .lifecycle import (
    CLOSING_TRANSITIONS,
    lead_is_closed,
    lead_touch_apply,
    lead_transition,
    lead_transition_apply,
)
from .merge import MergeError, lead_merge, lead_merge_undo, lead_restore, lead_snapshot, merges_undo
from .review import lead_send_to_review, review_dismiss, review_merge, review_pair_open
from .stage_summary import (
    stage_summary_rebuild,
    stage_summary_refresh,
    stage_summary_refresh_quietly,
)
from .unsubscribe import unsubscribe_confirm, unsubscribe_lead, unsubscribe_link
from .vocabulary import industry_vocabulary, industry_vocabulary_clear, industry_vocabulary_defaults_ensure
from .webforms import WebFormInput, webform_honeypot_filled, webform_map, webform_submit

__all__ = [
    "unsubscribe_confirm", "unsubscribe_lead", "unsubscribe_link",
    "WebFormInput", "webform_honeypot_filled", "webform_map", "webform_submit",
    "CLOSING_TRANSITIONS", "lead_is_closed", "lead_touch_apply", "lead_transition", "lead_transition_apply",
    "ENRICHABLE_FIELDS", "OUTCOME_FIELDS", "PROFILE_FIELDS", "SCORING_INPUT_FIELDS", "TOUCH_FIELDS", "BulkReport",
    "CompanyDirectoryProvider", "EnrichmentError", "EnrichmentResult", "HttpJsonProvider", "IngestResult",
    "LeadInputError", "MergeError", "Provider", "RowOutcome", "company_profile_upsert", "directory_only",
    "enrichment_providers", "event_record", "events_record", "field_errors_from", "industry_vocabulary",
    "industry_vocabulary_clear", "industry_vocabulary_defaults_ensure", "lead_build", "lead_enrich", "leads_enrich",
    "lead_enrichment_failed", "lead_enrichment_skipped",
    "lead_import_confirm", "lead_ingest", "lead_ingest_predict", "lead_merge", "lead_merge_undo", "lead_restore",
    "lead_send_to_review", "lead_snapshot", "lead_update", "leads_bulk_ingest", "leads_import_bulk", "merges_undo",
    "review_dismiss", "review_merge", "review_pair_open",
    "stage_summary_rebuild",
    "stage_summary_refresh",
    "stage_summary_refresh_quietly",
]
