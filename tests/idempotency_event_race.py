"""Ten threads POST one engagement event with one ``Idempotency-Key`` (header, or body field) at the same moment,
against a SQLite file database (the test session's in-memory SQLite cannot be shared between threads). Run by
tests/test_api_idempotency_events.py as ``python -m tests.idempotency_event_race DIR header|body``; prints the
answers (status, body) and the number of events as JSON."""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{sys.argv[1]}/race.sqlite3"
os.environ["LEADFLOW_DEFAULTS_ON_MIGRATE"] = "false"

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from leads.models import Lead, LeadEvent  # noqa: E402
from revops.base.roles import ROLE_INTEGRATION  # noqa: E402
from tests.idempotency_event_posts import concurrent_event_posts  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("racer", password="pw")  # noqa: S106 - a throwaway database
    user.groups.add(Group.objects.get(name=ROLE_INTEGRATION))
    token = Token.objects.create(user=user).key
    Lead.objects.create(email="race@x.example")
    connection.close()
    answers = concurrent_event_posts(token, mode=sys.argv[2])
    print(json.dumps({"answers": answers, "events": LeadEvent.objects.count()}))


if __name__ == "__main__":
    main()
