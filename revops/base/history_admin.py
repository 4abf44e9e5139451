"""The history screen every Leadflow admin uses: django-simple-history's, rendered for people.

``ReadableHistoryAdmin`` replaces ``SimpleHistoryAdmin`` in the admins of every app: the history list names who
made each change (a person, or the "Leadflow automation" user for jobs and bulk writes), and shows each change with
owner names instead of keys, reasons as a list and JSON fields as small tables (``revops.base.presentation``).
"""

from simple_history.admin import SimpleHistoryAdmin

from .presentation import history_rows_annotate


class ReadableHistoryAdmin(SimpleHistoryAdmin):
    object_history_list_template = "admin/leadflow/object_history_list.html"

    def get_history_queryset(self, request, history_manager, pk_name: str, object_id):
        return super().get_history_queryset(request, history_manager, pk_name, object_id).select_related(
            "history_user")

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True) -> None:
        # The page's rows, newest first; the oldest row of the page is compared with the next older one, so a
        # change at a page boundary is shown too.
        records = list(historical_records)
        if records:
            older = records[-1].prev_record
            history_rows_annotate(records + ([older] if older is not None else []))
