"""URLs of Leadflow: admin, API, health, the rep workspace and dashboards."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from leads.api.export import LeadExportView
from leads.api.views import EventCreateView, EventDetailView, LeadBulkView
from leads.api.webforms import WebFormSubmitView
from routing.api.views import RoutedLeadViewSet, TaskViewSet
from scoring.api.views import ScoreChangeFeedView

from .base.health import health_view
from .top import (
                  access,
                  dashboards_views,
                  health_views,
                  rep_settings,
                  reports_views,
                  slack_interactivity,
                  unsubscribe,
                  views,
                  workspace,
)
from .top.privacy.api import PersonEraseView, PersonExportView

router = DefaultRouter()
router.register("leads", RoutedLeadViewSet, basename="lead")
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = [
    path("", RedirectView.as_view(url="/workspace/", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="workspace/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="/accounts/login/"), name="logout"),
    path("django-rq/", include(access.django_rq_urls())),
    path("api/leads/bulk/", LeadBulkView.as_view(), name="lead-bulk"),
    path("api/leads/export/", LeadExportView.as_view(), name="lead-export"),
    path("api/events/", EventCreateView.as_view(), name="event-create"),
    re_path(r"^api/forms/(?P<form_key>[A-Za-z0-9_-]{1,64})/submit/?$", WebFormSubmitView.as_view(),
            name="webform-submit"),
    path("api/people/export/", PersonExportView.as_view(), name="person-export"),
    path("api/people/erase/", PersonEraseView.as_view(), name="person-erase"),
    path("api/events/<int:pk>/", EventDetailView.as_view(), name="event-detail"),
    path("api/score-changes/", ScoreChangeFeedView.as_view(), name="score-changes"),
    path("api/", include("routing.api.urls")),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("health/", health_view, name="health"),
    path("unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
    path("slack/interactivity/", slack_interactivity.slack_interactivity, name="slack-interactivity"),
    path("workspace/", workspace.workspace, name="workspace"),
    path("dashboard/", views.dashboard, name="dashboard"),
    *(path(f"dashboard/{slug}/", dashboards_views.dashboard_page, {"page": slug}, name=f"dashboard-{slug}")
      for slug in dashboards_views.PAGES),
    path("workspace/settings/", rep_settings.rep_settings, name="workspace-settings"),
    path("workspace/manager/", workspace.manager_view, name="workspace-manager"),
    path("workspace/manager/tasks/<int:task_id>/reassign/", workspace.manager_reassign, name="manager-reassign"),
    path("workspace/manager/leads/<int:lead_id>/assign/", workspace.manager_assign, name="manager-assign"),
    path("workspace/tasks/<int:task_id>/done/", workspace.task_action, {"action": "complete"}, name="task-done"),
    path("workspace/tasks/<int:task_id>/<str:action>/", workspace.task_action, name="task-action"),
    path("workspace/leads/<int:lead_id>/", workspace.lead_detail, name="workspace-lead"),
    path("workspace/leads/<int:lead_id>/<str:action>/", workspace.lead_action, name="lead-action"),
    path("health/workflows/", health_views.workflow_health, name="workflow-health"),
    path("reports/daily/", reports_views.daily_report, name="report-daily"),
    path("reports/weekly/", reports_views.weekly_report, name="report-weekly"),
]
