"""Website forms: POST /api/forms/<key>/submit — intake through the normal pipeline, field errors, honeypot, consent,
rate limits, CORS per form, the admin's snippet."""

import pytest
from rest_framework.test import APIClient

from leads.choices import Consent
from leads.models import Lead, WebForm, WebFormSubmission
from leads.webform_snippet import webform_snippet
from routing.models import Task

pytestmark = pytest.mark.django_db

ORIGIN = "https://www.acme-site.example"


@pytest.fixture
def form(db) -> WebForm:
    return WebForm.objects.create(name="Contact us", key="contact-form-1", allowed_origins=f"{ORIGIN}\n",
                                  fields=["first_name", "last_name", "email", "company", "country", "title"],
                                  consent_text="Yes, Acme may contact me about its products.", source="website")


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def url(form: WebForm) -> str:
    return f"/api/forms/{form.key}/submit"


def test_a_json_submission_creates_the_lead_and_records_consent_with_the_forms_text_and_time(client, form):
    response = client.post(url(form), {"first_name": "Grace", "last_name": "Hopper", "email": "Grace@Navy.example",
                                       "company": "Navy", "consent": "yes"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"status": "received"}
    lead = Lead.objects.get(email="grace@navy.example")
    assert (lead.first_name, lead.source, lead.consent) == ("Grace", "website", Consent.OPT_IN)
    submission = WebFormSubmission.objects.get()
    assert submission.lead == lead and submission.action == "created" and submission.consent_given
    assert submission.consent_text == "Yes, Acme may contact me about its products."
    assert submission.consented_at is not None


def test_a_form_encoded_submission_goes_through_the_pipeline_to_a_rep(client, form, configured, inline_jobs,
                                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(form), "first_name=Ada&last_name=Lovelace&email=ada%40engine.example"
                               "&country=US&title=VP+Engineering", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(email="ada@engine.example")
    assert lead.scored_at is not None and lead.owner is not None
    assert Task.objects.filter(lead=lead, assignee=lead.owner).exists()
    assert lead.consent == Consent.UNKNOWN  # no box ticked: consent is not invented


def test_field_errors_are_json_per_field_and_nothing_is_written(client, form):
    response = client.post(url(form), {"email": "not-an-email", "first_name": "A" * 5000}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "first_name" in body and isinstance(body["first_name"], list)
    response = client.post(url(form), {"email": "not-an-email"}, format="json")
    assert response.status_code == 400 and "email" in response.json()
    response = client.post(url(form), {"first_name": "No contact"}, format="json")
    assert response.status_code == 400 and "email" in response.json()
    assert not Lead.objects.exists() and not WebFormSubmission.objects.exists()


def test_a_form_that_requires_consent_names_the_consent_field(client, form):
    form.consent_required = True
    form.save()
    response = client.post(url(form), {"email": "x@y.example"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["consent"]
    assert not Lead.objects.exists()


def test_a_renamed_field_is_mapped_and_its_error_uses_the_pages_name(client, form):
    form.field_mapping = {"work_email": "email"}
    form.save()
    response = client.post(url(form), {"work_email": "nope"}, format="json")
    assert response.status_code == 400 and "work_email" in response.json()
    response = client.post(url(form), {"work_email": "lin@corp.example", "unexpected": "ignored"}, format="json")
    assert response.status_code == 201
    lead = Lead.objects.get(email="lin@corp.example")
    assert "unexpected" not in lead.custom


def test_a_filled_honeypot_answers_like_success_and_stores_nothing(client, form):
    response = client.post(url(form), {"email": "bot@spam.example", form.honeypot_field: "http://spam.example"},
                           format="json")
    assert response.status_code == 201 and response.json() == {"status": "received"}
    assert not Lead.objects.exists() and not WebFormSubmission.objects.exists()


def test_an_unknown_or_switched_off_form_is_a_json_404(client, form):
    assert client.post("/api/forms/no-such-form/submit", {"email": "a@b.example"}, format="json").json()["code"] \
        == "not_found"
    form.active = False
    form.save()
    response = client.post(url(form), {"email": "a@b.example"}, format="json")
    assert response.status_code == 404 and not Lead.objects.exists()


def test_a_plain_form_post_goes_on_to_the_success_page(client, form):
    form.success_url = "https://www.acme-site.example/thanks"
    form.save()
    response = client.post(url(form), "email=plain%40post.example", content_type="application/x-www-form-urlencoded",
                           HTTP_ACCEPT="text/html")
    assert response.status_code == 303 and response["Location"] == "https://www.acme-site.example/thanks"
    assert Lead.objects.filter(email="plain@post.example").exists()


def test_submissions_are_limited_per_ip_address(client, form, settings):
    settings.LEADFLOW_WEBFORM_RATE_IP = "2/minute"
    codes = [client.post(url(form), {"email": f"p{i}@ip.example"}, format="json", REMOTE_ADDR="203.0.113.7")
             .status_code for i in range(3)]
    assert codes == [201, 201, 429]
    assert client.post(url(form), {"email": "other@ip.example"}, format="json",
                       REMOTE_ADDR="203.0.113.8").status_code == 201
    assert Lead.objects.count() == 3


def test_submissions_are_limited_per_form_across_addresses(client, form, settings):
    settings.LEADFLOW_WEBFORM_RATE_FORM = "2/minute"
    codes = [client.post(url(form), {"email": f"f{i}@form.example"}, format="json", REMOTE_ADDR=f"198.51.100.{i}")
             .status_code for i in range(3)]
    assert codes == [201, 201, 429]
    response = client.post(url(form), {"email": "late@form.example"}, format="json", REMOTE_ADDR="198.51.100.99")
    assert response.status_code == 429 and response.json()["code"] == "throttled"


def preflight(client, path: str, origin: str):
    return client.options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                          HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type")


def test_cors_allows_only_the_forms_own_origins(client, form):
    other = WebForm.objects.create(name="Other", key="other-form-2", allowed_origins="https://other.example")
    allowed = preflight(client, url(form), ORIGIN)
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN
    assert "content-type" in allowed["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Origin" not in preflight(client, url(form), "https://evil.example")
    assert "Access-Control-Allow-Origin" not in preflight(client, url(other), ORIGIN)  # another form's list
    assert "Access-Control-Allow-Origin" not in preflight(client, "/api/leads/", ORIGIN)  # forms only
    post = client.post(url(form), {"email": "cors@ok.example"}, format="json", HTTP_ORIGIN=ORIGIN)
    assert post.status_code == 201 and post["Access-Control-Allow-Origin"] == ORIGIN
    refused = client.post(url(form), {"email": "cors@no.example"}, format="json", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused
    assert WebFormSubmission.objects.get(lead__email="cors@ok.example").origin == ORIGIN


def test_origins_must_be_plain_origins(form):
    from django.core.exceptions import ValidationError

    form.allowed_origins = "https://ok.example\nhttps://bad.example/path\nftp://x.example"
    with pytest.raises(ValidationError) as error:
        form.full_clean()
    assert "allowed_origins" in error.value.message_dict
    form.allowed_origins = "https://ok.example"
    form.fields = ["email", "password"]
    with pytest.raises(ValidationError) as error:
        form.full_clean()
    assert "fields" in error.value.message_dict


def test_the_snippet_posts_to_the_form_with_its_fields_honeypot_and_escaped_consent(form):
    form.consent_text = 'I agree to <b>"terms"</b>'
    snippet = webform_snippet(form, base_url="https://leads.acme.example/")
    assert 'action="https://leads.acme.example/api/forms/contact-form-1/submit"' in snippet
    for column in form.fields:
        assert f'name="{column}"' in snippet
    assert f'name="{form.honeypot_field}"' in snippet and 'name="consent"' in snippet
    assert "&lt;b&gt;&quot;terms&quot;&lt;/b&gt;" in snippet and "<b>" not in snippet
    assert "fetch(form.action" in snippet


def test_the_admin_page_of_a_form_shows_its_snippet(client, form, revops_admin):
    client.force_login(revops_admin)
    page = client.get(f"/admin/leads/webform/{form.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="webform-snippet"' in html and "/api/forms/contact-form-1/submit" in html
