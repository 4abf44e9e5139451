"""The lead API: serializers, views and the CSV export endpoint; the views call services and selectors."""
