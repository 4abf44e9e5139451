"""Leads stored before state names were normalized keep a name ("California") where territories and the time zone
read a code ("CA"): store the code, for leads in the United States, Canada and Australia, with a history row for each
lead changed (the audit trail), as ``normalize_row`` now does for new input."""

from django.db import migrations
from django.db.models.functions import Length
from django.utils import timezone

from leads.normalize.state import STATE_CODE_COUNTRIES, normalize_state

REASON = "automation:state name stored as its code"


def state_names_to_codes(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    HistoricalLead = apps.get_model("leads", "HistoricalLead")
    pairs = (Lead.objects.filter(country__in=STATE_CODE_COUNTRIES).annotate(length=Length("state"))
             .filter(length__gt=2).values_list("country", "state").distinct())
    codes = {(country, state): normalize_state(state, country) for country, state in pairs}
    tracked = [f.attname for f in HistoricalLead._meta.concrete_fields if not f.name.startswith("history_")]
    # The automation user, as on every automated change (created with the first pipeline step when it does not exist
    # yet; a database with such leads has run one).
    user = apps.get_model("auth", "User").objects.filter(username="leadflow-automation").first()
    now = timezone.now()
    for (country, state), code in codes.items():
        if code == state:
            continue
        leads = Lead.objects.filter(country=country, state=state)
        ids = list(leads.values_list("pk", flat=True))
        leads.update(state=code, updated_at=now)
        for start in range(0, len(ids), 500):
            HistoricalLead.objects.bulk_create([
                HistoricalLead(**{name: getattr(lead, name) for name in tracked}, history_date=now,
                               history_type="~", history_change_reason=REASON, history_user=user)
                for lead in Lead.objects.filter(pk__in=ids[start:start + 500])])


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0016_lead_band_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(state_names_to_codes, migrations.RunPython.noop),
    ]
