"""The default list of reasons a rep may give when disqualifying a lead (editable in the admin)."""

from django.db import migrations

DEFAULT_REASONS = ["No budget", "No need", "Not the decision maker", "Bad contact data", "Competitor or partner",
                   "Student or job seeker", "Duplicate"]


def add_reasons(apps, schema_editor):
    reason_model = apps.get_model("routing", "DisqualifyReason")
    for order, name in enumerate(DEFAULT_REASONS):
        reason_model.objects.get_or_create(name=name, defaults={"order": order * 10})


class Migration(migrations.Migration):
    dependencies = [("routing", "0005_sla_source_dispositions_snooze")]

    operations = [migrations.RunPython(add_reasons, migrations.RunPython.noop)]
