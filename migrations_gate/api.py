"""REST API of the migration gate: submit a check of a change (a CI's call, answered 202 with a
Location to poll), read it and its Markdown summary, recheck it; list datasets and projects.

Thin: parse the body, call migrations_gate.services, shape the answer. Every check of a
project, a ref or a dataset is the services'; an AssayError becomes 400 {"error", "detail"}
in core.exceptions.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.exceptions import AssayError, Conflict, NotFound
from core.secrets import scrub
from core.serializers import ScrubbedText, StrictSerializer
from migrations_gate.models import Check, Dataset, Outcome, Project
from migrations_gate.services import checks

NAMESPACE = "gate-api"


def _absolute(serializer: serializers.Serializer, path: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request else path


def _site_url(path: str) -> str:
    """A link for a CI comment: the site's own address, not the one this request came by."""
    return settings.ASSAY_BASE_URL + "/" + path.lstrip("/")


def _body(request: Request) -> Any:
    """The body as parsed. A body of another type than JSON (a form, bytes) is a 400 in the
    one error shape: a CI script reads "error", not a status."""
    try:
        return request.data
    except UnsupportedMediaType:
        raise AssayError(
            "Send a JSON object (Content-Type: application/json).", code="bad_request"
        ) from None


def _outcome(check: Check) -> str | None:
    # A job that failed for good (the gate broke, not the change) is the gate's internal error.
    if check.outcome:
        return check.outcome
    return Outcome.INTERNAL_ERROR if check.has_failed else None


# --- checks --------------------------------------------------------------------------------------


class GateCheckSubmitSerializer(StrictSerializer):
    project = serializers.CharField(help_text="A gated project's name.")
    ref = serializers.CharField(
        allow_blank=True,
        help_text="A branch, tag, commit or change ref (refs/changes/..., refs/pull/...).",
    )
    refspec = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Fetched from the origin first, when it does not advertise the ref by name "
        "(refs/changes/34/1234/2:refs/heads/change-1234).",
    )


class GateLockSerializer(serializers.Serializer):
    relation = serializers.CharField()
    mode = serializers.CharField(help_text="PostgreSQL's lock mode, e.g. AccessExclusiveLock.")
    seconds = serializers.FloatField()
    waited = serializers.BooleanField()


class GateStepSerializer(serializers.Serializer):
    migration = serializers.CharField()
    status = serializers.CharField()
    seconds = serializers.FloatField()
    wal_bytes = serializers.IntegerField(allow_null=True, help_text="null: not watched (SQLite).")
    size_change_bytes = serializers.IntegerField(allow_null=True)
    rewritten = serializers.ListField(child=serializers.CharField(), allow_null=True)
    locks = GateLockSerializer(many=True, allow_null=True)


class GateFindingSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    code = serializers.CharField()
    migration = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class GateDatasetRecordSerializer(serializers.Serializer):
    dataset = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    error = serializers.CharField(allow_blank=True, help_text="Why it could not be checked.")
    findings = GateFindingSerializer(many=True)
    steps = GateStepSerializer(many=True)
    left = serializers.IntegerField(allow_null=True, help_text="Migrations not run.")
    log_url = serializers.CharField(help_text="This dataset's log (staff).")


class GateCheckSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    state = serializers.CharField(read_only=True, help_text="The job: queued, running, ...")
    error = ScrubbedText()
    outcome = serializers.SerializerMethodField(
        help_text="SUCCESS, WARNING, FAILURE or INTERNAL_ERROR; null while not done."
    )
    datasets = serializers.SerializerMethodField()
    log_url = serializers.SerializerMethodField(help_text="The check's log (staff).")
    results_url = serializers.SerializerMethodField()
    summary_url = serializers.SerializerMethodField(help_text="The summary as text/markdown.")
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = Check
        fields = [
            "id", "project", "ref", "refspec", "commit", "state", "outcome", "datasets", "summary",
            "log_url", "results_run", "results_url", "recheck_of", "attempts", "error",
            "progress_done", "progress_total", "progress_message", "created_at", "started_at",
            "finished_at", "summary_url", "api_url",
        ]  # fmt: skip

    def get_outcome(self, check: Check) -> str | None:
        return _outcome(check)

    @extend_schema_field(GateDatasetRecordSerializer(many=True))
    def get_datasets(self, check: Check) -> list[dict[str, Any]]:
        base = check.log_url.rsplit("/", 1)[0]
        return [
            {
                **record,
                "error": scrub(record.get("error", ""), known=()),
                "log_url": _site_url(f"{base}/{record['dataset']}.log"),
            }
            for record in check.datasets
        ]

    def get_log_url(self, check: Check) -> str:
        return _site_url(check.log_url)

    def get_results_url(self, check: Check) -> str | None:
        if not check.results_run:
            return None
        return _absolute(self, reverse("api-run-detail", args=[check.results_run]))

    def get_summary_url(self, check: Check) -> str:
        return _absolute(self, reverse(f"{NAMESPACE}:check-summary", args=[check.pk]))

    def get_api_url(self, check: Check) -> str:
        return _absolute(self, reverse(f"{NAMESPACE}:check-detail", args=[check.pk]))


class CheckFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__name", help_text="A project's name.")
    outcome = django_filters.ChoiceFilter(
        choices=Outcome.choices, method="filter_outcome", help_text="As the check's outcome."
    )
    state = django_filters.CharFilter()
    ref = django_filters.CharFilter()

    class Meta:
        model = Check
        fields = ["project", "outcome", "state", "ref"]

    def filter_outcome(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        match = Q(outcome=value)
        if value == Outcome.INTERNAL_ERROR:  # as _outcome shows a job that failed for good
            match |= Q(outcome="", state="failed")
        return queryset.filter(match)


class CheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Checks: a change (a project's ref) with its migrations run on every dataset of the
    project. Submitting answers 202 with the check and a Location to poll until its state is
    succeeded or failed; then `outcome` is the verdict and `summary` a Markdown comment."""

    queryset = Check.objects.select_related("project").order_by("-created_at", "-pk")
    serializer_class = GateCheckSerializer
    filterset_class = CheckFilter
    write_permissions = {"*": "submit_gate_check"}

    def _accepted(self, request: Request, check: Check) -> Response:
        body = GateCheckSerializer(check, context={"request": request}).data
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["api_url"]}
        )

    @extend_schema(
        request=GateCheckSubmitSerializer,
        responses={202: GateCheckSerializer},
        description="Queue a check of `ref` of `project` (a token or a staff login).",
    )
    def create(self, request: Request) -> Response:
        form = GateCheckSubmitSerializer(data=_body(request))
        form.is_valid(raise_exception=True)
        try:
            check = checks.submit_check(**form.validated_data)
        except NotFound as exc:  # the body names no project: bad input, not a missing page
            raise AssayError(exc.detail, code="unknown_project") from None
        return self._accepted(request, check)

    @extend_schema(request=None, responses={202: GateCheckSerializer})
    @action(detail=True, methods=["post"])
    def recheck(self, request: Request, pk: str) -> Response:
        """Check the same project and ref again (turbo-hipster's "recheck"): a new check,
        whose recheck_of is this one."""
        return self._accepted(request, checks.recheck(self.get_object().pk))


class MarkdownRenderer(renderers.BaseRenderer):
    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: dict | None = None) -> bytes:  # fmt: skip
        return str(data).encode(self.charset)


class CheckSummaryView(GenericAPIView):
    """A finished check's summary as text/markdown, ready to post as a CI comment."""

    queryset = Check.objects.select_related("project")
    renderer_classes = [MarkdownRenderer]

    @extend_schema(
        operation_id="v1_gate_checks_summary_retrieve",
        responses={
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="Markdown."),
            (409, "application/json"): OpenApiResponse(description="Not finished yet."),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        check = self.get_object()
        if not check.is_finished:
            raise Conflict(f"check {check.pk} is {check.state}: no summary until it finishes")
        if check.summary:
            return Response(check.summary)
        # failed for good before it could summarize: still something a CI can post
        return Response(
            f"**Migrations gate: {Outcome.INTERNAL_ERROR}** for {check.project.name} at "
            f"`{check.ref}`: the check could not run ([log]({_site_url(check.log_url)}))\n"
        )

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        # Errors keep the API's one JSON shape, whatever this view renders on success.
        self.request.accepted_renderer = renderers.JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return response


# --- datasets and projects -----------------------------------------------------------------------


class GateDatasetSerializer(serializers.ModelSerializer):
    server = serializers.SlugRelatedField(
        slug_field="name",
        read_only=True,
        allow_null=True,
        help_text="PostgreSQL: the gate's server (an Engine).",
    )
    projects = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Dataset
        fields = [
            "id", "name", "kind", "server", "template", "path", "source", "rules",
            "rules_digest", "size_bytes", "tables", "schema_version", "projects", "created_at",
        ]  # fmt: skip


class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    """Datasets: anonymized copies of production-like databases, registered with
    `manage.py gate dataset add`; every check clones them."""

    queryset = Dataset.objects.select_related("server").prefetch_related("projects")
    serializer_class = GateDatasetSerializer
    lookup_field = "name"
    filterset_fields = ["kind"]


class GateProjectSerializer(serializers.ModelSerializer):
    repository = serializers.SerializerMethodField()
    datasets = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    checks_url = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id", "name", "repository", "kind", "directory", "target", "requirements",
            "datasets", "time_limit_seconds", "default_migration_seconds", "min_history",
            "too_long_fails", "lock_budget_seconds", "large_table_bytes", "created_at",
            "checks_url",
        ]  # fmt: skip

    def get_repository(self, project: Project) -> str:
        return scrub(project.repository, known=())  # https://user:token@host/...: never shown

    def get_checks_url(self, project: Project) -> str:
        return _absolute(self, reverse(f"{NAMESPACE}:check-list") + f"?project={project.name}")


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    """Gated projects: a repository, its kind of migrations, its datasets and thresholds."""

    queryset = Project.objects.prefetch_related("datasets")
    serializer_class = GateProjectSerializer
    lookup_field = "name"
    filterset_fields = ["kind"]
