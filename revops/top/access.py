"""Who may open the workspace and the dashboards (``revops.base.roles``); which objects they then see is the
scoping functions' answer (``routing/scoping.py``).

An Integration or Data reader account is refused here even when it has a password and a session: those roles
speak to the API only.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.urls import URLPattern
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns

from revops.base.roles import is_revops_admin, may_see_dashboards, may_use_workspace


def _role_required(check, refusal: str):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


workspace_user_required = _role_required(may_use_workspace, "the workspace is for reps, managers and RevOps admins")
dashboard_user_required = _role_required(may_see_dashboards, "the dashboards are for managers and RevOps admins")
revops_admin_required = _role_required(is_revops_admin, "the RQ dashboard is for RevOps admins")


def django_rq_urls() -> tuple[list[URLPattern], str]:
    """The RQ dashboard's URLs (``/django-rq/``: empty queues, delete or requeue jobs, the Redis host in its stats),
    every one for RevOps admins only — django-rq itself lets any staff user in, managers included."""
    api = [URLPattern(p.pattern, revops_admin_required(p.callback), p.default_args, p.name)
           for p in get_api_urlpatterns()]
    return api + get_admin_urlpatterns(view_wrapper=revops_admin_required), "django_rq"
