"""revops.base.db.instances builds and validates instances exactly as Model(**values) and clean_fields do."""

import gc
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from leads.models import Lead
from revops.base.db.instances import instance_clean_fields, instance_new
from revops.base.db.memory import batch_gc

VALUES = {"email": "ada@example.com", "first_name": "Ada", "country": "GB", "employees": 40,
          "annual_revenue": Decimal("1200.50"), "custom": {"plan": "pro"}}


def _fields(lead: Lead) -> dict:
    return {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}


def test_a_new_instance_is_the_one_the_constructor_builds():
    fast, slow = instance_new(Lead, VALUES), Lead(**VALUES)
    assert _fields(fast) == _fields(slow)
    assert fast._state.adding and fast._state.db is None and fast.pk is None


def test_callable_defaults_are_fresh_for_each_instance():
    first, second = instance_new(Lead, {}), instance_new(Lead, {})
    assert first.flags == [] and first.flags is not second.flags
    assert first.custom == {} and first.custom is not second.custom


@pytest.mark.parametrize("values", [
    {"email": "ok@example.com", "stage": "not-a-stage"},
    {"email": "ok@example.com", "country": "XYZ", "employees": -3},
    {"email": "ok@example.com", "first_name": "x" * 500},
])
def test_validation_gives_the_errors_clean_fields_gives(values):
    names = set(values)
    for _ in range(2):  # the second time from the kept outcomes
        with pytest.raises(ValidationError) as fast:
            instance_clean_fields(Lead(**values), names)
        with pytest.raises(ValidationError) as slow:
            Lead(**values).clean_fields(exclude=[f.name for f in Lead._meta.fields if f.name not in names])
        assert fast.value.message_dict == slow.value.message_dict


def test_a_kept_outcome_is_only_used_for_the_same_value():
    instance_clean_fields(Lead(**VALUES), set(VALUES))
    with pytest.raises(ValidationError) as error:
        instance_clean_fields(Lead(**{**VALUES, "employees": -1}), set(VALUES))
    assert set(error.value.message_dict) == {"employees"}
    lead = Lead(**{**VALUES, "employees": "12"})
    instance_clean_fields(lead, set(VALUES))
    assert lead.employees == 12  # cleaned to the field's type, as clean_fields does


def test_batch_work_runs_with_fewer_collector_passes_and_restores_the_thresholds():
    before = gc.get_threshold()
    with batch_gc():
        inside = gc.get_threshold()
        with batch_gc():
            assert gc.get_threshold() == inside
        assert gc.get_threshold() == inside
    assert gc.get_threshold() == before
    assert inside[0] >= 50_000 and all(new >= old for new, old in zip(inside, before, strict=True))
