"""Receivers inside the lead layer (model saves that change cached configuration)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import IndustryTerm
from .services import industry_vocabulary_clear


@receiver(post_save, sender=IndustryTerm)
@receiver(post_delete, sender=IndustryTerm)
def forget_vocabulary(sender, **kwargs) -> None:
    industry_vocabulary_clear()
