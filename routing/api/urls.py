"""Non-CRUD routing operations of the API; included by revops/urls.py before the router (leads/reassign/ would
otherwise be read as a lead id)."""

from django.urls import path

from .views import LeadReassignView, RoutingDecisionFeedView, RoutingUndoView

urlpatterns = [
    path("leads/reassign/", LeadReassignView.as_view(), name="lead-reassign"),
    path("routing/undo/", RoutingUndoView.as_view(), name="routing-undo"),
    path("routing/decisions/", RoutingDecisionFeedView.as_view(), name="routing-decisions"),
]
