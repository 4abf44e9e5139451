"""The rep's own settings page in the workspace: where their task messages go (Slack DM, the team's channel,
e-mail, Teams, several)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from routing.forms import RepNotifyForm
from routing.models import Rep

from .access import workspace_user_required


@workspace_user_required
def rep_settings(request: HttpRequest) -> HttpResponse:
    rep = Rep.objects.select_related("team", "user").filter(user=request.user).first()
    if rep is None:
        raise Http404("only reps have notification settings")
    form = RepNotifyForm(request.POST if request.method == "POST" else None, instance=rep)
    if request.method == "POST" and form.is_valid():
        rep = form.save(commit=False)
        rep._history_user = request.user
        rep._change_reason = f"notification channels set by the rep: {rep.notify_via}"
        rep.save(update_fields=["notify_via"])
        messages.success(request, "Saved: your new tasks come by " + rep.notify_via.replace("_", " ") + ".")
        return HttpResponseRedirect(reverse("workspace-settings"))
    return render(request, "workspace/settings.html", {"form": form, "rep": rep}, status=400 if form.errors else 200)
