"""Admin of querygen: pairs are made here (checked as a run would be), runs and findings are
read here, groups are triaged here, known issues are written here (their pattern must compile).

The services are imported where they are used: every process loads the admin at start-up."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from core.exceptions import AssayError
from querygen.engine.signature import KnownIssue as EngineKnownIssue
from querygen.models import Finding, Group, GroupStatus, KnownIssue, Pair, QuerygenRun

# --- pairs ---------------------------------------------------------------------------------------


class PairForm(forms.ModelForm):
    class Meta:
        model = Pair
        fields = [
            "name", "description", "sut", "reference", "oracle", "sut_python", "ladder",
            "profile",
            "budget_queries", "budget_seconds", "timeout", "max_rows", "every_minutes", "enabled",
        ]  # fmt: skip

    def clean(self) -> dict:
        from querygen.services import runs

        data = super().clean()
        if self.errors or not data.get("sut"):
            return data
        try:  # the checks a run of this pair would meet: refuse now what would fail then
            runs.build_run(
                sut=data["sut"],
                reference=data.get("reference"),
                oracle=data.get("oracle") or "",
                sut_python=data.get("sut_python") or "",
                ladder=data.get("ladder") or [],
                profile=data.get("profile") or {},
                budget_queries=data.get("budget_queries"),
                budget_seconds=data.get("budget_seconds"),
                timeout=data.get("timeout"),
                max_rows=data.get("max_rows"),
            )
        except AssayError as exc:
            raise forms.ValidationError(exc.detail) from None
        return data


@admin.register(Pair)
class PairAdmin(admin.ModelAdmin):
    form = PairForm
    list_display = (
        "name", "sut", "reference", "oracle", "every_minutes", "enabled", "last_started_at",
        "last_error",
    )  # fmt: skip
    list_filter = ("enabled", "oracle")
    search_fields = ("name", "description")
    list_select_related = ("sut", "reference")
    readonly_fields = ("last_started_at", "last_error")
    actions = ["start_now"]

    @admin.action(description="Start a run now")
    def start_now(self, request, queryset) -> None:
        from querygen.services import runs

        for pair in queryset:
            try:
                run = runs.submit_pair(pair)
            except AssayError as exc:
                self.message_user(request, f"pair {pair}: {exc.detail}", messages.ERROR)
                continue
            self.message_user(request, f"pair {pair}: run {run.pk} queued", messages.SUCCESS)


# --- runs and findings ---------------------------------------------------------------------------


@admin.register(QuerygenRun)
class QuerygenRunAdmin(admin.ModelAdmin):
    list_display = (
        "id", "label", "pair", "scope_text", "state", "queries", "findings", "created_at", "page",
    )  # fmt: skip
    list_filter = ("state", "oracle", "pair")
    search_fields = ("label", "results_run", "=id")
    list_select_related = ("sut", "reference", "pair")
    # Runs are made by the API, the CLI and the schedule, which validate them.
    readonly_fields = [f.name for f in QuerygenRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    # A group's count is its finding rows: deleting a run (and its findings) here would leave
    # the counts wrong.
    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="scope")
    def scope_text(self, obj: QuerygenRun) -> str:
        return obj.scope

    @admin.display(description="page")
    def page(self, obj: QuerygenRun) -> str:
        return format_html('<a href="{}">report</a>', reverse("querygen:run-detail", args=[obj.pk]))


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "group", "run", "seed", "index", "reduced_size", "created_at")
    list_filter = ("kind",)
    search_fields = ("=id", "=run__id", "=group__id", "raw_signature")
    list_select_related = ("group", "run")
    readonly_fields = [f.name for f in Finding._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- groups --------------------------------------------------------------------------------------


class GroupForm(forms.ModelForm):
    link = forms.URLField(
        max_length=500, required=False, assume_scheme="https", help_text="The bug report."
    )

    class Meta:
        model = Group
        fields = ["status", "link", "note"]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("status") == GroupStatus.KNOWN and not data.get("link"):
            self.add_error("link", "A known group needs a link to its bug report.")
        return data


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    form = GroupForm
    list_display = ("signature", "title", "scope", "kind", "status", "count", "last_seen", "page")
    list_filter = ("status", "kind")
    search_fields = ("signature", "title", "scope", "error")
    readonly_fields = (
        "scope", "signature", "kind", "title", "shape", "error", "count", "first_seen",
        "last_seen", "first_run", "last_run", "reduced", "merged_into",
    )  # fmt: skip
    fields = ("status", "link", "note", *readonly_fields)
    actions = ["mark_ignored", "reopen"]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj: Group, form, change: bool) -> None:
        from querygen.services import groups

        # The form set the fields; the service saves them (and holds the status rules).
        groups.set_status(obj, obj.status, link=obj.link, note=obj.note)

    @admin.display(description="page")
    def page(self, obj: Group) -> str:
        return format_html(
            '<a href="{}">samples</a>', reverse("querygen:group-detail", args=[obj.pk])
        )

    def _set(self, request, queryset, status: str) -> None:
        from querygen.services import groups

        for group in queryset:
            groups.set_status(group, status)
        self.message_user(request, f"{queryset.count()} group(s) marked {status}", messages.SUCCESS)

    @admin.action(description="Mark ignored (left out of results)")
    def mark_ignored(self, request, queryset) -> None:
        self._set(request, queryset, GroupStatus.IGNORED)

    @admin.action(description="Reopen (mark new)")
    def reopen(self, request, queryset) -> None:
        self._set(request, queryset, GroupStatus.NEW)


# --- known issues --------------------------------------------------------------------------------


class KnownIssueForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="The bug report.")

    class Meta:
        model = KnownIssue
        fields = ["pattern", "url", "action", "enabled", "description"]

    def clean(self) -> dict:
        data = super().clean()
        pattern = data.get("pattern")
        if pattern is None:
            return data
        try:  # the engine's own check: the pattern compiles and is not empty
            EngineKnownIssue(pattern, data.get("url") or "", data.get("action") or "label")
        except ValueError as exc:
            message = str(exc).split(": ", 1)[-1]  # drop "known issue <url>: "
            self.add_error("pattern", message[:1].upper() + message[1:] + ".")
        return data


@admin.register(KnownIssue)
class KnownIssueAdmin(admin.ModelAdmin):
    form = KnownIssueForm
    list_display = ("id", "pattern", "url", "action", "enabled", "description")
    list_filter = ("action", "enabled")
    search_fields = ("pattern", "url", "description")
