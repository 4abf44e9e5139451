"""A fresh install works out of the box: migrate creates the default industry vocabulary and an editable default
scoring model (both marked as defaults), and a lead imported before anyone configured anything is scored and, with no
routing rule yet, queued for review with its reason — without a traceback."""

import pytest
from django.core.management import call_command

from leads.choices import Queue
from leads.models import IndustryTerm, Lead
from revops.top.demo import demo_configuration, demo_users
from scoring.choices import ModelStatus
from scoring.models import ScoringModel

CSV = (
    "first_name,last_name,email,company,title,industry,employees,country\n"
    "Ana,Silva,ana@acme.example,Acme,VP Sales,SaaS,120,United States\n"
    "Ben,Ode,ben@beta.example,Beta,Engineer,Banking,3000,Germany\n"
)


@pytest.fixture
def fresh_migrate(db, settings):
    """What `manage.py migrate` does on a new database: its post_migrate hooks, with the defaults on."""
    settings.LEADFLOW_DEFAULTS_ON_MIGRATE = True
    call_command("migrate", verbosity=0)


def test_migrate_creates_the_default_model_and_vocabulary_marked_as_defaults(fresh_migrate):
    model = ScoringModel.objects.get()
    assert model.is_default and model.status == ModelStatus.ACTIVE and model.segment == "default"
    assert {r.reason_code: r.points for r in model.rules.all()} == {
        "size_50_200": 10, "vp_or_above": 15, "target_industry": 10, "secondary_industry": 5, "demo_request": 30,
        "pricing_visit": 20, "email_open": 1, "unsubscribed": -50}
    assert IndustryTerm.objects.get(synonym="saas").canonical == "Technology"
    assert not IndustryTerm.objects.filter(is_default=False).exists()


def test_migrate_again_changes_nothing_and_keeps_an_admin_s_edits(fresh_migrate, settings):
    term = IndustryTerm.objects.get(synonym="saas")
    term.canonical = "Software"
    term.save()
    call_command("migrate", verbosity=0)
    assert ScoringModel.objects.count() == 1
    assert IndustryTerm.objects.get(synonym="saas").canonical == "Software"


def test_an_install_with_its_own_model_gets_no_default_model(db, settings):
    ScoringModel.objects.create(name="Ours", segment="default", status=ModelStatus.ACTIVE)
    settings.LEADFLOW_DEFAULTS_ON_MIGRATE = True
    call_command("migrate", verbosity=0)
    assert list(ScoringModel.objects.values_list("name", flat=True)) == ["Ours"]


@pytest.mark.django_db(transaction=True)  # the import's jobs run after its commits
def test_a_lead_imported_on_a_fresh_install_is_scored_and_queued_for_review_with_a_reason(
        fresh_migrate, tmp_path, capsys):
    path = tmp_path / "leads.csv"
    path.write_text(CSV)
    call_command("import_leads", str(path), "--sync")
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    ana, ben = Lead.objects.order_by("email")
    assert ana.industry == "Technology" and ben.industry == "Financial Services"
    assert ana.score == 35 and ana.band  # 50–200 employees, VP, target industry
    assert ben.score == 5
    for lead in (ana, ben):
        assert lead.owner_id is None and lead.queue == Queue.REVIEW and lead.queue_reason


def test_the_demo_loads_over_a_fresh_install_and_retires_the_default_model(fresh_migrate):
    demo_configuration(demo_users())
    active = ScoringModel.objects.get(status=ModelStatus.ACTIVE)
    assert active.name == "Standard B2B" and not active.is_default and active.version == 2
    default = ScoringModel.objects.get(is_default=True)
    assert default.status == ModelStatus.RETIRED
    assert IndustryTerm.objects.get(synonym="saas").canonical == "Technology"
