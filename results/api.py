"""REST API of the results app: parse, call a service or selector, shape the answer."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from core.exceptions import AssayError, NotFound
from results import selectors, services
from results.models import (
    STATUS_LETTERS,
    ExpectedTest,
    FlakyTest,
    Project,
    RunImport,
    TestResult,
    TestRun,
)
from results.selectors import browse
from results.selectors.compare import KINDS as COMPARE_KINDS
from results.selectors.compare import previous_run
from results.selectors.history import HISTORY_MAX_RUNS, flaky_entry, history_runs
from results.services.expected import RUN_CLASS_RE
from results.services.imports import ImportDefaults
from results.services.logs import log_chunks
from results.services.runs import RUN_NAME_RE


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


class RunImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunImport
        fields = ["at", "who", "source", "results", "new", "reimported", "replaced_missing"]


IMPORTS_LISTED = 100  # the newest imports a run's detail lists


class RunDetailSerializer(RunSerializer):
    imports = serializers.SerializerMethodField(
        help_text=f"The run's newest {IMPORTS_LISTED} imports, newest first."
    )
    imports_total = serializers.SerializerMethodField(help_text="Imports the run has had.")

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "imports", "imports_total"]

    @extend_schema_field(RunImportSerializer(many=True))
    def get_imports(self, run: TestRun) -> list:
        return RunImportSerializer(selectors.run_imports(run, IMPORTS_LISTED)[0], many=True).data

    def get_imports_total(self, run: TestRun) -> int:
        return run.imports.count()


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
    log_size = serializers.IntegerField(
        read_only=True, help_text="The log's full size in bytes, as it was imported."
    )
    log_truncated = serializers.BooleanField(
        read_only=True,
        help_text="The log was longer than ASSAY_MAX_LOG_BYTES: its head and tail are kept.",
    )

    class Meta(ResultSerializer.Meta):
        fields = [*ResultSerializer.Meta.fields, "log", "log_size", "log_truncated"]


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
        child=serializers.FileField(),
        min_length=1,
        help_text="One or more result files (repeat the field).",
    )
    run = serializers.CharField(required=False, allow_blank=True, help_text="Default run name.")
    project = serializers.CharField(required=False, allow_blank=True)
    host = serializers.CharField(required=False, allow_blank=True)
    context = serializers.CharField(required=False, allow_blank=True)


# Names whose pattern the schema gives; the services check them (bad_run_class, bad_run_name),
# for the API as for the CLI.
@extend_schema_field({"type": "string", "pattern": RUN_CLASS_RE.pattern})
class RunClassField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": RUN_NAME_RE.pattern})
class RunNameField(serializers.CharField):
    pass


class ExpectedActionSerializer(serializers.Serializer):
    # Not trimmed: " daily" is no name, as the pattern says.
    run_class = RunClassField(trim_whitespace=False, help_text="Class of runs, e.g. daily.")
    run = RunNameField(
        trim_whitespace=False, help_text="Run name; aliases such as daily_latest allowed."
    )


COMPARE_LIMIT = 1000  # tests per list of a comparison, and per page of ?kind=
TREE_PAGE_SIZE = 1000  # nodes per page of a tree level
OTHER_HELP = "The run to compare with (aliases allowed)."


class ComparedRowSerializer(serializers.Serializer):
    test_name = serializers.CharField()
    project = serializers.CharField()
    host = serializers.CharField()
    context = serializers.CharField()
    before = serializers.CharField(allow_null=True, help_text="Status in the other run.")
    status = serializers.CharField(allow_null=True, help_text="Status in this run.")
    result = serializers.IntegerField(
        source="result_id", allow_null=True, help_text="The result's id in this run."
    )
    other_result = serializers.IntegerField(
        source="other_result_id", allow_null=True, help_text="The result's id in the other run."
    )


_COUNTS = inline_serializer("CompareCounts", {k: serializers.IntegerField() for k in COMPARE_KINDS})
CompareAnswer = inline_serializer(
    "CompareAnswer",
    {
        "run": serializers.CharField(),
        "other": serializers.CharField(),
        "counts": _COUNTS,
        "limit": serializers.IntegerField(help_text="Most tests in each list."),
        **{k: ComparedRowSerializer(many=True, required=False) for k in COMPARE_KINDS},
        "kind": serializers.CharField(required=False, help_text="With ?kind= only."),
        "count": serializers.IntegerField(required=False, help_text="With ?kind= only."),
        "page": serializers.IntegerField(required=False),
        "pages": serializers.IntegerField(required=False),
        "next": serializers.URLField(required=False, allow_null=True),
        "previous": serializers.URLField(required=False, allow_null=True),
        "results": ComparedRowSerializer(many=True, required=False),
    },
)
TreeAnswer = inline_serializer(
    "TreeAnswer",
    {
        "run": serializers.CharField(),
        "prefix": serializers.CharField(),
        "compare": serializers.CharField(allow_null=True),
        "count": serializers.IntegerField(),
        "page": serializers.IntegerField(),
        "pages": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "nodes": inline_serializer(
            "TreeNode",
            {
                "name": serializers.CharField(),
                "path": serializers.CharField(help_text="The `prefix` of the level below."),
                "is_leaf": serializers.BooleanField(),
                "counts": serializers.DictField(child=serializers.IntegerField()),
                "delta": serializers.DictField(child=serializers.IntegerField()),
                "total": serializers.IntegerField(),
            },
            many=True,
        ),
    },
)
PAGE = {"type": "integer", "minimum": 1}
# What a run's name may be (results.services.runs.RUN_NAME_RE): a path that names no possible
# run is no route (404), and the schema says so.
RUN_LOOKUP = RUN_NAME_RE.pattern.strip("^$")
RUN_NAME = {"type": "string", "pattern": RUN_NAME_RE.pattern}
COMPARE_PARAMETERS = [
    OpenApiParameter(
        "kind", str, enum=list(COMPARE_KINDS),
        description="Page through one list instead of the first tests of each.",
    ),
    OpenApiParameter("page", PAGE, description=f"With kind: {COMPARE_LIMIT:,} tests a page."),
]  # fmt: skip


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page") or "1"  # empty: as if not given, as DRF's
    if not raw.isdigit() or int(raw) < 1:
        raise AssayError(f"page={raw[:20]!r}: use a page number from 1.", code="bad_page")
    return int(raw)


def _page(request: Request, count: int, size: int) -> tuple[int, int, dict]:
    """(page number, pages, next/previous links) of ?page= over `count` items."""
    pages = max(1, -(-count // size))
    page = _page_number(request)
    if page > pages:
        raise NotFound(f"There are {pages} page(s); page {page} is past the end.", code="no_page")
    url = request.build_absolute_uri()
    return (
        page,
        pages,
        {
            "next": replace_query_param(url, "page", page + 1) if page < pages else None,
            "previous": replace_query_param(url, "page", page - 1) if page > 1 else None,
        },
    )


def _rows(rows) -> list:
    return ComparedRowSerializer(rows, many=True).data


def _comparison(request: Request, run: TestRun, other: TestRun) -> Response:
    _page_number(request)  # a bad page is refused even where it is not used
    if other.pk == run.pk:
        raise AssayError(
            f"Both names are the run {run.name}: compare it with another run.", code="same_run"
        )
    counts = vars(browse.cached_compare_counts(run, other))
    answer = {"run": run.name, "other": other.name, "counts": counts, "limit": COMPARE_LIMIT}
    kind = request.query_params.get("kind") or None
    if kind is None:
        for k in COMPARE_KINDS:
            rows = browse.compared_rows(run, other, k, limit=COMPARE_LIMIT) if counts[k] else []
            answer[k] = _rows(rows)
        return Response(answer)
    if kind not in COMPARE_KINDS:
        raise AssayError(f"kind={kind[:40]!r}: one of {', '.join(COMPARE_KINDS)}.", code="bad_kind")
    page, pages, links = _page(request, counts[kind], COMPARE_LIMIT)
    rows = browse.compared_rows(
        run, other, kind, offset=(page - 1) * COMPARE_LIMIT, limit=COMPARE_LIMIT
    )
    answer.update(kind=kind, count=counts[kind], page=page, pages=pages, **links)
    answer["results"] = _rows(rows)
    return Response(answer)


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Test runs. `{name}` accepts aliases: daily_latest, daily_today, daily_yesterday."""

    serializer_class = RunSerializer
    lookup_field = "name"
    lookup_value_regex = RUN_LOOKUP
    filterset_fields = ["prefix", "valuable"]

    def get_queryset(self):
        return selectors.live_runs()

    def get_serializer_class(self):
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    def get_object(self) -> TestRun:
        return services.get_run(self.kwargs["name"])

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                {"type": "string", "pattern": f"^[{''.join(STATUS_LETTERS)}]*$"},
                description="One or more status letters, e.g. FE",
            ),
            OpenApiParameter("project", str),
            OpenApiParameter("prefix", str, description="Test-name prefix"),
        ],
        responses=ResultSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])  # the runs' filters are not its
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

    @extend_schema(
        summary="Compare a run with another run",
        operation_id="v1_runs_compare",
        parameters=[
            OpenApiParameter("other", RUN_NAME, OpenApiParameter.PATH, description=OTHER_HELP),
            *COMPARE_PARAMETERS,
        ],
        responses={200: CompareAnswer},
    )
    @action(detail=True, methods=["get"], url_path=rf"compare/(?P<other>{RUN_LOOKUP})")
    def compare(self, request: Request, name: str, other: str) -> Response:
        """Regressions (P before; F, E or M now), fixes (F, E or M before; P now), new and
        vanished tests of `{name}` against `{other}`. Each list holds at most the first 1,000
        tests; `?kind=regressions&page=N` pages through one list (1,000 a page)."""
        return _comparison(request, self.get_object(), services.get_run(other))

    @extend_schema(
        summary="Compare a run with the previous run of its prefix",
        operation_id="v1_runs_compare_previous",
        parameters=COMPARE_PARAMETERS,
        responses={200: CompareAnswer},
    )
    @action(detail=True, methods=["get"], url_path="compare", url_name="compare-previous")
    def compare_previous(self, request: Request, name: str) -> Response:
        """Like compare/{other}/, against the run before this one of the same recurring prefix
        (404 `no_previous_run` when there is none, e.g. for a run that is not recurring)."""
        run = self.get_object()
        other = previous_run(run)
        if other is None:
            raise NotFound(
                f"{run.name} has no previous run to compare with (only recurring runs "
                "<prefix>_YYYY-MM-DD have one); name one: compare/{other}/.",
                code="no_previous_run",
            )
        return _comparison(request, run, other)

    @extend_schema(
        summary="One level of the run's test-name tree",
        parameters=[
            OpenApiParameter(
                "prefix", {"type": "string", "pattern": r"^([\s\S]*[./])?$"},
                description="The level: empty for the root, else ending with "
                "its separator, e.g. `engine.storage.` (the `path` of a group node)."
            ),
            OpenApiParameter(
                "compare", {"type": "string", "pattern": f"^$|{RUN_NAME_RE.pattern}"},
                description="Run the deltas are against (aliases allowed); "
                "default: the previous run of the prefix; empty: no comparison."
            ),
            OpenApiParameter("page", PAGE, description=f"{TREE_PAGE_SIZE:,} nodes a page."),
        ],
        responses={200: TreeAnswer},
    )  # fmt: skip
    @action(detail=True, methods=["get"])
    def tree(self, request: Request, name: str) -> Response:
        """Counts per status of each child of `prefix` (Pandokia's tree walk) and, against the
        comparison run, the change of each count."""
        run = self.get_object()
        prefix = request.query_params.get("prefix", "")
        if prefix and not prefix.endswith(browse.SEPARATORS):
            raise AssayError(
                f"prefix={prefix[:80]!r}: a level ends with its separator (. or /), "
                "e.g. the `path` of a group node.",
                code="bad_prefix",
            )
        if "compare" not in request.query_params:
            other = previous_run(run)
        else:
            wanted = request.query_params["compare"].strip()
            other = services.get_run(wanted) if wanted else None
        nodes = browse.cached_tree_level(run, prefix, other)
        page, pages, links = _page(request, len(nodes), TREE_PAGE_SIZE)
        start = (page - 1) * TREE_PAGE_SIZE
        return Response(
            {
                "run": run.name,
                "prefix": prefix,
                "compare": other.name if other else None,
                "count": len(nodes),
                "page": page,
                "pages": pages,
                **links,
                "nodes": [
                    {
                        "name": n.name,
                        "path": n.path,
                        "is_leaf": n.is_leaf,
                        "counts": n.counts,
                        "delta": n.delta,
                        "total": n.total,
                    }  # fmt: skip
                    for n in nodes[start : start + TREE_PAGE_SIZE]
                ],
            }
        )


HISTORY_N_HELP = "How many runs (1 to 100; default ASSAY_HISTORY_RUNS)."


def _history_n(raw: str | None) -> int:
    if raw in (None, ""):
        return history_runs()
    if not raw.isdigit() or not 1 <= int(raw) <= HISTORY_MAX_RUNS:
        raise AssayError(f"n={raw[:20]!r}: use a whole number from 1 to {HISTORY_MAX_RUNS}.")
    return int(raw)


class HistoryCellSerializer(serializers.Serializer):
    run = serializers.CharField(source="run.name")
    run_date = serializers.DateField(source="run.run_date", allow_null=True)
    status = serializers.CharField(allow_null=True, help_text="null: the test did not run.")
    result = serializers.IntegerField(source="result_id", allow_null=True)
    current = serializers.BooleanField(help_text="The run of the result asked about.")


class FlakySerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name")
    window_end = serializers.CharField(source="window_end.name", help_text="Newest run looked at.")
    last_result = serializers.IntegerField(source="last_result_id", allow_null=True)
    last_result_url = serializers.SerializerMethodField()

    class Meta:
        model = FlakyTest
        fields = [
            "prefix", "project", "host", "context", "test_name", "flips", "runs", "last_status",
            "last_result", "last_result_url", "window_end", "computed_at",
        ]  # fmt: skip

    def get_last_result_url(self, flaky: FlakyTest) -> str | None:
        if flaky.last_result_id is None:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("results:result-detail", args=[flaky.last_result_id])
        )


class HistorySerializer(serializers.Serializer):
    prefix = serializers.CharField(help_text="Empty for a run that is not recurring.")
    runs = HistoryCellSerializer(source="cells", many=True)
    flaky = FlakySerializer(allow_null=True, help_text="null unless the test is flaky.")


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
        return qs.defer("log") if self.action in ("list", "history") else qs

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "n",
                {"type": "integer", "minimum": 1, "maximum": HISTORY_MAX_RUNS},
                description=HISTORY_N_HELP,
            )
        ],  # fmt: skip
        responses=HistorySerializer,
    )
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        """The test's status in each of the last n runs of its run's prefix, oldest first
        (`status` null: the test did not run there). A run without a prefix has only itself."""
        result = self.get_object()
        n = _history_n(request.query_params.get("n"))
        history = selectors.result_history(result, n)
        answer = {"prefix": history.prefix, "cells": history.cells, "flaky": flaky_entry(result)}
        return Response(HistorySerializer(answer, context={"request": request}).data)

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def log(self, request: Request, pk: str) -> StreamingHttpResponse:
        """The result's log as plain text, streamed (as stored: cut past ASSAY_MAX_LOG_BYTES)."""
        result = self.get_object()
        size = len(result.log.encode("utf-8", "surrogatepass"))
        response = StreamingHttpResponse(
            log_chunks(result.log), content_type="text/plain; charset=utf-8"
        )
        response["Content-Length"] = str(size)
        response["Content-Disposition"] = f'inline; filename="result-{result.pk}.log"'
        return response


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProjectSerializer
    queryset = Project.objects.all()
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"


class ExpectedTestViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Expected tests per class of runs; generate them from a run, check a run against them."""

    serializer_class = ExpectedTestSerializer
    write_permissions = {"*": "import_results"}

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


def _cut_off(request: Request) -> tuple[int, int] | None:
    """(bytes received, Content-Length) when the body ended before its announced length,
    whichever parser read it (DRF's, or Django's when a session's CSRF check read it first):
    both read through the request's LimitedStream, which counts what it gave."""
    stream = getattr(request._request, "_stream", None)
    received, limit = getattr(stream, "_pos", None), getattr(stream, "limit", None)
    if isinstance(received, int) and isinstance(limit, int) and received < limit:
        return received, limit
    return None


class ImportView(APIView):
    """Import result files (pdk log, JUnit XML, Assay JSON; detected automatically).

    All-or-nothing: if any file is refused, nothing of the request is written, and the answer
    names the file and the line."""

    parser_classes = [MultiPartParser, FormParser]
    write_permissions = {"*": "import_results"}

    @extend_schema(
        request={"multipart/form-data": ImportFormSerializer},
        responses={
            201: inline_serializer(
                "ImportAnswer",
                {"files": serializers.ListField(), "runs": serializers.ListField()},
            ),
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
        if cut := _cut_off(request):
            # Django's multipart parser drops an unfinished part and keeps the files before it:
            # without this, a client cut off mid-upload got a 201 for part of its request
            # (found by crashtest's imports workload).
            raise AssayError(
                f"The upload ended after {cut[0]} of its {cut[1]} bytes (was the connection "
                "cut?): nothing was imported; send it again.",
                code="upload_cut_off",
            )
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
        # Parsed first, then written in one short transaction that is retried while the
        # database is busy (results.services.imports.import_files, core.db.retry_on_busy).
        files, runs = services.import_files(
            ((f.name, f) for f in uploads),  # read in chunks as they are parsed
            defaults,
            who=request.user.get_username(),
            user=request.user,
        )
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


class FlakyTestViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Flaky tests: status flipped at least ASSAY_FLAKY_FLIPS times in the last
    ASSAY_HISTORY_RUNS runs of a prefix (D and M skipped), most flips first."""

    serializer_class = FlakySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("prefix", str, description="Recurring prefix, e.g. daily"),
            OpenApiParameter("project", str),
        ]
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.flaky_tests(
            prefix=params.get("prefix") or None, project=params.get("project") or None
        )
