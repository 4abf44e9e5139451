"""The bulk pipeline gives every lead what it would get arriving alone: score, owner, task, message."""

import pytest

from leads.bulk import leads_import_bulk
from leads.models import Lead
from revops.jobs import jobs_inline
from revops.models import Notification
from routing.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def test_bulk_import_scores_routes_and_tasks_every_created_lead(configured, slack):
    names = ["Ada", "Grace", "Linus", "Ken", "Barbara", "Edsger", "Donald", "Frances", "Alan", "Margaret", "Dennis",
             "Radia"]
    rows = [(n + 2, {"email": f"p{n}@acme{n % 3}.example", "first_name": names[n], "last_name": f"Surname{n * 7}",
                     "country": "US", "title": "VP Sales", "employees": "300", "industry": "SaaS"})
            for n in range(12)]
    rows.append((14, {"email": "P0@ACME0.example", "title": "CEO"}))  # the first person again: merged
    rows.append((15, {"email": "broken"}))
    seen = []
    with jobs_inline():
        report = leads_import_bulk(rows, source="csv", batch_size=5, on_batch=lambda r: seen.append(r.rows))
    assert report.counts == {"created": 12, "merged": 1, "rejected": 1}
    assert seen == [5, 10, 14]
    assert report.errors[0].row == 15
    leads = Lead.objects.live()
    assert leads.count() == 12
    assert all(lead.score == 35 and lead.owner_id for lead in leads)
    assert Task.objects.count() == 12
    assert Notification.objects.filter(status="sent").count() == 12 == len(slack.messages)
    lead = leads.get(email="p1@acme1.example")
    reasons = [h.history_change_reason for h in lead.history.all()]
    assert "bulk import" in reasons and any(r and r.startswith("automation:routing") for r in reasons)
