"""The incremental feed a warehouse syncs from: ``?updated_since=<ISO time>`` or ``?cursor=<token>`` on a list
endpoint (leads, events, tasks, routing decisions, score changes; README "Syncing a warehouse").

Rows come ordered by ``(<time field>, id)`` — ``updated_at`` for rows that change, ``created_at`` (``at``) for rows
that are only appended — and a page ends with an opaque ``cursor``: the position after its last row. Asking again
with that cursor returns exactly the rows after it, so rows changed at the same instant are neither missed nor
repeated across pages, and a row changed again later comes back once more with its new time.

Rows younger than ``LEADFLOW_FEED_SETTLE_SECONDS`` are held back: a transaction still running may commit a row whose
time is a little earlier than rows already returned, and a cursor past it would skip it.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .boundary import BoundaryError, datetime_utc

FEED_PARAMETERS = ("updated_since", "cursor")


def feed_requested(request) -> bool:
    """Whether the request asks for the feed (``updated_since`` or ``cursor``) rather than the plain list."""
    return any(name in request.query_params for name in FEED_PARAMETERS)


def cursor_encode(at: datetime, pk: int) -> str:
    raw = json.dumps([at.astimezone(UTC).isoformat(), pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(token: str) -> tuple[datetime, int]:
    """The position a cursor names; a 400 naming ``cursor`` for anything this feed did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        text, pk = json.loads(raw)
        at = datetime.fromisoformat(text)
        if not isinstance(pk, int) or isinstance(pk, bool) or at.tzinfo is None or not 0 <= pk < 2**63:
            raise ValueError(token)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise exceptions.ValidationError(
            {"cursor": ["not a cursor this feed gave; start again with updated_since"]}) from None
    return at, pk


def since_parse(raw: str) -> datetime:
    """``updated_since`` as an aware time (no offset: UTC); a 400 naming the parameter when it is not one."""
    try:
        at = parse_datetime(raw.strip().replace(" ", "+", 1) if raw.count(" ") == 1 else raw.strip())
    except ValueError:
        at = None
    if at is None:
        raise exceptions.ValidationError({"updated_since": ["an ISO 8601 time, e.g. 2026-01-31T08:00:00Z"]})
    try:
        return datetime_utc(at if timezone.is_aware(at) else at.replace(tzinfo=UTC), field="updated_since")
    except BoundaryError:
        raise exceptions.ValidationError({"updated_since": ["a time between the years 1 and 9999"]}) from None


def feed_limit(request) -> int:
    """``limit`` (default the API's page size, at most ``LEADFLOW_API_MAX_PAGE_SIZE``); a 400 when not a number."""
    raw = request.query_params.get("limit", "")
    default = int(settings.REST_FRAMEWORK.get("PAGE_SIZE", 50))
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise exceptions.ValidationError({"limit": ["must be a whole number"]})
    return min(max(int(raw), 1), int(getattr(settings, "LEADFLOW_API_MAX_PAGE_SIZE", 500)))


def feed_page(request, queryset: QuerySet, *, field: str) -> tuple[list, str, bool]:
    """One page of the feed over ``queryset`` ordered by ``(field, id)``: the rows, the cursor after the last one
    (the one given when there are none) and whether more rows wait."""
    cursor = request.query_params.get("cursor")
    if cursor:
        at, pk = cursor_decode(cursor)
        queryset = queryset.filter(Q(**{f"{field}__gt": at}) | Q(**{field: at, "pk__gt": pk}))
    elif "updated_since" in request.query_params:
        at, pk = since_parse(request.query_params["updated_since"]), 0
        queryset = queryset.filter(**{f"{field}__gte": at})
    else:
        at, pk = datetime(1970, 1, 1, tzinfo=UTC), 0
    settle = float(getattr(settings, "LEADFLOW_FEED_SETTLE_SECONDS", 10))
    if settle > 0:
        queryset = queryset.filter(**{f"{field}__lte": timezone.now() - timedelta(seconds=settle)})
    limit = feed_limit(request)
    rows = list(queryset.order_by(field, "pk")[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if rows:
        at, pk = getattr(rows[-1], field), rows[-1].pk
    return rows, cursor_encode(at, pk), more


def feed_response(request, queryset: QuerySet, *, field: str, serializer_class, context: dict | None = None
                  ) -> Response:
    """The feed's answer: ``{"results": [...], "cursor": token, "next": url or null}`` (``next`` when a full page
    leaves more rows; keep ``cursor`` to ask again later)."""
    rows, cursor, more = feed_page(request, queryset, field=field)
    url = request.build_absolute_uri()
    next_url = None
    if more:
        next_url = replace_query_param(url, "cursor", cursor)
        next_url = remove_query_param(next_url, "updated_since")
    data = serializer_class(rows, many=True, context=context or {"request": request}).data
    return Response({"results": data, "cursor": cursor, "next": next_url})

