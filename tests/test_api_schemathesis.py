"""Generated input against the OpenAPI schema (schemathesis): every operation, with each role's token and without
one; no answer may be a 5xx, and every answer must match what the schema documents. Reports its count of cases."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from leads.services import lead_ingest
from tests.conftest import _user

pytestmark = pytest.mark.django_db(transaction=True)

# Bounded so the suite stays quick: examples per operation and role.
EXAMPLES_PER_OPERATION = 10
ROLES = ("RevOps admin", "Sales manager", "Sales rep", "Integration", None)
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture
def schema(settings, configured):
    settings.LEADFLOW_API_RATE_CLIENT = ""
    settings.LEADFLOW_API_RATE_ANONYMOUS = ""
    lead_ingest(data={"email": "known@x.example", "first_name": "Known"}, pipeline=False)
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


def _runner(operation, role, headers: dict, failures: list[str], mode: GenerationMode):
    """A hypothesis test of one operation as one role; ``count`` says how many cases it ran."""

    @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        run.count += 1
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected to report every operation at once
            failures.append(f"{case.method} {case.path} as {role}: {str(exc)[:600]}")

    run.count = 0
    return run


def test_generated_requests_get_no_5xx_and_answers_match_the_schema(schema, capsys):
    tokens = {role: Token.objects.create(user=_user(f"user-{i}", role)).key if role else None
              for i, role in enumerate(ROLES)}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    cases = 0
    failures: list[str] = []
    for operation in operations:
        for role, token in tokens.items():
            # Valid input as the schema describes it, and input that breaks it (which must be a 4xx, never a 5xx).
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                run = _runner(operation, role, {"Authorization": f"Token {token}"} if token else {}, failures, mode)
                run()
                cases += run.count
    with capsys.disabled():
        print(f"\nschemathesis: {cases} generated cases over {len(operations)} operations, {len(ROLES)} roles, "
              "valid and invalid input")
    assert not failures, "\n".join(failures[:20])
