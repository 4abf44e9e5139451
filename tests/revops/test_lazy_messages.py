"""The messages middleware makes a request's storage only when the request uses it: an API request builds none; the
admin's messages are shown after its redirect as before."""

import pytest
from django.contrib.messages import get_messages

from leads.models import IndustryTerm
from revops.base import web_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def storages_made(monkeypatch):
    """The paths of the requests whose message storage was made."""
    made = []
    original = web_messages.default_storage

    def counting(request):
        made.append(request.path)
        return original(request)

    monkeypatch.setattr(web_messages, "default_storage", counting)
    return made


def test_an_api_request_builds_no_message_storage(api_client, storages_made):
    response = api_client.post("/api/leads/", {"email": "kim@lazy.example", "first_name": "Kim"}, format="json")
    assert response.status_code == 201, response.content
    assert storages_made == []
    assert "messages" not in response.cookies


def test_the_admins_message_is_stored_and_shown_after_its_redirect(client, revops_admin, storages_made):
    client.force_login(revops_admin)
    saved = client.post("/admin/leads/industryterm/add/", {"synonym": "Fintech", "canonical": "Finance"})
    assert saved.status_code == 302, saved.content[:2000]
    assert IndustryTerm.objects.filter(synonym__iexact="fintech").exists()
    assert "/admin/leads/industryterm/add/" in storages_made  # the message made the storage
    listing = client.get(saved.url)
    shown = [str(message) for message in get_messages(listing.wsgi_request)]
    assert any("was added successfully" in text for text in shown), shown
    assert "was added successfully" in listing.content.decode()
