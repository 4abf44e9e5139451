"""The rep's channel preference: their own settings page in the workspace and the admin's checkboxes."""

import pytest
from django.contrib.auth.models import User

from routing.models import Rep

pytestmark = pytest.mark.django_db


def test_a_rep_chooses_email_and_teams_on_their_settings_page(client, reps):
    client.force_login(reps[0].user)
    page = client.get("/workspace/settings/")
    assert page.status_code == 200 and b'value="slack_dm" ' in page.content.replace(b"checked", b"")
    answer = client.post("/workspace/settings/", {"notify_via": ["email", "teams"]})
    assert answer.status_code == 302
    rep = Rep.objects.get(pk=reps[0].pk)
    assert rep.notify_via == "email, teams"
    assert rep.history.first().history_change_reason == "notification channels set by the rep: email, teams"
    assert rep.history.first().history_user == reps[0].user


def test_an_unknown_channel_is_refused_with_the_field_named_and_nothing_saved(client, reps):
    client.force_login(reps[0].user)
    answer = client.post("/workspace/settings/", {"notify_via": ["pigeon"]})
    assert answer.status_code == 400 and b"notify_via" in answer.content
    assert Rep.objects.get(pk=reps[0].pk).notify_via == "slack_dm"


def test_no_channel_at_all_is_refused(client, reps):
    client.force_login(reps[0].user)
    assert client.post("/workspace/settings/", {}).status_code == 400


def test_a_user_who_is_no_rep_has_no_settings_page(client, revops_admin):
    client.force_login(revops_admin)
    assert client.get("/workspace/settings/").status_code == 404


def test_the_admin_sets_a_reps_channels_with_checkboxes(client, reps):
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    page = client.get(f"/admin/routing/rep/{reps[0].pk}/change/")
    assert page.status_code == 200 and b'name="notify_via" value="team_channel"' in page.content
