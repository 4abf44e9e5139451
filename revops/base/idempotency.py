"""``Idempotency-Key`` for the API's writes, with the rules Stripe documents.

1. The key is scoped to the client (the authenticated user behind the token or session) and the endpoint: two
   clients may use the same key without meeting.
2. The first request claims the key (a row committed before the request runs) and stores the SHA-256 of its body.
3. A repeat with the same body gets the first answer again (header ``Idempotent-Replayed: true``) and writes nothing.
   A repeat with another body gets 422. A repeat while the first request still runs waits for its answer (up to
   ``LEADFLOW_IDEMPOTENCY_WAIT_SECONDS``, default 10) and replays it: two concurrent deliveries of one event both
   get the first event; only a first request still running after the wait makes the repeat a 409.
4. Only answers below 500 are stored: after a 5xx (or an exception) the claim is released and a retry runs again.
5. Keys expire after ``LEADFLOW_IDEMPOTENCY_TTL_HOURS`` (default 24): an expired key counts as new. Expired rows of
   the client are deleted when it claims a new key.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .boundary import text_problem
from .models import ApiIdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value):
    """The answer as the database can keep it: a 400 may quote the refused text back (a NUL, a lone surrogate),
    which PostgreSQL's JSON cannot hold; such characters are kept as U+FFFD in the stored copy (the client's first
    answer is unchanged)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


def idempotency_ttl() -> timedelta:
    """How long a key is remembered."""
    return timedelta(hours=float(getattr(settings, "LEADFLOW_IDEMPOTENCY_TTL_HOURS", 24)))


def idempotency_wait() -> float:
    """How long a repeat waits for the answer of a first request that still runs."""
    return float(getattr(settings, "LEADFLOW_IDEMPOTENCY_WAIT_SECONDS", 10))


def _claim_or_wait(*, user, endpoint: str, key: str, body_hash: str) -> ApiIdempotencyKey | None:
    """``_claim``, waiting while the holder of the key still runs: None when this request claimed the key, else the
    earlier request's row — answered, or still running after the wait (409), or of another body (422)."""
    deadline = time.monotonic() + idempotency_wait()
    delay = 0.02
    while True:
        stored = _claim(user=user, endpoint=endpoint, key=key, body_hash=body_hash)
        if stored is None or stored.status_code is not None or stored.request_hash != body_hash:
            return stored
        if time.monotonic() >= deadline:
            return stored
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def _error(status: int, code: str, detail: str) -> Response:
    return Response({"detail": detail, "code": code}, status=status)


def _claim(*, user, endpoint: str, key: str, body_hash: str) -> ApiIdempotencyKey | None:
    """Claim the key for this request: None when claimed, else the row of the earlier request that holds it."""
    cutoff = timezone.now() - idempotency_ttl()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                ApiIdempotencyKey.objects.create(user=user, endpoint=endpoint, key=key, request_hash=body_hash)
            ApiIdempotencyKey.objects.filter(user=user, created_at__lt=cutoff).delete()
            return None
        except IntegrityError:
            stored = ApiIdempotencyKey.objects.filter(user=user, endpoint=endpoint, key=key).first()
            if stored is None:
                continue  # released (a 5xx) between our insert and our read: try to claim it again
            if stored.created_at < cutoff:
                ApiIdempotencyKey.objects.filter(pk=stored.pk, created_at__lt=cutoff).delete()
                continue
            return stored
    return ApiIdempotencyKey.objects.filter(user=user, endpoint=endpoint, key=key).first()


def idempotent(endpoint: str, *, replayed=None):
    """Decorate a DRF handler ``(self, request, ...)`` so an ``Idempotency-Key`` header means what it says.

    ``replayed(data, status) -> (data, status)`` may reshape a replayed answer (events say ``"duplicate": true``).
    """

    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(self, request, *args, **kwargs):
            key = (request.headers.get(HEADER) or "").strip()
            if not key:
                return handler(self, request, *args, **kwargs)
            if len(key) > MAX_KEY_LENGTH or text_problem(key):
                return _error(400, "invalid_idempotency_key",
                              f"{HEADER} must be at most {MAX_KEY_LENGTH} characters of valid text")
            body_hash = hashlib.sha256(request.body).hexdigest()
            stored = _claim_or_wait(user=request.user, endpoint=endpoint, key=key, body_hash=body_hash)
            if stored is not None:
                if stored.request_hash != body_hash:
                    return _error(422, "idempotency_key_reused",
                                  f"this {HEADER} was used with another request body; use a new key")
                if stored.status_code is None:
                    return _error(409, "idempotency_key_in_use",
                                  f"a request with this {HEADER} is still running; retry later")
                data, status = stored.response, stored.status_code
                if replayed is not None:
                    data, status = replayed(data, status)
                response = Response(data, status=status)
                response["Idempotent-Replayed"] = "true"
                return response
            claim = ApiIdempotencyKey.objects.filter(user=request.user, endpoint=endpoint, key=key)
            try:
                try:
                    response = handler(self, request, *args, **kwargs)
                except Exception as exc:
                    # A 4xx raised by the handler (a ValidationError) is an answer like any other; the view's
                    # handler re-raises anything else.
                    response = self.handle_exception(exc)
            except BaseException:
                claim.delete()
                raise
            if response.status_code >= 500:
                claim.delete()
            else:
                claim.update(status_code=response.status_code,
                             response=_storable(json.loads(JSONRenderer().render(response.data))))
            return response

        return wrapper

    return decorator
