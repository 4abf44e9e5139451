"""The first assignment of each lead, summarised from the routing decisions for the speed-to-lead dashboard
(routing/services/first_assignment.py keeps it). Derived, rebuilt at will: no history, no foreign-key constraint."""

from django.db import models

from leads.models import Lead


class FirstAssignment(models.Model):
    lead = models.OneToOneField(Lead, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="first_assignment")
    at = models.DateTimeField(help_text="The first routing decision that gave the lead an owner.")

    def __str__(self) -> str:
        return f"lead {self.lead_id}: first assigned {self.at:%Y-%m-%d %H:%M}"
