"""Configuration as code for the rep workspace: task templates, stage SLAs and disqualification reasons travel with
``export_config`` / ``import_config`` (round trip, idempotent, a bad file names the field and writes nothing)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from revops.top.config import ConfigError, config_export, config_export_yaml, config_import
from routing.models import DisqualifyReason, StageSla, TaskTemplate
from routing.services.task_actions import disqualify_reasons_defaults_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspace_config(db):
    # The defaults migration 0006 creates (a transactional test run before this one in the same process empties the
    # tables it used, migrations' rows with them).
    disqualify_reasons_defaults_ensure()
    StageSla.objects.create(stage="mql", days=7, reroute_at_expiry=True)
    StageSla.objects.create(stage="re_engaged", days=3, active=False)
    TaskTemplate.objects.create(name="Hot webform", source="webform", band="A", stage="sql",
                                title="Call {first_name} at {company} now", call_script="Hi {first_name}, ...",
                                email_subject="Your demo", email_body="Dear {first_name},\n\nthanks.")
    TaskTemplate.objects.create(name="Anything else", title="Follow up {full_name}", active=False)
    DisqualifyReason.objects.create(name="Wrong country", order=5, active=False)


def _rows() -> int:
    return sum(model.history.count() for model in (StageSla, TaskTemplate, DisqualifyReason))


def test_the_workspace_sections_are_exported(workspace_config):
    data = config_export()
    assert data["stage_slas"] == [{"stage": "mql", "days": 7, "reroute_at_expiry": True},
                                  {"stage": "re_engaged", "days": 3, "active": False}]
    hot = next(t for t in data["task_templates"] if t["name"] == "Hot webform")
    assert hot == {"name": "Hot webform", "source": "webform", "band": "A", "stage": "sql",
                   "title": "Call {first_name} at {company} now", "call_script": "Hi {first_name}, ...",
                   "email_subject": "Your demo", "email_body": "Dear {first_name},\n\nthanks."}
    reasons = {r["name"]: r for r in data["disqualify_reasons"]}
    assert reasons["Wrong country"] == {"name": "Wrong country", "order": 5, "active": False}
    assert reasons["No budget"] == {"name": "No budget", "order": 0}  # a default (migration 0006)


def test_exporting_then_importing_changes_nothing(workspace_config):
    text = config_export_yaml()
    before = _rows()
    report = config_import(text)
    assert set(report.counts()) == {"unchanged"}
    assert _rows() == before


def test_an_empty_database_is_rebuilt_from_the_file(workspace_config):
    data = config_export()
    StageSla.objects.all().delete()
    TaskTemplate.objects.all().delete()
    DisqualifyReason.objects.all().delete()

    report = config_import(data)

    assert set(report.counts()) == {"created"}
    assert config_export() == data
    assert TaskTemplate.objects.get(name="Hot webform").email_body == "Dear {first_name},\n\nthanks."
    assert StageSla.objects.get(stage="mql").reroute_at_expiry is True
    assert set(config_import(data).counts()) == {"unchanged"}


def test_a_change_is_shown_in_the_dry_run_and_applied_by_the_import(workspace_config):
    data = config_export()
    data["stage_slas"][0]["days"] = 10
    next(t for t in data["task_templates"] if t["name"] == "Anything else")["active"] = True
    data["disqualify_reasons"].append({"name": "Fake e-mail", "order": 200})

    text = config_import(data, dry_run=True).as_text()
    assert "stage_slas:" in text and "~ mql (changed)" in text and "days: 7 → 10" in text
    assert "+ Fake e-mail (created)" in text
    assert StageSla.objects.get(stage="mql").days == 7

    config_import(data)
    assert StageSla.objects.get(stage="mql").days == 10
    assert TaskTemplate.objects.get(name="Anything else").active is True
    assert DisqualifyReason.objects.get(name="Fake e-mail").order == 200
    assert StageSla.objects.get(stage="mql").history.first().history_change_reason == "config import"


def test_a_bad_file_names_each_field_and_writes_nothing(workspace_config):
    data = config_export()
    data["task_templates"].append({"name": "New one", "title": "Call {first_name}"})  # valid on its own
    data["task_templates"][0]["title"] = "Call {nickname}"
    data["task_templates"][1]["band"] = "Z"
    data["stage_slas"].append({"stage": "limbo", "days": 3})
    data["stage_slas"][0]["days"] = "a week"
    data["disqualify_reasons"].append({"name": "", "order": 1})
    data["disqualify_reasons"].append({"name": "Wrong country", "order": 9})  # listed twice
    before = _rows()

    with pytest.raises(ConfigError) as caught:
        config_import(data)

    errors = "\n".join(caught.value.errors)
    assert "task_templates[0]: unknown placeholders: nickname" in errors
    assert "task_templates[1].band: A, B, C or D" in errors
    assert "stage_slas[2].stage: Value 'limbo' is not a valid choice." in errors
    assert "stage_slas[0].days: " in errors and "must be an integer" in errors
    n = len(data["disqualify_reasons"])
    assert f"disqualify_reasons[{n - 2}].name: required" in errors
    assert f"disqualify_reasons[{n - 1}]: disqualification reason Wrong country is already listed" in errors
    assert _rows() == before and not TaskTemplate.objects.filter(name="New one").exists()


def test_the_import_command_reports_the_field_and_leaves_the_database_alone(workspace_config, tmp_path):
    path = tmp_path / "config.yaml"
    call_command("export_config", str(path), stdout=StringIO())
    text = path.read_text()
    assert "stage_slas:" in text and "task_templates:" in text and "disqualify_reasons:" in text
    path.write_text("task_templates:\n  - name: Cold\n    title: Call\nstage_slas:\n  - stage: mql\n    days: -1\n")
    with pytest.raises(CommandError, match=r"stage_slas\[0\]\.days: Ensure this value is greater than or equal"):
        call_command("import_config", str(path), stdout=StringIO())
    assert not TaskTemplate.objects.filter(name="Cold").exists()
    assert StageSla.objects.get(stage="mql").days == 7
