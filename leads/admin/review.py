"""Admin of merges and duplicate reviews: undo merges, compare a pair side by side and decide it."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from revops.base.history_admin import ReadableHistoryAdmin
from revops.base.scoping import ScopedAdminMixin

from ..choices import ReviewStatus
from ..models import DuplicateReview, Lead, MergeLog
from ..services import MergeError, merges_undo, review_dismiss, review_merge


@admin.register(MergeLog)
class MergeLogAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "survivor", "merged", "rule", "similarity", "user", "undone_at")
    list_filter = ("rule", ("undone_at", admin.EmptyFieldListFilter))
    raw_id_fields = ("survivor", "merged", "user", "undone_by")
    list_select_related = ("survivor", "merged", "user")
    show_full_result_count = False
    actions = ["undo"]
    readonly_fields = ("survivor", "merged", "rule", "similarity", "decisions_display", "merged_snapshot",
                       "survivor_before", "moved_event_ids", "moved_source_record_ids", "user", "created_at",
                       "undone_at", "undone_by")
    exclude = ("decisions",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Field decisions")
    def decisions_display(self, obj: MergeLog) -> str:
        return format_html(
            "<table><tr><th>Field</th><th>Survivor had</th><th>Merged had</th><th>Kept</th><th>Why</th></tr>{}"
            "</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                             ((d["field"], d["survivor"], d["merged"], d["kept"], d["why"]) for d in obj.decisions)),
        )

    @admin.action(description="Undo the selected merges", permissions=["change"])
    def undo(self, request, queryset) -> None:
        undone, errors = merges_undo(merge_ids=list(queryset.values_list("pk", flat=True)), user=request.user)
        self.message_user(request, f"Undid {undone} merges.", messages.SUCCESS)
        for error in errors:
            self.message_user(request, error, messages.ERROR)


# Fields shown side by side on the review screen.
REVIEW_FIELDS = ("first_name", "last_name", "email", "phone", "phone_raw", "company", "domain", "title", "country",
                 "state", "city", "industry", "employees", "source", "external_id", "stage", "score", "owner",
                 "created_at", "data_quality")


@admin.register(DuplicateReview)
class DuplicateReviewAdmin(ScopedAdminMixin, ReadableHistoryAdmin):
    list_display = ("__str__", "lead", "other_lead", "similarity", "reason", "status", "found_by", "created_at",
                    "review_link")
    list_filter = ("status", "reason", "found_by")
    raw_id_fields = ("lead", "other_lead", "decided_by")
    list_select_related = ("lead", "other_lead")
    show_full_result_count = False
    actions = ["dismiss"]

    def get_urls(self):
        return [path("<int:review_id>/compare/", self.admin_site.admin_view(self.compare_view),
                     name="leads_duplicatereview_compare")] + super().get_urls()

    def get_list_display(self, request):
        # The Compare button opens the decision screen: shown only to who may decide.
        shown = super().get_list_display(request)
        return shown if self.has_change_permission(request) else [c for c in shown if c != "review_link"]

    @admin.display(description="")
    def review_link(self, obj: DuplicateReview) -> str:
        if obj.status != ReviewStatus.OPEN:
            return "—"
        return format_html('<a class="button" href="{}">Compare</a>',
                           reverse("admin:leads_duplicatereview_compare", args=[obj.pk]))

    @admin.action(description="Not duplicates (remembered)", permissions=["change"])
    def dismiss(self, request, queryset) -> None:
        for review in queryset.filter(status=ReviewStatus.OPEN):
            review_dismiss(review_id=review.pk, user=request.user)
        self.message_user(request, "Marked as not duplicates; these pairs will not come back.", messages.SUCCESS)

    def compare_view(self, request, review_id: int):
        """The two leads side by side with three decisions: keep left, keep right, not a duplicate."""
        review = get_object_or_404(self.get_queryset(request), pk=review_id)  # out of scope: 404
        if not self.has_change_permission(request, review):
            raise PermissionDenied
        if request.method == "POST":
            decision = request.POST.get("decision")
            try:
                if decision == "not_duplicate":
                    review_dismiss(review_id=review.pk, user=request.user)
                    self.message_user(request, "Not a duplicate: remembered.", messages.SUCCESS)
                elif decision in ("keep_left", "keep_right"):
                    survivor = review.lead_id if decision == "keep_left" else review.other_lead_id
                    log = review_merge(review_id=review.pk, survivor_id=survivor, user=request.user)
                    self.message_user(request, f"Merged (merge #{log.pk}, undoable from Merge logs).",
                                      messages.SUCCESS)
            except MergeError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            return redirect("admin:leads_duplicatereview_changelist")
        left, right = review.lead, review.other_lead
        rows = []
        for name in REVIEW_FIELDS:
            a, b = getattr(left, name), getattr(right, name)
            rows.append({"field": Lead._meta.get_field(name).verbose_name, "left": a if a not in (None, "") else "",
                         "right": b if b not in (None, "") else "", "differs": a != b})
        context = {**self.admin_site.each_context(request), "title": f"Possible duplicate: {review}",
                   "review": review, "left": left, "right": right, "rows": rows, "opts": self.model._meta}
        return TemplateResponse(request, "admin/leads/duplicatereview/compare.html", context)
