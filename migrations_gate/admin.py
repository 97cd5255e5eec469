"""Admin of the migration gate: datasets are read here (registering copies and anonymizes a
source: `manage.py gate dataset add`), projects' thresholds and datasets are set here, checks
and timings are read here and checks rechecked.

The services are imported where they are used: every process loads the admin at start-up, and
the gate's runner brings psycopg and yaml (a CI job's one-file import waits on them)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from core.exceptions import AssayError
from migrations_gate.models import Check, Dataset, MigrationTiming, Project


def _fields(model) -> list[str]:
    return [f.name for f in model._meta.fields]


# --- datasets ------------------------------------------------------------------------------------


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "size", "table_count", "source", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "source")
    list_select_related = ("server",)
    # All of it is what registration computed from the source, read once: editing it here
    # would describe a copy that does not exist.
    readonly_fields = _fields(Dataset)

    def has_add_permission(self, request) -> bool:
        return False  # `manage.py gate dataset add`: it copies and anonymizes a source

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        extra = {"subtitle": "Register a dataset with `manage.py gate dataset add`: it copies "
                             "and anonymizes a source."}  # fmt: skip
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    @admin.display(description="size", ordering="size_bytes")
    def size(self, obj: Dataset) -> str:
        return filesizeformat(obj.size_bytes)

    @admin.display(description="tables")
    def table_count(self, obj: Dataset) -> int:
        return len(obj.tables or {})

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # A dataset's timings go with it; they cannot be deleted one by one, but that is no
        # reason to refuse deleting the dataset.
        perms_needed.discard(MigrationTiming._meta.verbose_name)
        return deleted, model_count, perms_needed, protected

    # Deleting goes through the service: the template database or file goes with the row.
    def delete_model(self, request, obj: Dataset) -> None:
        from migrations_gate.services import datasets

        datasets.remove_dataset(obj.name)

    def delete_queryset(self, request, queryset) -> None:
        from migrations_gate.services import datasets

        for dataset in queryset:
            datasets.remove_dataset(dataset.name)


# --- projects ------------------------------------------------------------------------------------


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "repository", "dataset_names", "time_limit_seconds",
                    "created_at")  # fmt: skip
    list_filter = ("kind",)
    search_fields = ("name", "repository")
    filter_horizontal = ("datasets",)
    # What the gate runs (repository, kind, paths) is checked by the service that adds a
    # project; here only the thresholds and the datasets change.
    readonly_fields = ("name", "repository", "kind", "directory", "target", "requirements",
                       "created_at")  # fmt: skip
    fields = (
        *readonly_fields, "datasets", "time_limit_seconds", "default_migration_seconds",
        "min_history", "too_long_fails", "lock_budget_seconds", "large_table_bytes",
    )  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False  # `manage.py gate project add`: it checks the repository and the paths

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("datasets")

    @admin.display(description="datasets")
    def dataset_names(self, obj: Project) -> str:
        return ", ".join(d.name for d in obj.datasets.all())


# --- checks and timings --------------------------------------------------------------------------


@admin.register(Check)
class CheckAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "ref", "outcome", "state", "commit_short", "created_at",
                    "log")  # fmt: skip
    list_filter = ("outcome", "state", "project")
    search_fields = ("ref", "commit", "=id")
    list_select_related = ("project",)
    # Checks are made by the API and the CLI (which check the ref) and written by the job.
    readonly_fields = (*_fields(Check), "log")
    actions = ["recheck"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    # A check's timings are the history its migrations' time limits are learned from.
    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="commit")
    def commit_short(self, obj: Check) -> str:
        return obj.commit[:12]

    @admin.display(description="log")
    def log(self, obj: Check) -> str:
        return format_html('<a href="/{}">job.log</a>', obj.log_url.lstrip("/"))

    @admin.action(description="Recheck (the same ref again)")
    def recheck(self, request, queryset) -> None:
        from migrations_gate.services import checks

        for check in queryset:
            try:
                new = checks.recheck(check.pk)
            except AssayError as exc:
                self.message_user(request, f"check {check.pk}: {exc.detail}", messages.ERROR)
                continue
            self.message_user(
                request, f"check {check.pk}: recheck {new.pk} queued", messages.SUCCESS
            )


@admin.register(MigrationTiming)
class MigrationTimingAdmin(admin.ModelAdmin):
    list_display = ("migration", "dataset", "project", "seconds", "ok", "check_run", "created_at")
    list_filter = ("ok", "project", "dataset")
    search_fields = ("migration",)
    list_select_related = ("dataset", "project", "check_run")
    readonly_fields = _fields(MigrationTiming)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
