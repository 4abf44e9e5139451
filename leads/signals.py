"""Signals the lead layer sends. Higher layers receive them; this layer never imports them.

Every signal is sent inside the transaction of the write it announces, with primary keys only; receivers only
schedule (the job's pending row commits with the write; the job is enqueued after commit). Two are sent just before
their write (``lead_creating``, ``events_recording``): a receiver returns the pending row of the step it will schedule
when the write is announced, and on PostgreSQL the write stores that row in its own statement. The lead layer's own
receivers (``leads.receivers``) take some of them further: ``lead_created`` schedules the new lead's enrichment,
``lead_import_confirmed`` the import job.
"""

from django.dispatch import Signal

# kwargs: lead_id: a new lead is stored and goes through the per-lead pipeline, enrichment first (leads a bulk
# import enriches in memory are announced with leads_enriched_many instead)
lead_created = Signal()
# no kwargs: a new lead is about to be inserted and will be announced with lead_created; a receiver may return the
# unsaved pending row of the step lead_created will schedule with the lead's id
# (revops.base.step_rows.step_row), which the lead's own insert then writes in its statement (one statement
# fewer a new lead on PostgreSQL)
lead_creating = Signal()
# kwargs: lead_id, fields (set of changed field names)
lead_changed = Signal()
# kwargs: lead_id, event_ids (list), event_types (sorted list of the new events' types), active_before (the
# lead's latest known activity before them: last interaction, assignment or creation), stage (after them)
events_recorded = Signal()
# kwargs: lead_id, event_types (sorted list): one new event of the lead is about to be written with the lead's update
# and announced with events_recorded; a receiver may return the unsaved pending row of the step events_recorded will
# schedule (revops.base.step_rows.step_row), which that statement then writes too
events_recording = Signal()
# kwargs: lead_id, enriched (bool: whether anything was added), scored (bool, when the sender knows: whether the lead
# had a score already, e.g. from a hot event that arrived before its enrichment ran)
lead_enriched = Signal()
# kwargs: lead_ids (list): leads a bulk import created and enriched in memory, ready to score as one batch
leads_enriched_many = Signal()
# kwargs: survivor_id, merged_id
lead_merged = Signal()
# kwargs: survivor_id, merged_id
lead_unmerged = Signal()
# kwargs: import_id: an uploaded CSV import (LeadImport) was confirmed and is waiting for its job
lead_import_confirmed = Signal()
# kwargs: lead_id, transition (leads.choices.Transition), reason, user_id (or None): the lead was closed (won, lost,
# disqualified, suppressed) by ``leads.services.lifecycle``; routing closes its open tasks in the same transaction
lead_closed = Signal()
