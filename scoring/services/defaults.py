"""The scoring model a fresh install starts with, so a lead is scored before anyone has configured anything.

Its rules are the field's usual example weights (50–200 employees +10, VP or above +15, target industry +10,
secondary industry +5, demo request +30, pricing visit +20, e-mail open +1 capped at 10 a month, unsubscribe −50).
It is an ordinary, editable model marked ``is_default``; it is created only when no scoring model exists at all, so
an install that has its own models (or the demo) is never changed.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..choices import Dimension, ModelStatus, Operator, RuleKind
from ..models import ScoringModel, ScoringRule

DEFAULT_MODEL_NAME = "Default (editable)"
REASON = "default scoring model (migrate)"

DEFAULT_RULES = [
    dict(kind=RuleKind.FIT, dimension=Dimension.COMPANY_SIZE, reason_code="size_50_200", label="50–200 employees",
         field="employees", operator=Operator.RANGE, value="50..200", points=10),
    dict(kind=RuleKind.FIT, dimension=Dimension.TITLE, reason_code="vp_or_above", label="VP or above",
         field="seniority", operator=Operator.IN, value="vp, c_level", points=15),
    dict(kind=RuleKind.FIT, dimension=Dimension.INDUSTRY, reason_code="target_industry", label="Target industry",
         field="industry", operator=Operator.IN, value="Technology", points=10),
    dict(kind=RuleKind.FIT, dimension=Dimension.INDUSTRY, reason_code="secondary_industry",
         label="Secondary industry", field="industry", operator=Operator.IN, value="Financial Services, Healthcare",
         points=5),
    dict(kind=RuleKind.ENGAGEMENT, dimension=Dimension.BEHAVIOUR, reason_code="demo_request",
         label="Requested a demo", event_type="demo_request", points=30),
    dict(kind=RuleKind.ENGAGEMENT, dimension=Dimension.BEHAVIOUR, reason_code="pricing_visit",
         label="Visited pricing", event_type="page_view", property_key="url", property_operator=Operator.CONTAINS,
         property_value="/pricing", points=20, cap_points=20, window_days=30),
    dict(kind=RuleKind.ENGAGEMENT, dimension=Dimension.BEHAVIOUR, reason_code="email_open", label="Opened e-mails",
         event_type="email_open", points=1, cap_points=10, window_days=30),
    dict(kind=RuleKind.ENGAGEMENT, dimension=Dimension.NEGATIVE, reason_code="unsubscribed", label="Unsubscribed",
         event_type="unsubscribe", points=-50),
]


@transaction.atomic
def scoring_model_default_ensure() -> ScoringModel | None:
    """Create and activate the default model when there is no scoring model at all; returns it (else None)."""
    if ScoringModel.objects.exists():
        return None
    model = ScoringModel(name=DEFAULT_MODEL_NAME, segment="default", status=ModelStatus.ACTIVE, is_default=True,
                         activated_at=timezone.now())
    model._change_reason = REASON
    model.full_clean()
    model.save()
    for order, values in enumerate(DEFAULT_RULES):
        rule = ScoringRule(model=model, order=order, **values)
        rule._change_reason = REASON
        rule.full_clean()
        rule.save()
    return model
