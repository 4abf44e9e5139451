"""Which objects a user may see and act on: one scoping function per object type, reached through this registry.

The functions live where the layers allow them to know teams (``routing/scoping.py``: a lead belongs to a team
through its owner's rep) and are registered in ``RoutingConfig.ready``; the lower layers (the lead admin and API in
``leads/``, the score-change admin in ``scoring/``) call :func:`scoped` without importing upward. A model with no
registered function is visible to RevOps admins only, so a forgotten registration refuses instead of leaking.

Every reader of scoped objects goes through here: the admin's ``get_queryset`` (:class:`ScopedAdminMixin`), the
API's views and the workspace. Reading and writing share the scope: an object outside it is a 404.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

from .roles import is_revops_admin

Scope = Callable[[QuerySet, object], QuerySet]
_SCOPES: dict[str, Scope] = {}


def scope_register(model: type[Model], scope: Scope) -> None:
    """Register ``scope(queryset, user) -> queryset`` as the one rule for ``model``'s objects."""
    _SCOPES[model._meta.label_lower] = scope


def scope_registered(model: type[Model]) -> bool:
    return model._meta.label_lower in _SCOPES


def scoped(queryset: QuerySet, user) -> QuerySet:
    """``queryset`` narrowed to what ``user`` may see (the model's registered scope; unregistered: admins only)."""
    scope = _SCOPES.get(queryset.model._meta.label_lower)
    if scope is not None:
        return scope(queryset, user)
    return queryset if is_revops_admin(user) else queryset.none()


class ScopedAdminMixin:
    """An admin whose changelist, change, delete and history pages (and actions, and the related-object pop-ups)
    show only what the user's scope holds; anything else is a 404. Its foreign keys to scoped models (a lead's
    owner, a task's assignee, a rep's team) offer and accept only what the user's scope holds."""

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and scope_registered(db_field.related_model):
            queryset = self.get_field_queryset(None, db_field, request)
            if queryset is None:
                queryset = db_field.remote_field.model._default_manager.all()
            kwargs["queryset"] = scoped(queryset, request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _in_scope_or_404(self, request, object_id) -> None:
        try:
            visible = self.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, TypeError, ValidationError):
            visible = False
        if not visible:
            raise Http404("no such object")

    def history_view(self, request, object_id, extra_context=None):
        # django-simple-history falls back to the last history row of an object the queryset does not hold (meant
        # for deleted objects): out of scope must stay out of sight.
        self._in_scope_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # One past version (and its "revert" form) is read from the history table, not through get_queryset.
        self._in_scope_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context=extra_context)
