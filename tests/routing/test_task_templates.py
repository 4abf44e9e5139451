"""Task templates by source × band × stage: the most specific wins, the lead's fields are filled in, the follow-up
task takes its title, the lead page shows the script and the first e-mail, a template with an unknown field is
refused."""

import pytest
from django.core.exceptions import ValidationError

from routing.models import RoutingDecision, TaskTemplate
from routing.services import task_create_for_decision, task_template_for, task_template_render, template_fill
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def templates():
    return {
        "any": TaskTemplate.objects.create(name="Any", title="Follow up {full_name}"),
        "hot": TaskTemplate.objects.create(name="Hot", band="A", title="Call {first_name} at {company} now",
                                           call_script="Hi {first_name}, {owner_first_name} here.",
                                           email_subject="{company}", email_body="Dear {first_name}"),
        "webinar": TaskTemplate.objects.create(name="Webinar", source="webinar", band="A",
                                               title="Webinar: {first_name}"),
    }


def test_the_most_specific_template_wins(templates):
    assert task_template_for(source="webform", band="A", stage="mql") == templates["hot"]
    assert task_template_for(source="webinar", band="A", stage="mql") == templates["webinar"]
    assert task_template_for(source="webform", band="C", stage="mql") == templates["any"]


def test_fields_are_filled_once_and_unknown_placeholders_stay():
    values = {"first_name": "{company}", "company": "Acme"}
    assert template_fill("Hi {first_name} of {company}, {nope}", values) == "Hi {company} of Acme, {nope}"


def test_the_follow_up_task_takes_the_templates_title_and_the_page_shows_the_script(templates, reps, client):
    lead = make_lead(first_name="Ann", company="Acme", band="A", source="webform", owner=reps[0].user)
    decision = RoutingDecision.objects.create(lead=lead, rep=reps[0], owner=reps[0].user, summary="to rita")
    task = task_create_for_decision(decision_id=decision.pk)
    assert task.title == "Call Ann at Acme now"
    rendered = task_template_render(lead, owner_first_name="Rita")
    assert rendered.call_script == "Hi Ann, Rita here." and rendered.email_subject == "Acme"
    client.force_login(reps[0].user)
    body = client.get(f"/workspace/leads/{lead.pk}/").content.decode()
    assert "Hi Ann, Rita here." in body and "Dear Ann" in body


def test_a_template_with_an_unknown_field_is_refused():
    template = TaskTemplate(name="Bad", title="Call {first_nam}")
    with pytest.raises(ValidationError, match="first_nam"):
        template.full_clean()
