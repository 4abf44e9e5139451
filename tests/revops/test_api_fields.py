"""Serializer fields built once per class: each instance still gets its own fields, and the answers are the ones
DRF builds from scratch."""

import pytest
from rest_framework import serializers

from leads.api.serializers import EventSerializer, LeadSerializer
from leads.models import Lead, LeadEvent
from routing.api.serializers import RoutedLeadSerializer

pytestmark = pytest.mark.django_db


def _from_scratch(serializer_class, instance):
    """The same serializer with DRF's own ``get_fields``, building the fields for this instance."""
    serializer = serializer_class(instance)
    serializer.get_fields = lambda: serializers.ModelSerializer.get_fields(serializer)
    return serializer.data


def test_each_instance_gets_its_own_fields_and_the_answer_drf_would_build():
    lead = Lead.objects.create(email="f@example.com", first_name="Fay", score=40, band="B",
                               score_reasons=[{"code": "x", "label": "X", "points": 40}])
    first, second = LeadSerializer(lead), LeadSerializer(lead)
    assert first.fields["email"] is not second.fields["email"]
    assert first.fields["owner"].parent is first and second.fields["owner"].parent is second
    assert first.data == second.data == _from_scratch(LeadSerializer, lead)
    assert "_fields_built_once" in LeadSerializer.__dict__  # built once, copied for each instance
    event = LeadEvent.objects.create(lead=lead, type="demo_request", occurred_at=lead.created_at)
    assert EventSerializer(event).data == _from_scratch(EventSerializer, event)


def test_a_subclass_builds_its_own_fields():
    assert "routing" in RoutedLeadSerializer().fields and "routing" not in LeadSerializer().fields
    assert list(LeadSerializer().fields) == LeadSerializer.Meta.fields
