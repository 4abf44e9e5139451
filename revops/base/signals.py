"""Signals of the base layer. Higher layers receive them; the base never learns who listens."""

from django.dispatch import Signal

# Sent when an admin switches a workflow back on; kwargs: workflow (a Workflow value). Each layer catches up on the
# work its jobs skipped while the switch was off (routing re-routes unrouted leads, notifications send the outbox).
workflow_resumed = Signal()
