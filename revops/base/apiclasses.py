"""The API classes named in ``REST_FRAMEWORK`` (revops/settings.py): the token authentication, the body parser,
pagination, throttles and the filter backend. Kept apart from ``revops.base.api`` because DRF imports them while
``rest_framework.views`` loads (the models the authentication reads are imported when it first runs).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import authentication, exceptions, throttling
from rest_framework.exceptions import ParseError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser

from .boundary import text_problem

# The largest integer a query parameter may carry (the databases' bigint).
MAX_QUERY_INT = 2**63 - 1


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, the token read with its user in a statement compiled once per process
    (``revops.base.db.sql.rows_compiled_once``: building the query was most of the authentication's cost), and kept
    by the process for ``LEADFLOW_API_TOKEN_CACHE_SECONDS`` (an integration posting forms sends the same token
    hundreds of times a second; the read was a statement of every request). A token deleted, or a user saved (made
    inactive) or given other groups or permissions, is forgotten at once by the process that did it
    (``api_tokens_forget``, revops/base/receivers.py) and by every other process within that time."""

    def authenticate_credentials(self, key):
        seconds = settings.LEADFLOW_API_TOKEN_CACHE_SECONDS
        if seconds > 0:
            kept = _tokens.get(key)
            if kept is not None and kept[0] > time.monotonic():
                return kept[1], kept[2]
        user, token = _token_read(key)
        if seconds > 0:
            if len(_tokens) >= MAX_TOKENS_KEPT:
                _tokens.clear()
            _tokens[key] = (time.monotonic() + seconds, user, token)
        return user, token


MAX_TOKENS_KEPT = 1000
# API token -> (kept until, its user, the token), per process.
_tokens: dict[str, tuple[float, object, object]] = {}


def api_tokens_forget(**kwargs) -> None:
    """Forget every token this process keeps (a receiver: a token deleted, a user or a role's permissions changed)."""
    _tokens.clear()


def _token_read(key: str):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from .db.sql import model_attnames, rows_compiled_once

    rows = rows_compiled_once("api token with its user",
                              lambda: Token.objects.select_related("user").filter(key=""), [key])
    if not rows:
        raise exceptions.AuthenticationFailed(_("Invalid token."))
    token_fields, user_model = model_attnames(Token), get_user_model()
    row = rows[0]
    token = Token.from_db(connection.alias, token_fields, row[:len(token_fields)])
    user = user_model.from_db(connection.alias, model_attnames(user_model), row[len(token_fields):])
    token.user = user
    if not user.is_active:
        raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
    return user, token


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 (not a 500 RecursionError) to a body nested too deeply to parse."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``limit`` and ``offset`` as 400s naming the parameter when they are not integers in range; ``limit`` capped at
    ``LEADFLOW_API_MAX_PAGE_SIZE``."""

    def _parameter(self, request, name: str, default: int | None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_QUERY_INT:
            raise exceptions.ValidationError({name: [f"must be a whole number from 0 to {MAX_QUERY_INT}"]})
        return int(raw)

    def get_limit(self, request):
        self.max_limit = int(getattr(settings, "LEADFLOW_API_MAX_PAGE_SIZE", 500))
        limit = self._parameter(request, self.limit_query_param, self.default_limit)
        if limit is None:
            return None
        return min(max(limit, 1), self.max_limit)

    def get_offset(self, request):
        return self._parameter(request, self.offset_query_param, 0)


class ClientRateThrottle(throttling.UserRateThrottle):
    """Requests per authenticated client (the user behind the token or session): ``LEADFLOW_API_RATE_CLIENT``."""

    scope = "client"

    def get_rate(self):
        return getattr(settings, "LEADFLOW_API_RATE_CLIENT", "1000/minute") or None


class AnonymousRateThrottle(throttling.AnonRateThrottle):
    """Requests per anonymous IP address: ``LEADFLOW_API_RATE_ANONYMOUS``."""

    def get_rate(self):
        return getattr(settings, "LEADFLOW_API_RATE_ANONYMOUS", "60/minute") or None


class BoundedFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing first (400 naming the parameter) a query value holding a NUL character,
    which PostgreSQL cannot compare; the filtersets' own fields then validate types and ranges."""

    def filter_queryset(self, request, queryset, view):
        errors = {name: [problem] for name, value in request.query_params.items()
                  if (problem := text_problem(value))}
        if errors:
            raise exceptions.ValidationError(errors)
        if getattr(view, "strict_query_params", False):
            self._unknown_refused(request, queryset, view)
        return super().filter_queryset(request, queryset, view)

    def _unknown_refused(self, request, queryset, view) -> None:
        """A view with ``strict_query_params``: a parameter it does not know (a typo, a filter it does not have) is a
        400 naming it and listing the known ones, not silently ignored (the whole list would come back)."""
        filterset = self.get_filterset_class(view, queryset)
        known = set(filterset.base_filters) if filterset else set()
        known |= {"format", *getattr(view, "extra_query_params", ())}
        paginator = getattr(view, "paginator", None)
        known |= {getattr(paginator, name) for name in ("limit_query_param", "offset_query_param",
                                                        "page_query_param", "cursor_query_param")
                  if getattr(paginator, name, None)}
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            listed = ", ".join(sorted(known))
            raise exceptions.ValidationError({name[:60]: [f"unknown parameter; known: {listed}"] for name in unknown})
