from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from datagen import selectors
from datagen.models import LSST_STATES, Chunk, DatagenRun
from datagen.services.runs import resume_run


@admin.register(DatagenRun)
class DatagenRunAdmin(admin.ModelAdmin):
    list_display = ("id", "label", "spec_name", "seed", "chunks", "phase", "created_at", "page")
    list_filter = ("spec_name", "state")
    search_fields = ("label", "spec_name", "results_run")
    actions = ["resume"]
    # Runs are made by the API and the CLI, which validate the spec and the chunk selection.
    readonly_fields = [f.name for f in DatagenRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="phase")
    def phase(self, obj: DatagenRun) -> str:
        return selectors.run_progress(obj).phase

    @admin.display(description="page")
    def page(self, obj: DatagenRun) -> str:
        return format_html(
            '<a href="{}">chunk map</a>', reverse("datagen:run-detail", args=[obj.pk])
        )

    @admin.action(description="Resume: queue again every chunk not completed")
    def resume(self, request, queryset) -> None:
        for run in queryset:
            s = resume_run(run)
            self.message_user(
                request, f"run {run.pk}: {s.requeued} chunk(s) queued again", messages.SUCCESS
            )


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ("run", "chunk_id", "lsst", "attempts", "worker", "rows", "bytes", "short_error")
    list_filter = ("state",)
    search_fields = ("=run__id", "=chunk_id")
    list_select_related = ("run",)
    readonly_fields = [f.name for f in Chunk._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="state", ordering="state")
    def lsst(self, obj: Chunk) -> str:
        return LSST_STATES[obj.state]

    @admin.display(description="error")
    def short_error(self, obj: Chunk) -> str:
        return obj.error if len(obj.error) <= 120 else obj.error[:117] + "..."
