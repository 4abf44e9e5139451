"""Signals the routing layer sends (their receivers are in receivers.py).

Every signal is sent inside the transaction of the write it announces, with primary keys only. The services
announce what they write; receivers schedule the next step (routing/jobs.py: enqueued after commit, its pending row
committed with the write), so no service imports a job.
"""

from django.dispatch import Signal

# A lead got an owner who has no open task for it yet (a routing decision, or a reassignment or rebalance that
# moved no open task): the decision's follow-up task is to be created. kwargs: decision_id
follow_up_needed = Signal()
# The same for the assignments of a batch (``leads_route_many``), once per committed chunk. kwargs: decision_ids
follow_ups_needed = Signal()
# Someone asked for the open leads of a territory to be routed again (the territory changed). kwargs: territory_id
territory_reroute_requested = Signal()
# A routing decision was written for one lead (an owner or a queue): kwargs decision_id
lead_routed = Signal()
# The same for the decisions of a batch (``leads_route_many``), once per committed chunk. kwargs: decision_ids
leads_routed_many = Signal()
# A rep completed a task (``task_complete``): kwargs task_id, disposition
task_completed = Signal()
