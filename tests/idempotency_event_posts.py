"""Ten threads post one engagement event with one ``Idempotency-Key`` at the same moment: the helper of
tests/test_api_idempotency_events.py (on PostgreSQL in the test process, on a SQLite file through
tests/idempotency_event_race.py). Importing it has no side effect."""

import threading

from django.db import connection
from rest_framework.test import APIClient

EVENT = {"email": "race@x.example", "type": "page_view", "occurred_at": "2026-01-01T00:00:00Z"}


def concurrent_event_posts(token: str, *, mode: str, count: int = 10) -> list[tuple[int, dict]]:
    """``count`` threads post the same event with the same key at once; their (status, body) answers."""
    answers: list[tuple[int, dict]] = []
    barrier = threading.Barrier(count)

    def post() -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            body = dict(EVENT, idempotency_key="race") if mode == "body" else EVENT
            headers = {"HTTP_IDEMPOTENCY_KEY": "race"} if mode == "header" else {}
            barrier.wait()
            response = client.post("/api/events/", body, format="json", **headers)
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
