"""REST API of the results app: parse, call a service or selector, shape the answer."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import AssayError
from results import selectors, services
from results.models import STATUS_LETTERS, ExpectedTest, Project, TestResult, TestRun
from results.services.imports import ImportDefaults


class RunSerializer(serializers.ModelSerializer):
    counts = serializers.JSONField(source="status_counts", read_only=True)
    total = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = TestRun
        fields = ["name", "prefix", "run_date", "created_at", "valuable", "counts", "total"]
        fields += ["url", "api_url"]

    def get_url(self, run: TestRun) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("results:run-detail", args=[run.name])
        )

    def get_api_url(self, run: TestRun) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("api-run-detail", args=[run.name])
        )


class ResultSerializer(serializers.ModelSerializer):
    run = serializers.CharField(source="run.name", read_only=True)
    project = serializers.CharField(source="project.name", read_only=True)

    class Meta:
        model = TestResult
        fields = [
            "id", "run", "project", "host", "context", "test_name", "status", "start_time",
            "end_time", "duration", "location", "test_runner", "tda", "tra",
        ]  # fmt: skip


class ResultDetailSerializer(ResultSerializer):
    class Meta(ResultSerializer.Meta):
        fields = [*ResultSerializer.Meta.fields, "log"]


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["name", "created_at"]


class ExpectedTestSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name", read_only=True)

    class Meta:
        model = ExpectedTest
        fields = ["id", "run_class", "project", "host", "context", "test_name", "created_at"]


class ImportFormSerializer(serializers.Serializer):
    file = serializers.ListField(
        child=serializers.FileField(), help_text="One or more result files (repeat the field)."
    )
    run = serializers.CharField(required=False, allow_blank=True, help_text="Default run name.")
    project = serializers.CharField(required=False, allow_blank=True)
    host = serializers.CharField(required=False, allow_blank=True)
    context = serializers.CharField(required=False, allow_blank=True)


class ExpectedActionSerializer(serializers.Serializer):
    run_class = serializers.CharField(help_text="Class of runs, e.g. daily.")
    run = serializers.CharField(help_text="Run name; aliases such as daily_latest allowed.")


RUN_LOOKUP = r"[^/]+"


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Test runs. `{name}` accepts aliases: daily_latest, daily_today, daily_yesterday."""

    serializer_class = RunSerializer
    lookup_field = "name"
    lookup_value_regex = RUN_LOOKUP
    filterset_fields = ["prefix", "valuable"]

    def get_queryset(self):
        return selectors.live_runs()

    def get_object(self) -> TestRun:
        return services.get_run(self.kwargs["name"])

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="One or more status letters, e.g. FE"),
            OpenApiParameter("project", str),
            OpenApiParameter("prefix", str, description="Test-name prefix"),
        ],
        responses=ResultSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def results(self, request: Request, name: str) -> Response:
        run = self.get_object()
        status_filter = request.query_params.get("status") or None
        if status_filter and any(ch not in STATUS_LETTERS for ch in status_filter):
            raise AssayError(f"status={status_filter!r}: use letters among P F E D M a-z.")
        qs = selectors.run_results(
            run,
            status=status_filter,
            project=request.query_params.get("project") or None,
            name_prefix=request.query_params.get("prefix") or None,
        ).select_related("run")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ResultSerializer(page, many=True).data)


class ResultCursor(CursorPagination):
    # No COUNT(*) over every result of every run, and stable pages while imports go on.
    ordering = "-id"
    page_size = 100


class ResultViewSet(viewsets.ReadOnlyModelViewSet):
    """All results across runs (newest first); a run's results are under /runs/{name}/results/."""

    queryset = TestResult.objects.select_related("run", "project").filter(
        run__deleted_at__isnull=True
    )
    filterset_fields = ["status", "test_name"]
    pagination_class = ResultCursor

    def get_serializer_class(self):
        return ResultSerializer if self.action == "list" else ResultDetailSerializer

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.defer("log") if self.action == "list" else qs


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProjectSerializer
    queryset = Project.objects.all()
    lookup_field = "name"
    lookup_value_regex = RUN_LOOKUP


class ExpectedTestViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Expected tests per class of runs; generate them from a run, check a run against them."""

    serializer_class = ExpectedTestSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.expected_tests(
            run_class=params.get("run_class") or None, project=params.get("project") or None
        )

    def _summary(self, summary, request: Request, what: str) -> Response:
        return Response(
            {
                "run_class": summary.run_class,
                "run": summary.run.name,
                what: summary.added,
                "total_expected": summary.total_expected,
                "counts": summary.run.status_counts,
            }
        )

    @extend_schema(request=ExpectedActionSerializer, responses={200: dict})
    @action(detail=False, methods=["post"])
    def generate(self, request: Request) -> Response:
        """Add every test of `run` to the expected tests of `run_class` (adds only)."""
        data = _validated(ExpectedActionSerializer, request)
        summary = services.gen_expected(data["run_class"], data["run"])
        return self._summary(summary, request, "added")

    @extend_schema(request=ExpectedActionSerializer, responses={200: dict})
    @action(detail=False, methods=["post"])
    def check(self, request: Request) -> Response:
        """Enter an M record in `run` for every expected test of `run_class` it lacks."""
        data = _validated(ExpectedActionSerializer, request)
        summary = services.check_expected(data["run_class"], data["run"])
        return self._summary(summary, request, "missing_added")


def _validated(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ImportView(APIView):
    """Import result files (pdk log, JUnit XML, Assay JSON; detected automatically).

    All-or-nothing: if any file is refused, nothing of the request is written, and the answer
    names the file and the line."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImportFormSerializer},
        responses={
            201: inline_serializer(
                "ImportAnswer",
                {"files": serializers.ListField(), "runs": serializers.ListField()},
            )
        },
    )
    def post(self, request: Request) -> Response:
        try:
            uploads = request.FILES.getlist("file") + request.FILES.getlist("files")
        except (RequestDataTooBig, TooManyFilesSent, TooManyFieldsSent) as exc:
            raise AssayError(
                f"The upload is too large: {exc}. Send fewer or smaller files per request "
                "(limits: ASSAY_MAX_UPLOAD_BYTES, ASSAY_MAX_UPLOAD_FILES).",
                code="upload_too_large",
            ) from None
        if not uploads:
            raise AssayError(
                "Send one or more files in the multipart field `file`.", code="no_files"
            )
        defaults = ImportDefaults(
            run=request.data.get("run", ""),
            project=request.data.get("project", ""),
            host=request.data.get("host", ""),
            context=request.data.get("context", ""),
        )
        files, runs = services.import_files(((f.name, f.read()) for f in uploads), defaults)
        return Response(
            {
                "files": [
                    {
                        "name": f.filename,
                        "format": f.format,
                        "flavour": f.flavour,
                        "results": f.results,
                        "warnings": f.warnings,
                    }  # fmt: skip
                    for f in files
                ],
                "runs": [
                    {
                        "name": r.run.name,
                        "created": r.created,
                        "imported": r.imported,
                        "new": r.new,
                        "reimported": r.reimported,
                        "replaced_missing": r.replaced_missing,
                        "counts": r.counts,
                        "run_counts": r.run.status_counts,
                        "url": request.build_absolute_uri(
                            reverse("results:run-detail", args=[r.run.name])
                        ),
                        "api_url": request.build_absolute_uri(
                            reverse("api-run-detail", args=[r.run.name])
                        ),
                    }
                    for r in runs
                ],
            },
            status=status.HTTP_201_CREATED,
        )
