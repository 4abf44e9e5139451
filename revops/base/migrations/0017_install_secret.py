"""The install's own secrets, and the key of the erasure e-mail hash made once, here."""

import secrets

from django.db import migrations, models


def erasure_key_make(apps, schema_editor):
    InstallSecret = apps.get_model("revops", "InstallSecret")
    InstallSecret.objects.get_or_create(name="erasure-email-key", defaults={"value": secrets.token_hex(32)})


class Migration(migrations.Migration):

    dependencies = [
        ("revops", "0016_slack_interaction_answer"),
    ]

    operations = [
        migrations.CreateModel(
            name="InstallSecret",
            fields=[
                ("name", models.CharField(max_length=50, primary_key=True, serialize=False)),
                ("value", models.CharField(max_length=128)),
            ],
        ),
        migrations.RunPython(erasure_key_make, migrations.RunPython.noop),
    ]
