"""The routing report's covering index again, with the repeats' columns: in a migration of its own, so it is built
after the repeats were filled and committed (built in the same transaction, it would hold every row twice)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("routing", "0015_decision_repeats"),
    ]

    operations = [
        migrations.AddIndex(
            model_name='routingdecision',
            index=models.Index(condition=models.Q(('undone_at__isnull', True)), fields=['created_at'], include=('id', 'rule', 'lead', 'owner', 'queue', 'previous_owner', 'previous_queue', 'cause', 'user', 'rep', 'strategy', 'previous_same_rule_at', 'previous_same_owner_at'), name='decision_report'),
        ),
    ]
