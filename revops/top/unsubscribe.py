"""The page behind the unsubscribe link of Leadflow's e-mails to leads (``leads/services/unsubscribe.py``).

Public (the person has no login). The link opens a page with one button: a GET never unsubscribes, so a mail
scanner that follows links does not opt anybody out; the button's POST records the unsubscribe and says so. The same
address is the e-mail's ``List-Unsubscribe`` header: a mail client's unsubscribe button posts
``List-Unsubscribe=One-Click`` to it (RFC 8058) without a page or a CSRF token, which is why the view takes a POST
without one. The signed token in the address is the proof; a forged token answers 404 without saying whether the
lead exists.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leads.services import unsubscribe_confirm, unsubscribe_lead


def _masked(email: str) -> str:
    """a***@example.com: the person recognises their address; a forwarded link does not show it whole."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else ""


@csrf_exempt  # the signed token is the credential; a one-click POST comes from the mail provider, with no form
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    lead = unsubscribe_lead(token)
    if lead is None:
        return render(request, "unsubscribe/page.html", {"state": "unknown"}, status=404)
    if request.method == "POST":
        unsubscribe_confirm(lead)
        return render(request, "unsubscribe/page.html", {"state": "done", "email": _masked(lead.email)})
    state = "already" if lead.consent == "opt_out" else "ask"
    return render(request, "unsubscribe/page.html", {"state": state, "email": _masked(lead.email)})
