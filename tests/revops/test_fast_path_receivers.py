"""The fast paths write some tables with SQL that bypasses ``Model.save()`` (``revops.base.db.sql.bulk_insert``,
``history_copy``, ``leads.writes``, the set-based scoring and routing writes). Such writes send no ``post_save``:
they are only correct while nothing but django-simple-history listens to those models, and the fast paths write the
history rows themselves. This test fails the day somebody connects another ``post_save`` receiver to one of them, so
the fast path gets taught about it (or the receiver becomes an app signal) instead of silently missing writes.
"""

from __future__ import annotations

import pytest
from django.db.models.signals import post_save

from leads.models import Account, DuplicateReview, Lead
from revops.base.models import Notification, PendingJob
from routing.models import RoutingDecision, RoutingPointer, Task
from scoring.models import ScoreChange, ScoreTrigger

# Each model written without save(), and the post_save receivers the fast path accounts for (it writes their work).
HISTORY = "simple_history.models.HistoricalRecords.post_save"
FAST_PATH_MODELS = {
    Lead: {HISTORY},
    Account: {HISTORY},
    DuplicateReview: {HISTORY},
    Notification: {HISTORY},
    PendingJob: set(),
    Task: {HISTORY},
    RoutingDecision: set(),
    RoutingPointer: set(),
    ScoreChange: set(),
    ScoreTrigger: set(),
}


def _receiver_names(model) -> set[str]:
    sync_receivers, async_receivers = post_save._live_receivers(model)
    names = set()
    for receiver in [*sync_receivers, *async_receivers]:
        function = getattr(receiver, "__func__", receiver)
        names.add(f"{function.__module__}.{function.__qualname__}")
    return names


@pytest.mark.parametrize("model", list(FAST_PATH_MODELS), ids=lambda m: m.__name__)
def test_only_the_receivers_the_fast_path_accounts_for_listen_to_post_save(model) -> None:
    assert _receiver_names(model) == FAST_PATH_MODELS[model]
