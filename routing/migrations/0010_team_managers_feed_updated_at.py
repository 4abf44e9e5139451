"""A team has managers (the old single manager becomes one of them); tasks and decisions get an indexed updated_at
for the warehouse feed (existing rows: their creation time, or the completion / undo time when later)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Coalesce


def managers_from_manager(apps, schema_editor):
    Team = apps.get_model("routing", "Team")
    for team in Team.objects.exclude(manager=None).only("pk", "manager_id"):
        team.managers.add(team.manager_id)


def managers_to_manager(apps, schema_editor):
    Team = apps.get_model("routing", "Team")
    for team in Team.objects.filter(manager=None):
        first = team.managers.order_by("pk").first()
        if first is not None:
            Team.objects.filter(pk=team.pk).update(manager=first)


def updated_at_backfill(apps, schema_editor):
    Task = apps.get_model("routing", "Task")
    RoutingDecision = apps.get_model("routing", "RoutingDecision")
    Task.objects.update(updated_at=Coalesce("completed_at", "created_at"))
    RoutingDecision.objects.update(updated_at=Coalesce("undone_at", "created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("routing", "0009_rep_notify_via_team_teams_webhook"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalteam",
            name="manager",
            field=models.ForeignKey(blank=True, db_constraint=False, help_text="The manager who gets the team's escalations and digests (one of its managers).", null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name="team",
            name="manager",
            field=models.ForeignKey(blank=True, help_text="The manager who gets the team's escalations and digests (one of its managers).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="managed_teams", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="team",
            name="managers",
            field=models.ManyToManyField(blank=True, help_text="Everyone who manages the team: they see and act on its leads, tasks and reps (routing/scoping.py).", related_name="teams_managed", to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(managers_from_manager, managers_to_manager),
        migrations.AddField(
            model_name="routingdecision",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now, help_text="Set on creation and on undo (the warehouse feed)."),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="task",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.RunPython(updated_at_backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="routingdecision",
            index=models.Index(fields=["updated_at", "id"], name="decision_feed"),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["updated_at", "id"], name="task_feed"),
        ),
    ]
