"""Every page carries Leadflow's icon in its head (an inline SVG), so a browser asks for no /favicon.ico: the admin,
the workspace, the styled error pages and the public unsubscribe page."""

from urllib.parse import urlsplit

import pytest
from django.test import override_settings

from leads.services.unsubscribe import unsubscribe_link
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db
ICON = '<link rel="icon" href="data:image/svg+xml,'


def test_every_kind_of_page_has_the_icon(client, revops_admin):
    client.force_login(revops_admin)
    admin_page = client.get("/admin/").content.decode()
    assert ICON in admin_page and "Leadflow administration</a>" in admin_page  # the admin's own branding kept
    assert ICON in client.get("/admin/leads/lead/").content.decode()
    assert ICON in client.get("/workspace/").content.decode()
    with override_settings(DEBUG=False):
        missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and ICON in missing.content.decode()
    client.logout()
    assert ICON in client.get("/admin/login/").content.decode()
    lead = make_lead(email="icon@example.com")
    page = client.get(urlsplit(unsubscribe_link(lead.pk)).path)
    assert page.status_code == 200 and ICON in page.content.decode()
