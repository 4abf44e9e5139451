"""Admin screens for CSV import and export (docs/csv.md): upload → preview → confirm → progress → errors CSV.

The same flow serves the lead import and the company directory import (a ``LeadImport`` whose source is
``DIRECTORY_IMPORT_SOURCE``). Confirming queues ``lead_import_run_job`` on RQ; the progress page refreshes every
2 seconds from ``LeadImport.processed_rows`` and ``counts`` until the job is done, then offers the per-row errors
CSV. The lead changelist gets "Import CSV" and "Export all (filtered)" buttons (templates/admin/leads/lead/; the
"Export selected leads as CSV" action is the lead admin's own), and the company directory changelist gets "Import
company directory".
"""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from revops.base.scoping import ScopedAdminMixin

from ..choices import ImportStatus
from ..csv import DEFAULT_SOURCE, DIRECTORY_IMPORT_SOURCE, PREVIEW_ROWS, leads_csv_response, preview_csv
from ..models import Lead, LeadImport
from ..normalize import COMPANY_COLUMNS, INPUT_COLUMNS
from ..services import lead_import_confirm

# A queued import waiting longer than this probably has no worker to run it: the progress page says so.
WORKER_HINT_AFTER_SECONDS = 30


class LeadUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8 (with or without BOM), comma-separated, header first.")
    source = forms.CharField(max_length=100, required=False, initial=DEFAULT_SOURCE,
                             help_text="The source of rows without a source column (e.g. the fair or the vendor).")

    def clean_source(self) -> str:
        source = " ".join(self.cleaned_data["source"].split()) or DEFAULT_SOURCE
        if source == DIRECTORY_IMPORT_SOURCE:
            raise forms.ValidationError(f'"{DIRECTORY_IMPORT_SOURCE}" is reserved for the company directory.')
        return source


class CompanyUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, comma-separated, header first; upserted by domain.")


def _is_directory(lead_import: LeadImport) -> bool:
    return lead_import.source == DIRECTORY_IMPORT_SOURCE


@admin.register(LeadImport)
class LeadImportAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """CSV imports: the list of uploads with their progress; adding one goes through upload and preview."""

    list_display = ("original_name", "kind_display", "status", "progress_display", "counts_display", "user",
                    "created_at", "page_link")
    list_filter = ("status",)
    list_select_related = ("user",)
    search_fields = ("original_name", "source")
    readonly_fields = ("file", "original_name", "source", "status", "total_rows", "processed_rows", "counts",
                       "errors_file", "error_sample", "message", "user", "created_at", "finished_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # an import is a record of what happened

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="leads_leadimport_upload"),
            path("companies/upload/", view(self.company_upload_view), name="leads_leadimport_company_upload"),
            path("<int:import_id>/preview/", view(self.preview_view), name="leads_leadimport_preview"),
            path("<int:import_id>/progress/", view(self.progress_view), name="leads_leadimport_progress"),
            path("<int:import_id>/errors/", view(self.errors_view), name="leads_leadimport_errors"),
            path("export-leads/", view(self.export_leads_view), name="leads_leadimport_export_leads"),
        ] + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:leads_leadimport_upload")

    # --- list columns ------------------------------------------------------------------------------------------

    @admin.display(description="Kind")
    def kind_display(self, obj: LeadImport) -> str:
        return "Company directory" if _is_directory(obj) else f"Leads ({obj.source or DEFAULT_SOURCE})"

    @admin.display(description="Rows")
    def progress_display(self, obj: LeadImport) -> str:
        return f"{obj.processed_rows:,} / {obj.total_rows:,}" if obj.total_rows is not None else "—"

    @admin.display(description="Counts")
    def counts_display(self, obj: LeadImport) -> str:
        return ", ".join(f"{name} {count}" for name, count in obj.counts.items()) or "—"

    @admin.display(description="")
    def page_link(self, obj: LeadImport) -> str:
        if obj.status == ImportStatus.UPLOADED:
            return format_html('<a class="button" href="{}">Preview</a>',
                               reverse("admin:leads_leadimport_preview", args=[obj.pk]))
        return format_html('<a class="button" href="{}">Progress</a>',
                           reverse("admin:leads_leadimport_progress", args=[obj.pk]))

    # --- permissions -------------------------------------------------------------------------------------------

    def _check_can_import(self, request, *, directory: bool) -> None:
        needed = ["leads.add_leadimport"]
        needed += ["leads.add_companyprofile", "leads.change_companyprofile"] if directory else ["leads.add_lead"]
        if not request.user.has_perms(needed):
            raise PermissionDenied

    def _get_import(self, request, import_id: int) -> LeadImport:
        lead_import = get_object_or_404(self.get_queryset(request), pk=import_id)  # another's import: 404
        if not self.has_view_permission(request, lead_import):
            raise PermissionDenied
        return lead_import

    def _render(self, request, template: str, title: str, **context) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **context}
        return TemplateResponse(request, f"admin/leads/leadimport/{template}", context)

    # --- upload, preview, confirm ------------------------------------------------------------------------------

    def upload_view(self, request):
        """Step 1: upload a lead CSV and name its source."""
        self._check_can_import(request, directory=False)
        form = LeadUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            return self._store_upload(request, form.cleaned_data["file"], form.cleaned_data["source"])
        return self._render(request, "upload.html", "Import leads from CSV", form=form, directory=False,
                            columns=INPUT_COLUMNS)

    def company_upload_view(self, request):
        """Step 1 for the company directory: upload the CSV (domain, name, industry, employees, ...)."""
        self._check_can_import(request, directory=True)
        form = CompanyUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            return self._store_upload(request, form.cleaned_data["file"], DIRECTORY_IMPORT_SOURCE)
        return self._render(request, "upload.html", "Import the company directory from CSV", form=form,
                            directory=True, columns=COMPANY_COLUMNS)

    def _store_upload(self, request, upload, source: str):
        lead_import = LeadImport(original_name=Path(upload.name).name[:255], source=source, user=request.user,
                                 status=ImportStatus.UPLOADED)
        lead_import.file.save(Path(upload.name).name, upload, save=False)
        lead_import.save()
        return redirect("admin:leads_leadimport_preview", lead_import.pk)

    def preview_view(self, request, import_id: int):
        """Step 2: the first rows raw beside normalized, their errors, the custom columns, the row count.

        POST confirms: the import is queued (once) and the browser goes to its progress page.
        """
        lead_import = self._get_import(request, import_id)
        directory = _is_directory(lead_import)
        if lead_import.status != ImportStatus.UPLOADED:
            return redirect("admin:leads_leadimport_progress", lead_import.pk)
        self._check_can_import(request, directory=directory)
        if request.method == "POST":
            if lead_import_confirm(import_id=lead_import.pk):
                self.message_user(request, f"Import of {lead_import.original_name} queued.", messages.SUCCESS)
            return redirect("admin:leads_leadimport_progress", lead_import.pk)
        with lead_import.file.open("rb") as fileobj:
            preview = preview_csv(fileobj, kind="companies" if directory else "leads", source=lead_import.source)
        if preview.file_error:
            LeadImport.objects.filter(pk=lead_import.pk).update(status=ImportStatus.FAILED,
                                                               message=preview.file_error, finished_at=timezone.now())
        else:
            LeadImport.objects.filter(pk=lead_import.pk).update(total_rows=preview.total_rows)
        return self._render(request, "preview.html", f"Preview: {lead_import.original_name}",
                            lead_import=lead_import, preview=preview, directory=directory, preview_rows=PREVIEW_ROWS)

    # --- progress and results ----------------------------------------------------------------------------------

    def progress_view(self, request, import_id: int):
        """Step 3: rows done of the total and the counts so far (refreshes every 2 s), then the errors CSV."""
        lead_import = self._get_import(request, import_id)
        running = lead_import.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
        percent = None
        if lead_import.total_rows:
            percent = min(100, round(100 * lead_import.processed_rows / lead_import.total_rows))
        waiting = (lead_import.status == ImportStatus.QUEUED
                   and (timezone.now() - lead_import.created_at).total_seconds() > WORKER_HINT_AFTER_SECONDS)
        return self._render(request, "progress.html", f"Import: {lead_import.original_name}",
                            lead_import=lead_import, running=running, percent=percent, waiting_for_worker=waiting,
                            directory=_is_directory(lead_import), error_sample=lead_import.error_sample[:50])

    def errors_view(self, request, import_id: int):
        """The per-row errors CSV (row,field,reason) of a finished import."""
        lead_import = self._get_import(request, import_id)
        if not lead_import.errors_file:
            raise Http404("This import has no errors file.")
        return FileResponse(lead_import.errors_file.open("rb"), as_attachment=True, content_type="text/csv",
                            filename=f"{Path(lead_import.original_name).stem}-errors.csv")

    # --- export ------------------------------------------------------------------------------------------------

    def export_leads_view(self, request):
        """Every lead the Lead changelist shows for the same query string (filters, search), as CSV."""
        lead_admin = self.admin_site.get_model_admin(Lead)
        if not lead_admin.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = lead_admin.get_changelist_instance(request)
        except IncorrectLookupParameters:
            self.message_user(request, "Those filters are not valid; nothing was exported.", messages.ERROR)
            return redirect("admin:leads_lead_changelist")
        return leads_csv_response(changelist.get_queryset(request))
