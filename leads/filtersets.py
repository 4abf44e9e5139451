"""FilterSets of the lead layer, shared by the API, dashboards and selectors."""

import django_filters

from .models import Lead


class LeadFilterSet(django_filters.FilterSet):
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    owner = django_filters.CharFilter(method="filter_owner", help_text="The owner's user id or e-mail.")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")

    class Meta:
        model = Lead
        fields = ["stage", "band", "queue", "country", "source", "outcome", "consent"]

    def filter_owner(self, queryset, name, value):
        value = value.strip()
        if value.isdigit():
            return queryset.filter(owner_id=int(value))
        return queryset.filter(owner__email__iexact=value)
