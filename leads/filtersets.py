"""FilterSets of the lead layer, shared by the API, dashboards and selectors."""

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q

from revops.base.boundary import BoundaryError, datetime_utc

from .models import Lead

# The largest id a query parameter may name (the databases' bigint); a longer number is a 400 naming the parameter.
MAX_ID = 2**63 - 1


def _owner_value(value: str) -> None:
    """An owner is a user id (ASCII digits, in range) or an e-mail address."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        if int(value) > MAX_ID:
            raise ValidationError(f"{value[:30]} is not a valid user id")
    elif "@" not in value:
        raise ValidationError("give the owner's user id or e-mail")


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time filter compared in UTC (revops.base.boundary.datetime_utc): an offset such as +16:00,
    which PostgreSQL refuses, is a 400 naming the parameter only when the time cannot be expressed in UTC."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = datetime_utc(value, field=self.field_name)
            except BoundaryError as exc:
                raise ValidationError({self.field_name: [exc.reason]}) from None
        return super().filter(qs, value)


class LeadFilterSet(django_filters.FilterSet):
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    owner = django_filters.CharFilter(method="filter_owner", help_text="The owner's user id or e-mail.",
                                      validators=[_owner_value], max_length=254)
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    search = django_filters.CharFilter(
        method="filter_search", max_length=100,
        help_text="Free text: every word must appear in the name, e-mail, company, phone or external id "
                  "(case-insensitive).")

    class Meta:
        model = Lead
        fields = ["stage", "band", "queue", "country", "source", "outcome", "consent"]

    def filter_owner(self, queryset, name, value):
        value = value.strip()
        if value.isascii() and value.isdigit():
            return queryset.filter(owner_id=int(value))
        return queryset.filter(owner__email__iexact=value)

    def filter_search(self, queryset, name, value):
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
                | Q(company__icontains=word) | Q(phone__icontains=word) | Q(external_id__iexact=word))
        return queryset
