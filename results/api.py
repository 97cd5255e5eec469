"""REST API of the results app: parse, call a service or selector, shape the answer."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
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
from core.serializers import StrictSerializer
from results import selectors, services
from results.importers import BuildInfo
from results.importers.base import BUILD_FIELDS, ISO_DATETIME_PATTERN
from results.models import (
    ATTRIBUTE_KEY_RE,
    STATUS_LETTERS,
    DefectType,
    ExpectedTest,
    FlakyTest,
    Project,
    RunImport,
    TestResult,
    TestRun,
    Triage,
    TriageComment,
)
from results.selectors import browse, trends
from results.selectors.clusters import FINGERPRINT_RE, SAMPLE_TESTS, cluster, run_clusters
from results.selectors.compare import KINDS as COMPARE_KINDS
from results.selectors.compare import next_run, previous_run
from results.selectors.history import HISTORY_MAX_RUNS, flaky_entry, history_runs
from results.selectors.triage import current_mutes, triages
from results.services.builds import MAX_ATTRIBUTES, build_from_fields, parse_attribute_pairs
from results.services.expected import RUN_CLASS_RE
from results.services.imports import ImportDefaults
from results.services.logs import log_chunks
from results.services.runs import RUN_NAME_RE
from results.services.triage import (
    COMMENT_MAX,
    TriageChange,
    add_comment,
    delete_triage,
    set_triage,
    target_of,
    update_triage,
)


class RunSerializer(serializers.ModelSerializer):
    counts = serializers.JSONField(source="status_counts", read_only=True)
    total = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()
    attributes = serializers.DictField(
        child=serializers.CharField(), read_only=True, help_text="The build's key/values."
    )

    class Meta:
        model = TestRun
        fields = ["name", "prefix", "run_date", "created_at", "valuable", "counts", "total"]
        fields += ["series", "started_at", "ended_at", "branch", "commit", "build_url"]
        fields += ["attributes", "url", "api_url"]

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
        help_text=f"The run's newest {IMPORTS_LISTED} imports, newest first; all of them: "
        "/api/v1/runs/{name}/imports/."
    )
    imports_total = serializers.SerializerMethodField(help_text="Imports the run has had.")
    previous = serializers.SerializerMethodField(
        help_text="The run before this one in its series (by start time), or null."
    )
    next = serializers.SerializerMethodField(help_text="The run after this one, or null.")

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "previous", "next", "imports", "imports_total"]

    def get_previous(self, run: TestRun) -> str | None:
        other = previous_run(run)
        return other.name if other else None

    def get_next(self, run: TestRun) -> str | None:
        other = next_run(run)
        return other.name if other else None

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
            "end_time", "duration", "location", "test_runner", "retries", "tda", "tra",
            "message", "fingerprint",
        ]  # fmt: skip
        extra_kwargs = {
            "retries": {
                "help_text": 'Failed attempts before this one: a P with retries "passed on retry".'
            }
        }


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


# The build's form fields as the schema gives them (results.services.builds checks them).
@extend_schema_field({"type": "string", "pattern": f"^$|{RUN_NAME_RE.pattern}"})
class SeriesField(serializers.CharField):
    pass


@extend_schema_field(
    {"type": "string", "maxLength": 200, "pattern": "^[^\\u0000-\\u001f\\u007f]*$"}
)
class LineField(serializers.CharField):
    pass


@extend_schema_field(
    {"type": "string", "maxLength": 1000, "pattern": "^$|^[hH][tT][tT][pP][sS]?://"}
)
class UrlField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": f"^$|^{ISO_DATETIME_PATTERN}$"})
class TimeField(serializers.CharField):
    pass


@extend_schema_field(
    {
        "type": "string",
        "pattern": f"{ATTRIBUTE_KEY_RE.pattern[:-1]}=[^\\u0000-\\u001f\\u007f]{{0,500}}$",
    }
)
class AttributeField(serializers.CharField):
    pass


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
    series = SeriesField(
        required=False, allow_blank=True,
        help_text="The series the run is a build of (wins over the file's). A run keeps its "
        "series: naming another is a 409 series_mismatch.",
    )  # fmt: skip
    branch = LineField(required=False, allow_blank=True)
    commit = LineField(required=False, allow_blank=True)
    build_url = UrlField(
        required=False, allow_blank=True, help_text="Link to the CI build (http or https)."
    )
    started_at = TimeField(
        required=False, allow_blank=True,
        help_text="ISO 8601; orders the series. Default: the earliest result start_time, else "
        "now (a <prefix>_YYYY-MM-DD run: that date).",
    )  # fmt: skip
    ended_at = TimeField(required=False, allow_blank=True, help_text="ISO 8601.")
    attr = serializers.ListField(
        child=AttributeField(), required=False, max_length=MAX_ATTRIBUTES,
        help_text="A build attribute KEY=VALUE, e.g. env=prod (repeat the field).",
    )  # fmt: skip


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
    muted = serializers.BooleanField(help_text="Its test or failure cluster is muted now.")
    message = serializers.CharField(
        help_text="The failure message: this run's, else the other run's (a fix's)."
    )


_COUNTS = inline_serializer(
    "CompareCounts",
    {
        **{k: serializers.IntegerField() for k in COMPARE_KINDS},
        "muted": serializers.IntegerField(
            help_text="Regressions left out because their test or cluster is muted."
        ),
    },
)
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
    mutes = current_mutes()
    counts = vars(browse.cached_compare_counts(run, other, mutes))
    answer = {"run": run.name, "other": other.name, "counts": counts, "limit": COMPARE_LIMIT}
    kind = request.query_params.get("kind") or None
    if kind is None:
        for k in COMPARE_KINDS:
            rows = (
                browse.compared_rows(run, other, k, limit=COMPARE_LIMIT, mutes=mutes)
                if counts[k]
                else []
            )
            answer[k] = _rows(rows)
        return Response(answer)
    if kind not in COMPARE_KINDS:
        raise AssayError(f"kind={kind[:40]!r}: one of {', '.join(COMPARE_KINDS)}.", code="bad_kind")
    page, pages, links = _page(request, counts[kind], COMPARE_LIMIT)
    rows = browse.compared_rows(
        run, other, kind, offset=(page - 1) * COMPARE_LIMIT, limit=COMPARE_LIMIT, mutes=mutes
    )
    answer.update(kind=kind, count=counts[kind], page=page, pages=pages, **links)
    answer["results"] = _rows(rows)
    return Response(answer)


class SampleTestSerializer(serializers.Serializer):
    result = serializers.IntegerField(source="result_id")
    test_name = serializers.CharField()
    message = serializers.CharField()


class RunClusterSerializer(serializers.Serializer):
    fingerprint = serializers.CharField(help_text="16 hex digits: the normalized message's.")
    count = serializers.IntegerField(help_text="This run's failures in the cluster.")
    normalized = serializers.CharField(
        help_text="The message with numbers, strings, paths, addresses and ids taken out."
    )
    message = serializers.CharField(help_text="One raw message of the cluster.")
    new = serializers.BooleanField(help_text="No earlier run failed this way.")
    earlier_runs = serializers.IntegerField(
        help_text="Earlier runs (of the run's series; of all runs when it has none) with it."
    )
    first_seen = serializers.DateTimeField(
        allow_null=True, help_text="Start of the earliest of them."
    )
    tests = SampleTestSerializer(
        many=True, help_text=f"The cluster's first {SAMPLE_TESTS} tests by name."
    )


RunClustersAnswer = inline_serializer(
    "RunClustersAnswer",
    {
        "run": serializers.CharField(),
        "series": serializers.CharField(),
        "clusters": RunClusterSerializer(many=True),
    },
)


class ClusterRunSerializer(serializers.Serializer):
    run = serializers.CharField(source="name")
    started_at = serializers.DateTimeField()
    count = serializers.IntegerField(help_text="The run's failures in the cluster.")


class ClusterTestSerializer(serializers.Serializer):
    test_name = serializers.CharField()
    count = serializers.IntegerField(help_text="Its failures in the cluster.")
    last_seen = serializers.DateTimeField()
    result = serializers.IntegerField(source="result_id", help_text="Its latest such failure.")


class ClusterSerializer(serializers.Serializer):
    fingerprint = serializers.CharField()
    normalized = serializers.CharField()
    message = serializers.CharField(help_text="The newest raw message.")
    message_result = serializers.IntegerField(source="message_result_id")
    results = serializers.IntegerField(help_text="Failures in the cluster, all runs.")
    run_count = serializers.IntegerField()
    tests = serializers.IntegerField(source="test_count")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    runs = ClusterRunSerializer(many=True, help_text="The 50 newest runs with it.")
    tests_hit = ClusterTestSerializer(
        many=True, source="tests", help_text="The 100 tests it hit most often."
    )


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Test runs. `{name}` accepts aliases: daily_latest, daily_today, daily_yesterday."""

    serializer_class = RunSerializer
    lookup_field = "name"
    lookup_value_regex = RUN_LOOKUP
    filterset_fields = ["prefix", "valuable"]

    def get_queryset(self):
        runs = selectors.live_runs()
        if self.action != "list":
            return runs
        params = self.request.query_params
        wanted = selectors.RunFilter(
            series=params.get("series", "").strip(),
            branch=params.get("branch", "").strip(),
            commit=params.get("commit", "").strip(),
            attributes=selectors.parse_attribute_filters(params.getlist("attr")),
        )
        return selectors.filter_runs(runs, wanted)

    @extend_schema(
        parameters=[
            OpenApiParameter("series", str, description="Runs of this series, newest start first."),
            OpenApiParameter("branch", str),
            OpenApiParameter("commit", str, description="A commit or its start (short hash)."),
            OpenApiParameter(
                "attr", str, many=True,
                pattern=f"{ATTRIBUTE_KEY_RE.pattern[:-1]}:[^\\u0000-\\u001f]*$",
                description="KEY:VALUE, e.g. env:prod; repeat it: every one must hold.",
            ),
        ]
    )  # fmt: skip
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

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

    @extend_schema(summary="The run's imports", responses=RunImportSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def imports(self, request: Request, name: str) -> Response:
        """Every import the run has had (who, when, which file, what it changed), newest
        first, 100 a page (`?page=N`)."""
        page = self.paginate_queryset(selectors.imports_of(self.get_object()))
        return self.get_paginated_response(RunImportSerializer(page, many=True).data)

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
        summary="Compare a run with the previous run of its series",
        operation_id="v1_runs_compare_previous",
        parameters=COMPARE_PARAMETERS,
        responses={200: CompareAnswer},
    )
    @action(detail=True, methods=["get"], url_path="compare", url_name="compare-previous")
    def compare_previous(self, request: Request, name: str) -> Response:
        """Like compare/{other}/, against the run before this one in its series, by start
        time (404 `no_previous_run` when there is none: the first of its series, or a run of no
        series)."""
        run = self.get_object()
        other = previous_run(run)
        if other is None:
            why = (
                f"it is the first of the series {run.series}" if run.series else "it has no series"
            )
            raise NotFound(
                f"{run.name} has no previous run to compare with ({why}); name one: "
                "compare/{other}/.",
                code="no_previous_run",
            )
        return _comparison(request, run, other)

    @extend_schema(
        summary="The run's failure clusters",
        responses={200: RunClustersAnswer},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def clusters(self, request: Request, name: str) -> Response:
        """The run's F, E and M results grouped by their normalized message, biggest first;
        each says whether an earlier run (of the series by start time, or any earlier run
        when the run has none) failed the same way."""
        run = self.get_object()
        return Response(
            {
                "run": run.name,
                "series": run.series,
                "clusters": RunClusterSerializer(run_clusters(run), many=True).data,
            }
        )

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
                "default: the previous run of the series; empty: no comparison."
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


class ClusterViewSet(viewsets.ViewSet):
    """Failure clusters: failures grouped by their normalized message, across runs."""

    lookup_field = "fingerprint"
    lookup_value_regex = FINGERPRINT_RE.pattern.strip("^$")

    @extend_schema(
        summary="A failure cluster across runs",
        parameters=[
            OpenApiParameter(
                "fingerprint",
                {"type": "string", "pattern": FINGERPRINT_RE.pattern},
                OpenApiParameter.PATH,
            )
        ],
        responses={200: ClusterSerializer},
    )
    def retrieve(self, request: Request, fingerprint: str) -> Response:
        """The runs a cluster appears in (newest first, with counts), the tests it hit, when it
        was first and last seen, and its newest raw message."""
        return Response(ClusterSerializer(cluster(fingerprint)).data)


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
    started_at = serializers.DateTimeField(source="run.started_at", help_text="Orders the runs.")
    status = serializers.CharField(allow_null=True, help_text="null: the test did not run.")
    result = serializers.IntegerField(source="result_id", allow_null=True)
    current = serializers.BooleanField(help_text="The run of the result asked about.")


class FlakySerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(source="series", help_text="Deprecated: the series.")
    project = serializers.CharField(source="project.name")
    window_end = serializers.CharField(source="window_end.name", help_text="Newest run looked at.")
    last_result = serializers.IntegerField(source="last_result_id", allow_null=True)
    last_result_url = serializers.SerializerMethodField()

    class Meta:
        model = FlakyTest
        fields = [
            "series", "prefix", "project", "host", "context", "test_name", "flips", "retried",
            "runs", "last_status", "last_result", "last_result_url", "window_end", "computed_at",
        ]  # fmt: skip

    def get_last_result_url(self, flaky: FlakyTest) -> str | None:
        if flaky.last_result_id is None:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("results:result-detail", args=[flaky.last_result_id])
        )


class HistorySerializer(serializers.Serializer):
    series = serializers.CharField(help_text="Empty for a run of no series.")
    prefix = serializers.CharField(help_text="Deprecated: the series.")
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
        """The test's status in each of the last n runs of its run's series by start time,
        oldest first (`status` null: the test did not run there). A run of no series has only
        itself."""
        result = self.get_object()
        n = _history_n(request.query_params.get("n"))
        history = selectors.result_history(result, n)
        answer = {
            "series": history.series,
            "prefix": history.series,
            "cells": history.cells,
            "flaky": flaky_entry(result),
        }
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


def _build(request: Request) -> BuildInfo:
    """The upload's build fields, checked (400 before any file is read)."""
    data = request.data
    return build_from_fields(
        **{name: data.get(name, "") for name in BUILD_FIELDS},
        attributes=parse_attribute_pairs(data.getlist("attr")),
    )


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
            build=_build(request),
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
                        "series": r.run.series,
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
    ASSAY_HISTORY_RUNS runs of a series (D and M skipped, a pass on retry counting as a flip),
    most flips first."""

    serializer_class = FlakySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("series", str, description="A series, e.g. nightly or daily"),
            OpenApiParameter("prefix", str, description="Deprecated: the series.", deprecated=True),
            OpenApiParameter("project", str),
        ]
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.flaky_tests(
            series=params.get("series") or params.get("prefix") or None,
            project=params.get("project") or None,
        )


# --- triage ----------------------------------------------------------------------------------


class TriageCommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = TriageComment
        fields = ["id", "author", "at", "text"]


class TriageSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name", allow_null=True, read_only=True)
    target = serializers.SerializerMethodField(help_text="test or cluster")
    muted_now = serializers.SerializerMethodField(
        help_text="Muted and not past muted_until: left out of regressions, red counts, "
        "flaky alerts and e-mails."
    )
    comments = TriageCommentSerializer(many=True, read_only=True)

    class Meta:
        model = Triage
        fields = [
            "id", "target", "project", "test_name", "host", "context", "fingerprint",
            "defect_type", "ticket", "muted", "muted_until", "muted_now", "created_by",
            "created_at", "updated_by", "updated_at", "comments",
        ]  # fmt: skip

    def get_target(self, triage: Triage) -> str:
        return "cluster" if triage.is_cluster else "test"

    def get_muted_now(self, triage: Triage) -> bool:
        return triage.is_muted()


class ClampedDateTimeField(serializers.DateTimeField):
    """A time that may sit at the calendar's edge with an offset (9999-12-31T23:59:59-14:00):
    kept as the last (or first) instant there is instead of overflowing into a 500."""

    def enforce_timezone(self, value):
        if timezone.is_aware(value):
            try:
                value.astimezone(UTC)
            except OverflowError:
                edge = datetime.max if value.year > 1 else datetime.min
                return edge.replace(tzinfo=UTC)
        return super().enforce_timezone(value)


@extend_schema_field({"type": "string", "pattern": r"^\s*(https?://[\s\S]*)?$"})
class TicketField(serializers.CharField):
    """Empty, or an http(s) URL (services.triage checks the rest: bad_link)."""


@extend_schema_field({"type": "string", "pattern": r"^([0-9a-f]{16})?$"})
class FingerprintField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": r"\S", "maxLength": COMMENT_MAX})
class CommentField(serializers.CharField):
    pass


def _triage_fields() -> dict:
    return {
        "defect_type": serializers.ChoiceField(
            choices=DefectType.choices, required=False, help_text="Default: unchanged."
        ),
        "ticket": TicketField(
            required=False, allow_blank=True, max_length=1000, help_text="The ticket's URL."
        ),
        "muted": serializers.BooleanField(required=False),
        "muted_until": ClampedDateTimeField(
            required=False,
            allow_null=True,
            help_text="A mute past this time is no mute. null: until unmuted.",
        ),
        "comment": serializers.CharField(
            required=False, allow_blank=True, default="", max_length=COMMENT_MAX
        ),
    }


class TriageChangeSerializer(StrictSerializer):
    """PATCH: what to change; fields left out stay as they are."""

    def get_fields(self):
        return _triage_fields()


class TriageSetSerializer(StrictSerializer):
    """POST: the triage of a test (project and test_name; host and context blank for any) or
    of a failure cluster (fingerprint alone), created or changed."""

    def get_fields(self):
        target = {
            "project": serializers.CharField(
                required=False, allow_blank=True, default="", max_length=200
            ),
            "test_name": serializers.CharField(
                required=False, allow_blank=True, default="", max_length=1000, trim_whitespace=False
            ),
            "host": serializers.CharField(
                required=False, allow_blank=True, default="", max_length=200, trim_whitespace=False
            ),
            "context": serializers.CharField(
                required=False, allow_blank=True, default="", max_length=200, trim_whitespace=False
            ),
            "fingerprint": FingerprintField(
                required=False, allow_blank=True, default="", help_text="A cluster's 16 hex digits."
            ),
        }
        return {**target, **_triage_fields()}


class TriageCommentFormSerializer(StrictSerializer):
    text = CommentField(max_length=COMMENT_MAX)


def _change(data: dict) -> TriageChange:
    change = TriageChange(
        defect_type=data.get("defect_type"),
        ticket=data.get("ticket"),
        muted=data.get("muted"),
        comment=data.get("comment", ""),
    )
    if "muted_until" in data:
        change.muted_until = data["muted_until"]
    return change


class TriageViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Triage of tests and failure clusters: defect type, ticket, mute (optionally until a
    time) and comments. POST sets the triage of its target (creates it, or changes the one
    there is); a muted test still records results and is left out of regressions, red counts,
    flaky alerts and e-mails while the mute lasts."""

    serializer_class = TriageSerializer
    write_permissions = {"*": "triage"}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if self.action != "list":
            return Triage.objects.select_related("project").prefetch_related("comments")
        params = self.request.query_params
        return triages(
            muted_only=params.get("muted") in ("true", "1"),
            defect_type=params.get("defect_type"),
            project=params.get("project"),
            test_name=params.get("test_name"),
            fingerprint=params.get("fingerprint"),
        ).prefetch_related("comments")

    @extend_schema(
        parameters=[
            OpenApiParameter("muted", bool, description="true: only the active mutes."),
            OpenApiParameter("defect_type", str, enum=DefectType.values),
            OpenApiParameter("project", str),
            OpenApiParameter("test_name", str),
            OpenApiParameter("fingerprint", str),
        ]
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=TriageSetSerializer,
        responses={200: TriageSerializer, 201: TriageSerializer},
    )
    def create(self, request: Request) -> Response:
        data = _validated(TriageSetSerializer, request)
        target = target_of(
            project=data["project"],
            test_name=data["test_name"],
            host=data["host"],
            context=data["context"],
            fingerprint=data["fingerprint"],
        )
        triage, created = set_triage(target, _change(data), who=request.user.get_username())
        return Response(
            TriageSerializer(self.get_queryset().get(pk=triage.pk)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=TriageChangeSerializer, responses={200: TriageSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        triage = self.get_object()
        data = _validated(TriageChangeSerializer, request)
        update_triage(triage, _change(data), who=request.user.get_username())
        return Response(TriageSerializer(self.get_queryset().get(pk=triage.pk)).data)

    def perform_destroy(self, instance: Triage) -> None:
        delete_triage(instance)

    @extend_schema(request=TriageCommentFormSerializer, responses={201: TriageCommentSerializer})
    @action(detail=True, methods=["post"])
    def comments(self, request: Request, pk: str) -> Response:
        """Add a comment (its author is the caller)."""
        triage = self.get_object()
        data = _validated(TriageCommentFormSerializer, request)
        comment = add_comment(triage, data["text"], who=request.user.get_username())
        return Response(TriageCommentSerializer(comment).data, status=status.HTTP_201_CREATED)


# --- series and their trends -----------------------------------------------------------------


class SeriesRunSerializer(serializers.Serializer):
    name = serializers.CharField(source="run.name")
    started_at = serializers.DateTimeField(source="run.started_at")
    branch = serializers.CharField(source="run.branch")
    commit = serializers.CharField(source="run.commit")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Per status.")
    total = serializers.IntegerField()
    pass_rate = serializers.FloatField(
        allow_null=True, help_text="P among the results that ran (D left out), 0 to 1."
    )
    duration = serializers.FloatField(allow_null=True, help_text="Seconds, all results summed.")
    url = serializers.SerializerMethodField()

    def get_url(self, point: trends.TrendPoint) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("results:run-detail", args=[point.run.name])
        )


class TestStatSerializer(serializers.Serializer):
    test_name = serializers.CharField()
    project = serializers.CharField()
    host = serializers.CharField()
    context = serializers.CharField()
    runs = serializers.IntegerField(help_text="Runs of the window with a result of the test.")
    result = serializers.IntegerField(source="result_id", help_text="Its newest telling result.")


class SlowTestSerializer(TestStatSerializer):
    median_duration = serializers.FloatField(source="value", help_text="Seconds.")


class FailingTestSerializer(TestStatSerializer):
    failures = serializers.IntegerField(source="value", help_text="F or E results.")
    failure_rate = serializers.FloatField(help_text="failures / runs.")


class SeriesSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    runs = serializers.IntegerField(help_text="Live runs of the series.")
    latest = SeriesRunSerializer(source="latest_point")
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()

    def get_url(self, row: trends.SeriesRow) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("results:series-detail", args=[row.name])
        )

    def get_api_url(self, row: trends.SeriesRow) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("api-series-detail", args=[row.name])
        )


class SeriesTrendSerializer(serializers.Serializer):
    name = serializers.CharField(source="series")
    window = serializers.IntegerField(source="n", help_text="Runs asked for (?runs=).")
    points = SeriesRunSerializer(many=True, help_text="The last runs, oldest first.")
    slowest = SlowTestSerializer(many=True, help_text="Highest median duration first.")
    failing = FailingTestSerializer(many=True, help_text="Most failures first.")


class SeriesViewSet(viewsets.ViewSet):
    """Series of runs (a build line: nightly, main ...), the most recently started first, and a
    series' trends over its last N runs."""

    lookup_field = "name"
    lookup_value_regex = r"[^/]+"

    @extend_schema(responses=SeriesSummarySerializer(many=True))
    def list(self, request: Request) -> Response:
        rows = trends.series_list()
        return Response(SeriesSummarySerializer(rows, many=True, context={"request": request}).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "runs",
                {"type": "integer", "minimum": 2, "maximum": trends.TREND_MAX_RUNS},
                description="How many of the newest runs (default ASSAY_TREND_RUNS).",
            ),
        ],
        responses=SeriesTrendSerializer,
    )
    def retrieve(self, request: Request, name: str) -> Response:
        """Pass rate, counts per status and total duration of each of the last runs (oldest
        first), the slowest tests (median duration) and the most often failing ones."""
        trend = trends.series_trend(name, request.query_params.get("runs"))
        return Response(SeriesTrendSerializer(trend, context={"request": request}).data)
