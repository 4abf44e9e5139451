"""django-simple-history's ``HistoricalRecords``, with each model's history manager class built once.

The library's descriptor builds a new manager class (``HistoryManager.from_queryset(...)``, a walk over the
queryset's members) on every ``instance.history`` access, and its ``post_save`` receiver reaches the history model
through that access: every tracked save paid for a class (about 0.15 ms; a website form saves three tracked rows in
the web and more in the worker). The class depends on the model alone, so it is built once; the manager returned is
still new on every access, bound to its instance, as before.
"""

from __future__ import annotations

from simple_history import models as history_models
from simple_history.manager import HistoryDescriptor


class _HistoryDescriptor(HistoryDescriptor):
    def __init__(self, model, manager, queryset) -> None:
        super().__init__(model, manager=manager, queryset=queryset)
        self.manager_class_built = manager.from_queryset(queryset)

    def __get__(self, instance, owner):
        return self.manager_class_built(self.model, instance)


class HistoricalRecords(history_models.HistoricalRecords):
    """``simple_history.models.HistoricalRecords`` (same options, same tables and rows) whose ``model.history``
    manager class is built once per model."""

    def finalize(self, sender, **kwargs) -> None:
        super().finalize(sender, **kwargs)
        descriptor = sender.__dict__.get(self.manager_name)
        if type(descriptor) is HistoryDescriptor:
            setattr(sender, self.manager_name, _HistoryDescriptor(
                descriptor.model, descriptor.manager_class, descriptor.queryset_class))


def request_user_id() -> int | None:
    """The signed-in person behind the current request, whom django-simple-history names on the rows a save writes
    (its middleware keeps the request); ``None`` outside a request or for an anonymous one (the automation user)."""
    user = getattr(getattr(HistoricalRecords.context, "request", None), "user", None)
    return user.pk if user is not None and user.is_authenticated else None
