"""Privacy requests about one person, found by e-mail: export everything stored, or erase it.

Topic map:
- ``access.py``  ``privacy_allowed``: who may make a request (one small function, used by the API and nothing else)
- ``people.py``  which leads are the person (their e-mail now or in their history, and every lead merged with them),
                 every row that refers to them (found through the foreign keys to ``Lead``, so a new table is not
                 forgotten), and the personal values to look for in free text
- ``scrub.py``   replacing those values in text and JSON
- ``export.py``  ``person_export``: the JSON of everything (leads, events, tasks, decisions, score changes,
                 review pairs, merges, notifications, and the history rows of each)
- ``erase.py``   ``person_erase``: anonymise, purge history and notifications, keep outcomes; an ``ErasureRecord``
- ``api.py``     ``GET /api/people/export/?email=``, ``POST /api/people/erase/``
"""

from .access import privacy_allowed
from .erase import ErasureResult, person_erase
from .export import leads_export, person_export
from .people import person_lead_ids

__all__ = ["ErasureResult", "leads_export", "person_erase", "person_export", "person_lead_ids", "privacy_allowed"]
