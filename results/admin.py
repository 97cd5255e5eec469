"""Admin site of the results app: thin, every write goes through results.services.

Runs are never deleted here the way Django's admin deletes: a cascade of 100k results in one
request would hold long locks and skip the "valuable runs are kept" rule. Deleting a run (the
"Delete selected runs" action or the change page's Delete button) shows a confirmation with
the counts, then calls `delete_runs` (marks, refuses valuable runs) and queues a CleanJob that
removes the rows in chunks, in the background.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.exceptions import AssayError
from core.jobs import submit
from core.pagination import CappedPaginator
from results.models import (
    STATUS_LABELS,
    STATUS_ORDER,
    Announcement,
    CleanJob,
    Contact,
    ExpectedTest,
    FlakinessJob,
    FlakyTest,
    Project,
    TestResult,
    TestRun,
    Triage,
    TriageComment,
)
from results.selectors.search import NameContains
from results.services.expected import validate_run_class
from results.services.purge import DeleteSummary, delete_runs

# --- shared pieces -------------------------------------------------------------------------


def _status_column(letter: str):
    @admin.display(description=f"{letter} ({STATUS_LABELS[letter]})")
    def column(obj: TestRun) -> int:
        return obj.status_counts.get(letter, 0)

    column.__name__ = f"count_{letter}"
    return column


def _other_statuses(counts: dict[str, int]) -> str:
    """Counts of the site's own (lower-case) statuses, e.g. "x 3, y 1"."""
    return ", ".join(f"{s} {n}" for s, n in sorted(counts.items()) if s not in STATUS_LABELS)


class CappedCountPaginator(CappedPaginator):
    """The admin's results list: the shared capped count (core.pagination)."""


# --- runs ----------------------------------------------------------------------------------


class RunStateFilter(admin.SimpleListFilter):
    """Live runs by default; deleted ones (awaiting the cleaner) on request."""

    title = "state"
    parameter_name = "state"
    DEFAULT = "live"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("deleted", "Deleted, awaiting clean"), ("all", "All")]

    def choices(self, changelist):
        current = self.value() or self.DEFAULT
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or self.DEFAULT
        if value == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        if value == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=True)


# A run's build, as imports give it (results.services.builds).
BUILD_FIELDS = ("series", "started_at", "ended_at", "branch", "commit", "build_url", "attributes")


@admin.register(TestRun)
class TestRunAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "series",
        "started_at",
        "branch",
        "created_at",
        "valuable",
        "total_results",
        *(_status_column(letter) for letter in STATUS_ORDER),
        "other_statuses",
        "deleted_at",
    )
    list_filter = (RunStateFilter, "series", "valuable")
    search_fields = ("name", "commit")
    actions = ("mark_valuable", "unmark_valuable", "delete_runs_action")
    fields = (
        "name",
        *BUILD_FIELDS,
        "prefix",
        "run_date",
        "valuable",
        "note",
        "result_counts",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    # A run's name, build, prefix and date come from imports (results.services.runs and
    # builds); the admin only marks it valuable and annotates it.
    readonly_fields = (
        "name",
        *BUILD_FIELDS,
        "prefix",
        "run_date",
        "result_counts",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    confirmation_template = "admin/results/testrun/delete_runs_confirmation.html"

    # -- columns ----------------------------------------------------------------------------

    @admin.display(description="results")
    def total_results(self, obj: TestRun):
        url = reverse("admin:results_testresult_changelist")
        return format_html('<a href="{}?run__id__exact={}">{}</a>', url, obj.pk, obj.total)

    @admin.display(description="other")
    def other_statuses(self, obj: TestRun) -> str:
        return _other_statuses(obj.status_counts)

    @admin.display(description="results per status")
    def result_counts(self, obj: TestRun):
        counts = obj.status_counts
        parts = format_html_join(
            ", ", "{} {}", ((STATUS_LABELS.get(s, s), n) for s, n in sorted(counts.items()))
        )
        url = reverse("admin:results_testresult_changelist")
        return format_html(
            '{} — <a href="{}?run__id__exact={}">{} result(s)</a>',
            parts or "none",
            url,
            obj.pk,
            obj.total,
        )

    # -- permissions ------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are created by imports (API, CLI, producers)

    def has_change_permission(self, request: HttpRequest, obj: TestRun | None = None) -> bool:
        if obj is not None and obj.deleted_at is not None:
            return False  # awaiting the cleaner: look, don't touch
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: TestRun | None = None) -> bool:
        # Hides the change page's Delete link of runs that delete_runs would refuse. The
        # delete view itself goes through delete_runs whatever this says (see delete_view).
        if obj is not None and (obj.valuable or obj.deleted_at is not None):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would cascade in the request
        return actions

    def save_model(self, request, obj, form, change):
        # Write only what the form changed: status_counts is recomputed by imports and a
        # whole-row save could put back the value this page loaded.
        if change:
            if form.changed_data:
                obj.save(update_fields=[*form.changed_data, "updated_at"])
        else:
            super().save_model(request, obj, form, change)

    # -- actions ----------------------------------------------------------------------------

    @admin.action(
        description="Mark selected runs valuable (delete keeps them)", permissions=["change"]
    )
    def mark_valuable(self, request: HttpRequest, queryset: QuerySet[TestRun]) -> None:
        self._set_valuable(request, queryset, True)

    @admin.action(description="Unmark selected runs valuable", permissions=["change"])
    def unmark_valuable(self, request: HttpRequest, queryset: QuerySet[TestRun]) -> None:
        self._set_valuable(request, queryset, False)

    def _set_valuable(self, request: HttpRequest, queryset: QuerySet[TestRun], value: bool):
        live = queryset.filter(deleted_at__isnull=True)
        changed = live.exclude(valuable=value).update(valuable=value, updated_at=timezone.now())
        skipped = queryset.filter(deleted_at__isnull=False).count()
        verb = "Marked" if value else "Unmarked"
        msg = f"{verb} {changed} run(s) valuable."
        if skipped:
            msg += f" {skipped} deleted run(s) awaiting clean were left as they are."
        self.message_user(request, msg, messages.SUCCESS if changed else messages.INFO)

    @admin.action(description="Delete selected runs", permissions=["delete"])
    def delete_runs_action(self, request: HttpRequest, queryset: QuerySet[TestRun]):
        if request.POST.get("post") == "yes":
            self._delete_and_clean(request, queryset)
            return None  # back to the list
        # The confirmation posts one field per run back: stay under Django's field limit.
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        if limit is not None and queryset.count() > limit - 10:
            self.message_user(
                request,
                f"Select at most {limit - 10} runs at a time, or use "
                "`manage.py delete_runs --wild PATTERN`.",
                messages.ERROR,
            )
            return None
        return self._confirmation(request, queryset, action="delete_runs_action")

    # -- per-object delete: same confirmation, same service ---------------------------------

    @csrf_protect_m
    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        if not self.has_delete_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        queryset = TestRun.objects.filter(pk=obj.pk)
        if request.method == "POST" and request.POST.get("post") == "yes":
            summary = self._delete_and_clean(request, queryset)
            if summary.deleted:
                return HttpResponseRedirect(reverse("admin:results_testrun_changelist"))
            return HttpResponseRedirect(reverse("admin:results_testrun_change", args=[obj.pk]))
        return self._confirmation(request, queryset, action=None, obj=obj)

    def delete_model(self, request: HttpRequest, obj: TestRun) -> None:
        # Not reached through this admin's views; kept so no default path can hard-delete.
        self._delete_and_clean(request, TestRun.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TestRun]) -> None:
        self._delete_and_clean(request, queryset)

    # -- the two halves of deleting ---------------------------------------------------------

    def _confirmation(
        self,
        request: HttpRequest,
        queryset: QuerySet[TestRun],
        *,
        action: str | None,
        obj: TestRun | None = None,
    ) -> HttpResponse:
        runs = list(queryset.order_by("name"))
        live = [r for r in runs if r.deleted_at is None]
        already_deleted = [r for r in runs if r.deleted_at is not None]
        # The dry run of the service decides, so the page shows exactly what confirming does.
        preview = delete_runs(queryset.filter(deleted_at__isnull=True), dry_run=True)
        to_delete = set(preview.deleted)
        extra = sorted({s for r in live for s in r.status_counts if s not in STATUS_LABELS})
        columns = [*STATUS_ORDER, *extra]

        def rows(selection: list[TestRun]) -> list[dict]:
            return [
                {
                    "run": r,
                    "counts": [r.status_counts.get(s, 0) for s in columns],
                    "total": r.total,
                }
                for r in selection
            ]

        deleting = [r for r in live if r.name in to_delete]
        kept = [r for r in live if r.name not in to_delete]
        context = {
            **self.admin_site.each_context(request),
            "title": "Delete runs" if deleting else "Nothing to delete",
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "object": obj,
            "columns": [(s, STATUS_LABELS.get(s, s)) for s in columns],
            "deleting": rows(deleting),
            "kept": rows(kept),
            "already_deleted": already_deleted,
            "results_total": preview.results,
            "action": action,
            "selected": runs,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "preserved_filters": self.get_preserved_filters(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.confirmation_template, context)

    def _delete_and_clean(self, request: HttpRequest, queryset: QuerySet[TestRun]) -> DeleteSummary:
        selected = list(queryset)
        live = [r for r in selected if r.deleted_at is None]
        job = None
        with transaction.atomic():
            summary = delete_runs(TestRun.objects.filter(pk__in=[r.pk for r in live]))
            if summary.deleted:
                job = submit(CleanJob())  # queued when this transaction commits
                deleted = set(summary.deleted)
                self.log_deletions(request, [r for r in live if r.name in deleted])
        self._report(request, summary, job, skipped=len(selected) - len(live))
        return summary

    def _report(
        self, request: HttpRequest, summary: DeleteSummary, job: CleanJob | None, *, skipped: int
    ) -> None:
        if summary.deleted:
            job_url = reverse("admin:results_cleanjob_change", args=[job.pk])
            self.message_user(
                request,
                format_html(
                    "Deleted {} run(s) holding {} result(s): {}. "
                    "Their results are removed in the background by "
                    '<a href="{}">clean job #{}</a>.',
                    len(summary.deleted),
                    summary.results,
                    ", ".join(summary.deleted),
                    job_url,
                    job.pk,
                ),
                messages.SUCCESS,
            )
        if summary.refused_valuable:
            self.message_user(
                request,
                f"Kept {len(summary.refused_valuable)} valuable run(s): "
                f"{', '.join(summary.refused_valuable)}. Unmark them first to delete them.",
                messages.WARNING,
            )
        if skipped:
            self.message_user(
                request, f"{skipped} run(s) were already deleted (awaiting clean).", messages.INFO
            )
        if not summary.deleted and not summary.refused_valuable and not skipped:
            self.message_user(request, "No run was deleted.", messages.INFO)


@admin.register(CleanJob)
class CleanJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "state",
        "attempts",
        "progress",
        "rows_deleted",
        "runs_removed",
        "created_at",
        "finished_at",
        "short_error",
    )
    list_filter = ("state",)
    readonly_fields = ("progress", "log_link")

    @admin.display(description="progress")
    def progress(self, obj: CleanJob) -> str:
        total = "?" if obj.progress_total is None else obj.progress_total
        text = f"{obj.progress_done}/{total}"
        return f"{text} {obj.progress_message}".strip()

    @admin.display(description="error")
    def short_error(self, obj: CleanJob) -> str:
        return obj.error if len(obj.error) <= 120 else obj.error[:117] + "..."

    @admin.display(description="log")
    def log_link(self, obj: CleanJob):
        return format_html('<a href="/{}">job.log</a>', obj.log_url.lstrip("/"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # queued by deleting runs

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(FlakinessJob)
class FlakinessJobAdmin(CleanJobAdmin):
    """Queued after imports into runs of a series; read-only like the clean jobs."""

    list_display = (
        "id",
        "series",
        "state",
        "attempts",
        "progress",
        "flaky",
        "created_at",
        "finished_at",
        "short_error",
    )
    list_filter = ("state", "series")


@admin.register(FlakyTest)
class FlakyTestAdmin(admin.ModelAdmin):
    """Derived rows (results.services.flaky replaces them): to look at, not to edit."""

    list_display = (
        "test_name",
        "project",
        "host",
        "context",
        "series",
        "flips",
        "retried",
        "runs",
        "last_status",
        "computed_at",
    )
    list_filter = ("series", "project")
    list_select_related = ("project",)
    search_fields = ("test_name",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# --- expected tests, results, projects, contacts ---------------------------------------------


class ExpectedTestForm(forms.ModelForm):
    class Meta:
        model = ExpectedTest
        fields = ["run_class", "project", "host", "context", "test_name"]

    def clean_run_class(self) -> str:
        # The same rule as gen_expected/check_expected, or the class could never be checked.
        try:
            return validate_run_class(self.cleaned_data["run_class"])
        except AssayError as exc:
            raise forms.ValidationError(exc.detail) from None


@admin.register(ExpectedTest)
class ExpectedTestAdmin(admin.ModelAdmin):
    form = ExpectedTestForm
    list_display = ("run_class", "project", "host", "context", "test_name")
    list_filter = ("run_class", "project")
    list_select_related = ("project",)
    search_fields = ("test_name",)
    # delete_selected (Django's) is fine here: an expected test has nothing hanging off it.


class StatusFilter(admin.SimpleListFilter):
    """Fixed choices: Django's default filter would SELECT DISTINCT over every result."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(s, f"{s} ({STATUS_LABELS[s]})") for s in STATUS_ORDER]

    def queryset(self, request, queryset):
        value = self.value()
        if value:
            return queryset.filter(status=value)  # a site's own letter works too: ?status=x
        return queryset


@admin.register(TestResult)
class TestResultAdmin(admin.ModelAdmin):
    """Browse only: results are written by imports, which keep the run's counts right."""

    list_display = ("run", "project", "host", "context", "test_name", "status")
    list_display_links = ("test_name",)
    list_filter = (StatusFilter,)
    list_select_related = ("run", "project")
    search_fields = ("test_name",)
    raw_id_fields = ("run", "project")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    actions = None

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        # The site search's match (results.selectors.search): Django's icontains upper-cases
        # in the column's collation, and under TestResult's bytewise "C" only ASCII letters.
        if not search_term.strip():
            return queryset, False
        return queryset.filter(NameContains(F("test_name"), search_term)), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)

    def get_deleted_objects(self, objs, request):
        # Results protect their project. Django would load every protected result to list
        # it; say which projects still have results instead.
        pks = [p.pk for p in objs]
        blocked = Project.objects.filter(pk__in=pks).filter(
            Exists(TestResult.objects.filter(project=OuterRef("pk")))
        )
        protected = [
            f"{p.name}: has test results (delete its runs and let the clean job finish first)"
            for p in blocked
        ]
        if protected:
            return [], {}, set(), protected
        return super().get_deleted_objects(objs, request)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Edited here, or replaced per project by `manage.py import_contacts`."""

    list_display = ("project", "test_prefix", "email", "format", "line_limit")
    list_editable = ("format", "line_limit")
    list_filter = ("project", "format")
    list_select_related = ("project",)
    search_fields = ("email", "test_prefix")


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    """What notify_contacts sent. Deleting a row lets the run be announced to it again."""

    list_display = ("run", "email", "sent_at", "tests", "subject")
    list_filter = (("sent_at", admin.EmptyFieldListFilter),)
    list_select_related = ("run",)
    search_fields = ("email", "run__name")
    raw_id_fields = ("run",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # written by notify_contacts

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# --- triage ----------------------------------------------------------------------------------


class TriageCommentInline(admin.TabularInline):
    model = TriageComment
    extra = 1
    fields = ("text", "author", "at")
    readonly_fields = ("author", "at")


@admin.register(Triage)
class TriageAdmin(admin.ModelAdmin):
    """Triages of tests and clusters (the pages and the API set them too): who and when are
    recorded from the signed-in user; the model's constraints keep one target per row."""

    list_display = (
        "target",
        "project",
        "defect_type",
        "ticket",
        "muted",
        "muted_until",
        "muted_now",
        "updated_by",
        "updated_at",
    )
    list_filter = ("defect_type", "muted", "project")
    list_select_related = ("project",)
    search_fields = ("test_name", "fingerprint", "ticket")
    readonly_fields = ("created_by", "created_at", "updated_by", "updated_at")
    inlines = [TriageCommentInline]

    @admin.display(description="Test or cluster")
    def target(self, obj: Triage) -> str:
        return obj.target_label

    @admin.display(boolean=True, description="Muted now")
    def muted_now(self, obj: Triage) -> bool:
        return obj.is_muted()

    def save_model(self, request: HttpRequest, obj: Triage, form, change: bool) -> None:
        who, now = request.user.get_username(), timezone.now()
        if not change:
            obj.created_by, obj.created_at = who, now
        obj.updated_by, obj.updated_at = who, now
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        for comment in formset.save(commit=False):
            if not comment.author:
                comment.author = request.user.get_username()
            comment.save()
        for gone in formset.deleted_objects:
            gone.delete()
