"""The HTTP enrichment provider fetches http(s) only, with a bounded timeout and a bounded answer size."""

import pytest

from leads.models import EnrichmentProvider
from leads.services import enrichment, lead_ingest
from leads.services.enrichment import EnrichmentError, HttpJsonProvider
from tests.leads.test_enrichment import api  # noqa: F401 - the local firmographics server fixture

pytestmark = pytest.mark.django_db


def _provider(url_template: str, **extra) -> HttpJsonProvider:
    config = EnrichmentProvider.objects.create(name="P", kind=EnrichmentProvider.KIND_HTTP, url_template=url_template,
                                               retries=0, field_map={"company": "company.name"}, **extra)
    return HttpJsonProvider(config)


def test_a_file_url_is_refused_and_nothing_is_read(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text('{"company": {"name": "leaked"}}')
    lead = lead_ingest(data={"email": "f@initech.example"}, pipeline=False).lead
    with pytest.raises(EnrichmentError, match="http:// or https://"):
        _provider(f"file://{secret}?d={{domain}}").lookup(lead)


def test_an_answer_over_the_size_cap_is_refused(api, settings):  # noqa: F811
    settings.LEADFLOW_ENRICHMENT_MAX_BYTES = 10
    lead = lead_ingest(data={"email": "s@initech.example"}, pipeline=False).lead
    with pytest.raises(EnrichmentError, match="larger than 10 bytes"):
        _provider(api.url + "/companies?domain={domain}").lookup(lead)


def test_the_timeout_is_capped(api, settings, monkeypatch):  # noqa: F811
    settings.LEADFLOW_ENRICHMENT_MAX_TIMEOUT = 3
    seen = []
    provider = _provider(api.url + "/companies?domain={domain}", timeout_seconds=3600)
    real_open = enrichment._OPENER.open

    def spy(request, timeout):
        seen.append(timeout)
        return real_open(request, timeout=timeout)

    monkeypatch.setattr(enrichment._OPENER, "open", spy)
    lead = lead_ingest(data={"email": "t@initech.example"}, pipeline=False).lead
    assert provider.lookup(lead).found == {"company": "Initech"}
    assert seen == [3]
