"""Admin of the lead layer, one module per screen family; importing this package registers them all.

- ``lead``: leads (with the merge and CSV export actions), their events, accounts;
- ``review``: merge logs (undo) and duplicate reviews (compare side by side, decide);
- ``reference``: the industry vocabulary, the company directory, enrichment providers and requests;
- ``csv_import``: CSV imports (upload → preview → confirm → progress → errors CSV) and the filtered lead export;
- ``webforms``: website forms (key, origins, consent, the ready-to-paste snippet) and their submissions.

Actions and views call services; large tables avoid per-row queries and full counts. ``LeadAdmin`` is completed
by the routing layer's admin, which imports it from here.
"""

from .csv_import import LeadImportAdmin
from .lead import AccountAdmin, LeadAdmin, LeadEventAdmin, export_selected_leads_csv
from .reference import CompanyProfileAdmin, EnrichmentProviderAdmin, EnrichmentRequestAdmin, IndustryTermAdmin
from .review import DuplicateReviewAdmin, MergeLogAdmin
from .webforms import WebFormAdmin, WebFormSubmissionAdmin

__all__ = [
    "AccountAdmin", "CompanyProfileAdmin", "DuplicateReviewAdmin", "EnrichmentProviderAdmin", "EnrichmentRequestAdmin",
    "IndustryTermAdmin", "LeadAdmin", "LeadEventAdmin", "LeadImportAdmin", "MergeLogAdmin", "WebFormAdmin",
    "WebFormSubmissionAdmin",
    "export_selected_leads_csv",
]
