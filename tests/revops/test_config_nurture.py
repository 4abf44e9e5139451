"""Configuration as code for nurture programs: a program and its steps (a complete list keyed by position) travel
with ``export_config`` / ``import_config``: round trip, idempotent, a changed or dropped step is reported and applied,
a bad file names the place and writes nothing."""

import pytest

from revops.top.config import ConfigError, config_export, config_export_yaml, config_import
from routing.models import NurtureProgram, NurtureStep

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(db) -> NurtureProgram:
    program = NurtureProgram.objects.create(name="Not ready yet", order=10, bands="C, D", sources="webinar")
    for position, delay in ((1, 0), (2, 3), (3, 7)):
        NurtureStep.objects.create(program=program, position=position, delay_days=delay,
                                   email_subject=f"Step {position}, {{first_name}}", email_body="Hi {first_name}.")
    return program


def _history_rows() -> int:
    return NurtureProgram.history.count() + NurtureStep.history.count()


def test_a_program_is_exported_with_its_steps(program):
    assert config_export()["nurture_programs"] == [{
        "name": "Not ready yet", "order": 10, "bands": ["C", "D"], "sources": ["webinar"],
        "steps": [{"position": 1, "delay_days": 0, "email_subject": "Step 1, {first_name}",
                   "email_body": "Hi {first_name}."},
                  {"position": 2, "delay_days": 3, "email_subject": "Step 2, {first_name}",
                   "email_body": "Hi {first_name}."},
                  {"position": 3, "delay_days": 7, "email_subject": "Step 3, {first_name}",
                   "email_body": "Hi {first_name}."}]}]


def test_exporting_then_importing_changes_nothing(program):
    text = config_export_yaml()
    before = _history_rows()
    assert set(config_import(text).counts()) == {"unchanged"}
    assert _history_rows() == before


def test_an_empty_database_is_rebuilt_from_the_file(program):
    data = config_export()
    NurtureStep.objects.all().delete()
    NurtureProgram.objects.all().delete()

    report = config_import(data)
    assert {c.action for c in report.changes if c.section == "nurture_programs"} == {"created"}
    assert config_export() == data


def test_a_changed_step_is_saved_and_a_dropped_one_deleted(program):
    data = config_export()
    steps = data["nurture_programs"][0]["steps"]
    steps[1]["delay_days"] = 5
    del steps[2]

    report = config_import(data, user=None)

    changes = {(c.key, c.action) for c in report.changes if c.action != "unchanged"}
    assert changes == {("Not ready yet / step 2", "changed"), ("Not ready yet / step 3", "deleted")}
    assert list(program.steps.values_list("position", "delay_days")) == [(1, 0), (2, 5)]
    assert NurtureStep.history.filter(position=2).first().history_change_reason == "config import"


def test_a_bad_file_names_each_problem_and_writes_nothing(program):
    data = config_export()
    data["nurture_programs"][0]["bands"] = ["Z"]
    data["nurture_programs"][0]["steps"][0]["email_subject"] = "Hi {frist_name}"
    data["nurture_programs"].append({"name": "No steps", "steps": []})
    before = _history_rows()

    with pytest.raises(ConfigError) as caught:
        config_import(data)

    errors = "\n".join(caught.value.errors)
    assert "nurture_programs[0].bands: unknown bands: Z" in errors
    assert "nurture_programs[0].steps[0]" in errors and "frist_name" in errors
    assert "nurture_programs[1].steps: a list of at least one step" in errors
    assert _history_rows() == before
