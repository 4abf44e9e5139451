"""Configuration as code: export, idempotent import by natural keys, validation with paths, dry-run diff."""

from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from revops.top.config import ConfigError, config_export, config_export_yaml, config_import
from routing.choices import RuleAction
from routing.models import DisqualifyReason, Rep, RoutingRule, SlaPolicy, Team, Territory
from scoring.models import ScoringModel, ScoringRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_config(configured, team):
    """The shared personas plus an overflow team, a draft rule, a VIP rule and SLA policies."""
    backup = Team.objects.create(name="Backup", slack_channel="#backup")
    team.overflow_team = backup
    team.save()
    RoutingRule.objects.create(name="VIP", order=1, bands="A", sources="referral", action=RuleAction.ASSIGN_REP,
                               rep=configured["reps"][0])
    RoutingRule.objects.create(name="NA v2 (draft)", order=10, active=False, draft=True,
                               replaces=configured["rules"][0], action=RuleAction.ASSIGN_TEAM, team=backup)
    SlaPolicy.objects.create(band="A", minutes=30, escalate_after_minutes=15)
    SlaPolicy.objects.create(band="", stage="sql", minutes=60)
    return configured


def _history_rows() -> int:
    return sum(model.history.count() for model in (Territory, Team, Rep, RoutingRule, SlaPolicy, ScoringModel,
                                                   ScoringRule))


def test_exporting_then_importing_changes_nothing_and_writes_no_history(full_config):
    text = config_export_yaml()
    before = _history_rows()
    report = config_import(text)
    assert set(report.counts()) == {"unchanged"}
    # territories..SLA policies, the default disqualification reasons, the scoring model and its rules
    assert report.counts()["unchanged"] == 2 + 2 + 2 + 3 + 2 + DisqualifyReason.objects.count() + 1 + 7
    assert _history_rows() == before


def test_an_empty_database_is_rebuilt_from_the_file_and_a_second_import_is_a_no_op(full_config):
    data = config_export()
    RoutingRule.objects.all().delete()
    Rep.objects.all().delete()
    Team.objects.update(overflow_team=None)
    Team.objects.all().delete()
    Territory.objects.all().delete()
    SlaPolicy.objects.all().delete()
    DisqualifyReason.objects.all().delete()
    ScoringModel.objects.all().delete()

    created = config_import(data)
    assert set(created.counts()) == {"created"}
    assert config_export() == data
    assert Team.objects.get(name="Mid-Market").overflow_team.name == "Backup"
    assert RoutingRule.objects.get(name="NA v2 (draft)").replaces.name == "NA to Mid-Market"
    assert ScoringModel.objects.get().rules.count() == 7
    assert Rep.objects.get(user__username="rita").territories.get().name == "North America"
    assert set(config_import(data).counts()) == {"unchanged"}


def test_a_dry_run_prints_field_level_changes_and_writes_nothing(full_config):
    data = config_export()
    data["territories"][1]["countries"] = ["US", "CA", "MX"]
    next(r for r in data["reps"] if r["username"] == "rita")["capacity"] = 50
    data["routing_rules"].append({"name": "Nurture the rest", "order": 99, "action": "queue", "queue": "nurture"})
    data["scoring_models"][0]["rules"] = data["scoring_models"][0]["rules"][1:]  # drop one rule
    before = _history_rows()

    report = config_import(data, dry_run=True)
    text = report.as_text()
    assert "~ North America (changed)" in text and "countries: [US, CA] → [US, CA, MX]" in text
    assert "~ rita (changed)" in text and "capacity: 200 → 50" in text
    assert "+ Nurture the rest (created)" in text and "queue: nurture" in text
    assert "(deleted)" in text
    assert text.endswith("(dry run: nothing was written)")
    assert report.counts() == {"unchanged": 16 + DisqualifyReason.objects.count(), "changed": 2, "created": 1,
                               "deleted": 1}
    assert _history_rows() == before
    assert not RoutingRule.objects.filter(name="Nurture the rest").exists()
    assert Rep.objects.get(user__username="rita").capacity == 200

    applied = config_import(data)
    assert applied.counts() == report.counts()
    assert Territory.objects.get(name="North America").countries == "US, CA, MX"
    assert Rep.objects.get(user__username="rita").history.first().history_change_reason == "config import"
    assert ScoringRule.objects.count() == 6


def test_a_field_left_out_of_the_file_takes_its_default(full_config):
    data = config_export()
    vip = next(r for r in data["routing_rules"] if r["name"] == "VIP")
    del vip["sources"]
    report = config_import(data)
    assert report.counts()["changed"] == 1
    assert RoutingRule.objects.get(name="VIP").sources == ""


def test_every_problem_is_reported_with_its_place_in_the_file_and_nothing_is_written(full_config):
    data = config_export()
    data["territories"].append({"name": "Nordics", "countries": ["SE", "XX"]})
    data["teams"][0]["overflow_team"] = "Nobody"
    data["reps"][0]["capacity"] = "lots"
    data["reps"].append({"username": "ghost", "team": "Backup"})
    data["routing_rules"][0]["colour"] = "red"
    data["routing_rules"].append(dict(data["routing_rules"][1]))
    data["routing_rules"].append({"name": "Broken", "order": 5, "action": "team"})
    data["sla_policies"][0]["minutes"] = -5
    before = _history_rows()
    with pytest.raises(ConfigError) as caught:
        config_import(data)
    errors = "\n".join(caught.value.errors)
    assert "territories[2].countries: not ISO 3166 alpha-2 codes: XX" in errors
    assert "teams[0].overflow_team: unknown team 'Nobody'" in errors
    assert "reps[0].capacity: " in errors and "must be an integer" in errors
    assert "reps[2].username: no user 'ghost'" in errors
    assert "routing_rules[0]: unknown field colour" in errors
    assert f"routing_rules[3]: routing rule {data['routing_rules'][1]['name']} is already listed at routing_rules[1]" \
        in errors
    assert "routing_rules[4].team: Choose the team this rule assigns to." in errors
    assert "sla_policies[0].minutes: Ensure this value is greater than or equal to 0." in errors
    assert _history_rows() == before
    assert not Territory.objects.filter(name="Nordics").exists()


def test_country_codes_and_times_survive_yaml_as_written():
    text = """
territories:
  - name: Nordics
    countries: [NO, SE, DK]
"""
    config_import(text)
    assert Territory.objects.get(name="Nordics").countries == "NO, SE, DK"
    assert "countries: ['NO', SE, DK]" in config_export_yaml()  # quoted: any YAML reader gets the code back


def test_working_hours_and_languages_of_a_rep(reps):
    text = """
reps:
  - username: rita
    team: Mid-Market
    role: ae
    territories: [North America]
    time_zone: Europe/Oslo
    working_hours_start: 9:00
    working_hours_end: '17:30'
    languages: no, en
"""
    config_import(text)
    rita = Rep.objects.get(user__username="rita")
    assert (rita.working_hours_start.hour, rita.working_hours_end.hour, rita.working_hours_end.minute) == (9, 17, 30)
    assert rita.languages == "no, en" and rita.time_zone == "Europe/Oslo"
    exported = yaml.safe_load(config_export_yaml())
    assert next(r for r in exported["reps"] if r["username"] == "rita")["working_hours_end"] == "17:30"


def test_a_new_scoring_version_can_be_activated_from_the_file(full_config):
    data = config_export()
    v1 = data["scoring_models"][0]
    v2 = {**v1, "version": 2, "mql_threshold": 35, "rules": v1["rules"][:3]}
    v1["status"] = "retired"
    data["scoring_models"] = [v1, v2]
    config_import(data)
    assert ScoringModel.objects.get(version=1).status == "retired"
    active = ScoringModel.objects.get(status="active")
    assert active.version == 2 and active.mql_threshold == 35 and active.rules.count() == 3


def test_export_and_import_commands(full_config, tmp_path):
    path = tmp_path / "config.yaml"
    out = StringIO()
    call_command("export_config", str(path), stdout=out)
    assert "2 territories" in out.getvalue() and path.read_text().startswith("# Leadflow configuration")
    path.write_text(path.read_text().replace("- username: rita\n", "- username: rita\n  capacity: 150\n", 1))
    dry = StringIO()
    call_command("import_config", str(path), "--dry-run", stdout=dry)
    assert "capacity: 200 → 150" in dry.getvalue() and "dry run" in dry.getvalue()
    assert Rep.objects.get(user__username="rita").capacity == 200
    call_command("import_config", str(path), stdout=StringIO())
    assert Rep.objects.get(user__username="rita").capacity == 150
    path.write_text("routing_rules:\n  - name: X\n    order: 1\n    action: rep\n")
    with pytest.raises(CommandError, match=r"routing_rules\[0\].rep: Choose the rep"):
        call_command("import_config", str(path))


def test_the_example_in_docs_config_md_imports_cleanly_and_routes_as_described(sales_manager):
    from pathlib import Path

    from django.contrib.auth.models import User

    from leads.models import Lead
    from routing.services import lead_route

    for username in ("ines", "rita", "sam"):
        User.objects.create_user(username)
    text = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    example = text.split("## Example", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    report = config_import(example)
    # territories, teams, reps, routing rules, SLA policies, stage SLAs, task template, disqualification reasons,
    # nurture program and its steps, scoring model and its rules
    assert set(report.counts()) == {"created"} and report.counts()["created"] == (
        2 + 2 + 3 + 7 + 3 + 2 + 1 + 2 + 1 + 2 + 1 + 2)
    assert set(config_import(example).counts()) == {"unchanged"}
    # Ines works 08:00–18:00 in Berlin; the assertions below must not depend on the hour the suite runs at.
    Rep.objects.filter(user__username="ines").update(working_hours_start="00:00", working_hours_end="23:59:59")

    def owner(**fields):
        lead = Lead.objects.create(email=f"{len(fields)}{Lead.objects.count()}@x.example", country="US",
                                   **fields)
        lead_route(lead_id=lead.pk)
        lead.refresh_from_db()
        return lead.owner.username if lead.owner else lead.queue

    assert owner(stage="sql", band="B", score=80) in {"ines", "rita"}
    assert owner(stage="mql", band="B", score=50) == "sam"
    assert owner(stage="engaged", band="C", score=20) == "nurture"
    assert owner(stage="new", band="A", score=85) == "ines"
