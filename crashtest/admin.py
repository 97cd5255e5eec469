"""Admin of the crash tester: crash tests are read here (and deleted); `manage.py crashtest`
makes and fills them. The report is summarised and linked, not shown: an hour's report holds
every completion's time."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from crashtest import selectors
from crashtest.models import CrashRun


@admin.register(CrashRun)
class CrashRunAdmin(admin.ModelAdmin):
    list_display = ("id", "state", "created_at", "kills", "broker", "database", "failed",
                    "page")  # fmt: skip
    list_filter = ("state", "broker", "database")
    search_fields = ("=id", "results_run")
    fields = readonly_fields = (
        "state", "created_at", "finished_at", "seed", "minutes", "workers", "nemeses",
        "workloads", "broker", "database", "kills", "failed", "folder", "results_run",
        "error", "page",
    )  # fmt: skip

    def get_queryset(self, request):
        return selectors.crash_runs()  # the reports' checks, not their bulk

    def has_add_permission(self, request) -> bool:
        return False  # `manage.py crashtest` starts them

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # what a crash test found is not edited

    def changelist_view(self, request, extra_context=None):
        extra = {"subtitle": "Run a crash test with `manage.py crashtest`. Deleting a row "
                             "leaves its folder on disk."}  # fmt: skip
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    @admin.display(description="failed checks")
    def failed(self, obj: CrashRun) -> int:
        return selectors.failed_count(obj.report_checks)

    @admin.display(description="page")
    def page(self, obj: CrashRun) -> str:
        return format_html(
            '<a href="{}">timeline and checks</a> · <a href="{}">report.json</a>',
            reverse("crashtest:run-detail", args=[obj.pk]),
            reverse("crashtest:run-report", args=[obj.pk]),
        )
