"""A task message's card names the routing rule that chose the rep; a batch of task messages reads the rules of all
its decisions in one query (routing/services/slack_cards.py ``routing_rule_labels``), with the same cards as one by
one."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from revops.base.models import Notification
from routing.models import RoutingDecision, Task
from routing.services.messages import tasks_notify
from routing.services.slack_cards import routing_rule_label, routing_rule_labels, task_card
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db


def test_a_batch_of_task_messages_reads_its_rules_in_one_query_and_gives_the_cards_one_by_one_gives(routing_rules,
                                                                                                  reps):
    rule = routing_rules[0]
    items = []
    for n, (with_rule, summary) in enumerate([(True, "assigned by rule"), (False, "assigned by hand"),
                                              (True, "assigned again")]):
        lead = make_lead(owner=reps[n % 2].user, first_name=f"Card{n}")
        decision = RoutingDecision.objects.create(lead=lead, rep=reps[n % 2], owner=reps[n % 2].user,
                                                  rule=rule if with_rule else None, summary=summary)
        task = Task.objects.create(lead=lead, assignee=reps[n % 2].user, decision=decision, title=f"Call {n}",
                                   due_at=timezone.now() + timedelta(hours=1), dedup_key=f"card:{n}")
        items.append((task, lead, reps[n % 2]))
    no_decision = Task.objects.create(lead=items[0][1], assignee=reps[0].user, title="Call again",
                                      due_at=timezone.now() + timedelta(hours=2), dedup_key="card:none")

    labels = routing_rule_labels([task.decision_id for task, _, _ in items])
    assert [labels[task.decision_id] for task, _, _ in items] == [
        "rule NA to Mid-Market", "assigned by hand", "rule NA to Mid-Market"]
    assert [labels[task.decision_id] for task, _, _ in items] == [routing_rule_label(task) for task, _, _ in items]
    assert routing_rule_labels([]) == {} and routing_rule_label(no_decision) == ""
    for task, lead, rep in items:
        assert task_card(task, lead, rep, rule=labels[task.decision_id]) == task_card(task, lead, rep)

    with CaptureQueriesContext(connection) as queries:
        tasks_notify([*items, (no_decision, items[0][1], reps[0])])
    assert sum('"routing_routingdecision"' in q["sql"] for q in queries.captured_queries) == 1
    rules_said = {row.object_id: str(row.blocks) for row in Notification.objects.filter(object_type="task")}
    assert "rule NA to Mid-Market" in rules_said[items[0][0].pk]
    assert "assigned by hand" in rules_said[items[1][0].pk]
    assert "NA to Mid-Market" not in rules_said[no_decision.pk]
