"""Ten threads POST with one ``Idempotency-Key`` at the same moment, against a SQLite file database (the test
session's in-memory SQLite cannot be shared between threads). Run as ``python -m tests.idempotency_race DIR MODE``:

- ``lead`` (tests/test_api_idempotency.py): one lead; prints the answers' status codes and the number of leads;
- ``header`` or ``body`` (tests/test_api_idempotency_events.py): one engagement event with the key in the header or
  the body; prints the answers (status, body) and the number of events.
"""

import json
import os
import sys
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{sys.argv[1]}/race.sqlite3"
os.environ["LEADFLOW_DEFAULTS_ON_MIGRATE"] = "false"

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from leads.models import Lead, LeadEvent  # noqa: E402
from revops.base.roles import ROLE_INTEGRATION  # noqa: E402
from tests.idempotency_event_posts import concurrent_event_posts  # noqa: E402


def _lead_posts(token: str) -> list[int]:
    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def post() -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            barrier.wait()
            statuses.append(client.post("/api/leads/", {"email": "race@x.example"}, format="json",
                                        HTTP_IDEMPOTENCY_KEY="race").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main(mode: str) -> None:
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("racer", password="pw")  # noqa: S106 - a throwaway database
    user.groups.add(Group.objects.get(name=ROLE_INTEGRATION))
    token = Token.objects.create(user=user).key
    if mode == "lead":
        connection.close()
        statuses = _lead_posts(token)
        print(json.dumps({"statuses": statuses, "leads": Lead.objects.count()}))
        return
    Lead.objects.create(email="race@x.example")
    connection.close()
    answers = concurrent_event_posts(token, mode=mode)
    print(json.dumps({"answers": answers, "events": LeadEvent.objects.count()}))


if __name__ == "__main__":
    main(sys.argv[2])
