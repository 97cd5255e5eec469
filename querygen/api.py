"""REST API of querygen: submit runs, read what they found, work with groups, replay findings.

Thin: parse the body, call querygen.services, shape the answer. Every semantic check (engines,
oracle and reference, budgets, profile keys, the private build's interpreter, a group's status)
is the services'; an AssayError becomes 400 {"error", "detail"} in core.exceptions.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from core.exceptions import AssayError
from core.filters import FilterBackend
from core.serializers import ScrubbedText, StrictSerializer
from querygen import selectors
from querygen.models import Finding, Group, GroupStatus, OracleKind, Pair, QuerygenRun
from querygen.services import groups, runs

SAMPLES_SHOWN = 5  # findings shown with a group; the rest are under findings/?group=<id>


def _row_name(**kwargs: Any) -> serializers.SlugRelatedField:
    """A related row (an engine, a pair) shown by its name."""
    return serializers.SlugRelatedField(slug_field="name", read_only=True, **kwargs)


def _absolute(serializer: serializers.Serializer, path: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request else path


# --- runs ----------------------------------------------------------------------------------------


@extend_schema_field({"type": "object"})
class ProfileField(serializers.JSONField):
    """An object (not null, not a list): services.runs checks its settings (bad_profile)."""


class QuerygenSubmitSerializer(StrictSerializer):
    sut = serializers.CharField(help_text="The system under test: an Engine's name.")
    reference = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="The reference Engine's name: required by the differential oracle, "
        "refused by tlp and norec (they test one engine).",
    )
    oracle = serializers.ChoiceField(
        choices=OracleKind.choices, required=False, default=OracleKind.DIFFERENTIAL
    )
    sut_python = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="A private build: the absolute path of the Python interpreter whose sqlite3 "
        "or duckdb module runs the SUT's file (must be executable, and listed in "
        "ASSAY_QUERYGEN_PYTHONS when that is set).",
    )
    ladder = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text="Releases between the SUT and the reference, oldest first: interpreters as "
        "sut_python (staff only). A reduced finding's group records the first release from "
        "which its reproducer stops failing.",
    )
    profile = ProfileField(
        required=False, default=dict, help_text="Query profile settings over the defaults."
    )
    budget_queries = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Stop after this many queries."
    )
    budget_seconds = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Stop after this many seconds."
    )
    budget_minutes = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1 / 60,
        max_value=runs.MAX_BUDGET_SECONDS / 60,
        help_text="The time budget in minutes (fractions allowed), an alternative to "
        "budget_seconds: stored as budget_seconds = round(60 × minutes). Give one of the two. "
        "A run needs budget_queries, a time budget, or both (whichever is spent first).",
    )
    timeout = serializers.FloatField(
        required=False, default=2.0, help_text="Seconds per query and engine."
    )
    max_rows = serializers.IntegerField(required=False, default=10_000)
    seed = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Default: random (stored)."
    )
    max_reductions = serializers.IntegerField(
        required=False,
        default=runs.DEFAULT_MAX_REDUCTIONS,
        help_text="Findings reduced in this run at most; others are grouped by how they differ.",
    )
    label = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)

    def validate(self, data: dict) -> dict:
        minutes = data.pop("budget_minutes", None)
        if minutes is not None:
            if data.get("budget_seconds") is not None:
                raise AssayError(
                    "Give budget_seconds or budget_minutes, not both.", code="budget_twice"
                )
            data["budget_seconds"] = max(1, round(minutes * 60))
        return data


def _live_findings(r: QuerygenRun) -> int:
    # Counted from the rows (selectors.runs annotates them): a running run's findings show as
    # they are recorded; the row's `findings` is written when the run finishes.
    live = getattr(r, "live_findings", None)
    return live if live is not None else r.finding_rows.count()


class QuerygenCountsSerializer(serializers.Serializer):
    queries = serializers.IntegerField()
    matches = serializers.IntegerField()
    errors = serializers.IntegerField()
    row_counts = serializers.IntegerField()
    contents = serializers.IntegerField()
    crashes = serializers.IntegerField()
    timeouts = serializers.IntegerField()
    too_big = serializers.IntegerField()
    both_errors = serializers.IntegerField()
    skipped = serializers.IntegerField()
    reference_ok = serializers.IntegerField()
    findings = serializers.SerializerMethodField()
    silenced = serializers.IntegerField()
    reductions = serializers.IntegerField()

    def get_findings(self, r: QuerygenRun) -> int:
        return _live_findings(r)


class QuerygenProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(source="progress_done")
    total = serializers.IntegerField(source="progress_total", allow_null=True)
    message = serializers.CharField(source="progress_message")
    percent = serializers.SerializerMethodField()

    def get_percent(self, r: QuerygenRun) -> float | None:
        if not r.progress_total:
            return None
        return round(min(100.0, 100.0 * r.progress_done / r.progress_total), 1)


class QuerygenRunSerializer(serializers.ModelSerializer):
    sut = _row_name()
    reference = _row_name(allow_null=True)  # one-engine oracles have none
    pair = _row_name(allow_null=True)  # none for a run submitted alone
    scope = serializers.CharField(read_only=True)
    findings = serializers.SerializerMethodField()
    progress = QuerygenProgressSerializer(source="*", read_only=True)
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = QuerygenRun
        fields = [
            "id", "label", "pair", "state", "scope", "sut", "reference", "oracle", "seed",
            "budget_queries", "budget_seconds", "queries", "findings", "progress", "created_at",
            "started_at", "finished_at", "url", "api_url",
        ]  # fmt: skip

    def get_url(self, r: QuerygenRun) -> str:
        return _absolute(self, reverse("querygen:run-detail", args=[r.pk]))

    def get_findings(self, r: QuerygenRun) -> int:
        return _live_findings(r)

    def get_api_url(self, r: QuerygenRun) -> str:
        return _absolute(self, reverse("api-querygen-run-detail", args=[r.pk]))


class QuerygenRunDetailSerializer(QuerygenRunSerializer):
    counts = QuerygenCountsSerializer(source="*", read_only=True)
    queries_per_second = serializers.FloatField(read_only=True)
    log_url = serializers.SerializerMethodField()
    results_url = serializers.SerializerMethodField()
    error = ScrubbedText()

    class Meta(QuerygenRunSerializer.Meta):
        fields = [
            *QuerygenRunSerializer.Meta.fields,
            "sut_python", "ladder", "profile", "timeout", "max_rows", "max_reductions",
            "first_index",
            "next_index", "attempts", "error", "counts", "wall_seconds", "engine_seconds",
            "queries_per_second", "sut_version", "reference_version", "report", "results_run",
            "results_url", "log_url",
        ]  # fmt: skip

    def get_log_url(self, r: QuerygenRun) -> str:
        return _absolute(self, "/" + r.log_url.lstrip("/"))

    def get_results_url(self, r: QuerygenRun) -> str | None:
        if not r.results_run:
            return None
        return _absolute(self, reverse("api-run-detail", args=[r.results_run]))


class QuerygenRunViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Querygen runs. Submitting answers 202 with the run and a Location; the run is a job
    the django-q workers execute. Progress and counts are checkpointed on the run as it goes."""

    # Findings are counted from their rows: a running run's show as they are recorded.
    queryset = selectors.runs()
    filterset_fields = ["state", "pair", "oracle"]
    write_permissions = {"create": "submit_querygen"}

    def get_serializer_class(self):
        if self.action == "create":
            return QuerygenSubmitSerializer
        return QuerygenRunDetailSerializer if self.action == "retrieve" else QuerygenRunSerializer

    @extend_schema(request=QuerygenSubmitSerializer, responses={202: QuerygenRunDetailSerializer})
    def create(self, request: Request) -> Response:
        form = QuerygenSubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        run = runs.submit_run(user=request.user, **form.validated_data)
        body = QuerygenRunDetailSerializer(run, context={"request": request}).data
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["api_url"]}
        )


# --- findings ------------------------------------------------------------------------------------


class QuerygenFindingSerializer(serializers.ModelSerializer):
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = [
            "id", "group", "run", "seed", "index", "kind", "detail", "engines", "sql",
            "reduced_sql", "original_size", "reduced_size", "created_at", "api_url",
        ]  # fmt: skip

    def get_api_url(self, finding: Finding) -> str:
        return _absolute(self, reverse("api-querygen-finding-detail", args=[finding.pk]))


class QuerygenFindingDetailSerializer(QuerygenFindingSerializer):
    class Meta(QuerygenFindingSerializer.Meta):
        fields = [
            *QuerygenFindingSerializer.Meta.fields,
            "reduced_query", "errors", "results", "reduction_checks", "raw_signature",
            "scripts", "original_rows", "reduced_rows", "fixed_in",
        ]  # fmt: skip


class QuerygenReplayOptionsSerializer(StrictSerializer):
    which = serializers.ChoiceField(
        choices=["reduced", "original"],
        required=False,
        default="reduced",
        help_text="reduced: the reduced query (the original when the finding was not reduced); "
        "original: the query generated again from (seed, index).",
    )


class QuerygenReplaySerializer(serializers.Serializer):
    which = serializers.CharField()
    kind = serializers.CharField(help_text="What the oracle says now (match, row_count, ...).")
    detail = serializers.CharField(allow_blank=True)
    reproduced = serializers.BooleanField(
        help_text="The same kind, sides refusing and errors as recorded."
    )
    sql = serializers.DictField(child=serializers.CharField(allow_blank=True))
    results = serializers.ListField(child=serializers.DictField())
    seconds = serializers.FloatField()


class FindingViewSet(viewsets.ReadOnlyModelViewSet):
    """Findings: the failing queries behind groups (a few samples are kept per group)."""

    queryset = Finding.objects.order_by("-pk")
    filterset_fields = ["group", "run", "kind"]
    write_permissions = {"replay": "triage"}

    def get_serializer_class(self):
        if self.action == "replay":
            return QuerygenReplayOptionsSerializer
        return (
            QuerygenFindingDetailSerializer
            if self.action == "retrieve"
            else QuerygenFindingSerializer
        )

    @extend_schema(
        request=QuerygenReplayOptionsSerializer, responses={200: QuerygenReplaySerializer}
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str) -> Response:
        """Check the finding's query again on its run's engines (runs queries: a write)."""
        finding = self.get_object()
        form = QuerygenReplayOptionsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        replay = runs.replay_finding(finding, form.validated_data["which"])
        return Response(QuerygenReplaySerializer(replay).data)


# --- groups --------------------------------------------------------------------------------------


class QuerygenGroupSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = Group
        fields = [
            "id", "scope", "signature", "kind", "title", "status", "link", "note", "count",
            "first_seen", "last_seen", "first_run", "last_run", "reduced", "fixed_in",
            "merged_into", "url", "api_url",
        ]  # fmt: skip
        extra_kwargs = {
            "merged_into": {
                "read_only": True,
                "help_text": "The group this one was merged into by hand (null: a bug of its "
                "own); its findings, and later ones of its signature, are there.",
            }
        }

    def get_url(self, group: Group) -> str:
        return _absolute(self, reverse("querygen:group-detail", args=[group.pk]))

    def get_api_url(self, group: Group) -> str:
        return _absolute(self, reverse("api-querygen-group-detail", args=[group.pk]))


class QuerygenGroupDetailSerializer(QuerygenGroupSerializer):
    samples = serializers.SerializerMethodField()
    error = ScrubbedText()

    class Meta(QuerygenGroupSerializer.Meta):
        fields = [*QuerygenGroupSerializer.Meta.fields, "shape", "error", "samples"]

    @extend_schema_field(QuerygenFindingDetailSerializer(many=True))
    def get_samples(self, group: Group) -> list[dict]:
        # The first findings are the ones kept with their results (ASSAY_QUERYGEN_SAMPLES).
        latest = group.samples.order_by("pk")[:SAMPLES_SHOWN]
        return QuerygenFindingDetailSerializer(latest, many=True, context=self.context).data


@extend_schema_field({"type": "string", "pattern": r"^\s*(https?://[\s\S]*)?$"})
class LinkField(serializers.CharField):
    """A bug report's URL: empty, or http(s) once stripped (services.groups checks the rest
    and answers bad_link)."""


def _link(help_text: str) -> LinkField:
    return LinkField(required=False, allow_blank=True, default="", help_text=help_text)


class QuerygenGroupStatusSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=GroupStatus.choices,
        required=False,
        help_text="Default (PATCH): unchanged. known needs a link (given now or before).",
    )
    link = _link("The bug report's http(s) URL.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


MAX_ID = 2**63 - 1  # a 64-bit key: past it SQLite raised OverflowError (a 500, found by fuzzing)


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID},
        "minItems": 1,
    }
)
class IdsField(serializers.ListField):
    """At least one id, as the schema says: services.groups answers no_groups to none."""


class QuerygenGroupBulkSerializer(StrictSerializer):
    ids = IdsField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        help_text="The groups; merge: the first is the one the others are merged into.",
    )
    action = serializers.ChoiceField(
        choices=list(groups.BULK_ACTIONS),
        help_text="A status to mark every group with (known needs a link, given now or each "
        "group's own), or merge: the others into the first.",
    )
    link = _link("The bug report's http(s) URL: each group's (merge: the target's).")
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Added as a line to each group's note (merge: the target's).",
    )


class QuerygenGroupBulkResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    count = serializers.IntegerField(help_text="Groups marked, or merged into the target.")
    detail = serializers.CharField(help_text="What was done, as a sentence.")
    groups = QuerygenGroupSerializer(
        many=True, help_text="The groups as they are now (merge: the target first)."
    )


class GroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Groups: one per bug (the findings sharing a reduced signature within a scope). Set a
    group's status with PATCH or POST .../status/: new, known (with its bug report's link),
    fixed (a finding seen again makes it new), ignored (not reported in results). POST
    groups/bulk/ marks several groups, or merges groups into one; merged groups are left out of
    the list (their own URL still answers, with merged_into)."""

    queryset = Group.objects.all()
    write_permissions = {"*": "triage"}
    filter_backends = [FilterBackend, OrderingFilter]
    filterset_fields = ["status", "kind", "scope"]
    ordering_fields = ["last_seen", "count"]
    ordering = ["-last_seen", "-pk"]

    def get_queryset(self):
        if self.action == "list":
            return selectors.live_groups()
        return super().get_queryset()

    def get_serializer_class(self):
        if self.action in ("partial_update", "set_status"):
            return QuerygenGroupStatusSerializer
        if self.action == "bulk":
            return QuerygenGroupBulkSerializer
        return (
            QuerygenGroupDetailSerializer if self.action == "retrieve" else QuerygenGroupSerializer
        )

    def _set_status(self, request: Request) -> Response:
        group = self.get_object()
        form = QuerygenGroupStatusSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        groups.set_status(
            group, data.get("status", group.status), link=data["link"], note=data["note"]
        )
        return Response(QuerygenGroupDetailSerializer(group, context={"request": request}).data)

    @extend_schema(
        request=QuerygenGroupStatusSerializer, responses={200: QuerygenGroupDetailSerializer}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        return self._set_status(request)

    @extend_schema(
        request=QuerygenGroupStatusSerializer, responses={200: QuerygenGroupDetailSerializer}
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, pk: str) -> Response:
        """The same as PATCH: set the status, the link and the note."""
        return self._set_status(request)

    @extend_schema(
        request=QuerygenGroupBulkSerializer, responses={200: QuerygenGroupBulkResultSerializer}
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request: Request) -> Response:
        """Mark several groups (known, fixed, ignored, new) or merge them into the first, all
        or nothing: 400 for bad input, 404 when an id names no group."""
        form = QuerygenGroupBulkSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        done = groups.bulk_action(**form.validated_data)
        return Response(QuerygenGroupBulkResultSerializer(done, context={"request": request}).data)


# --- pairs ---------------------------------------------------------------------------------------


class QuerygenPairSerializer(serializers.ModelSerializer):
    sut = _row_name()
    reference = _row_name(allow_null=True)  # one-engine oracles have none
    scope = serializers.CharField(read_only=True)
    runs_url = serializers.SerializerMethodField()

    class Meta:
        model = Pair
        fields = [
            "id", "name", "description", "scope", "sut", "reference", "oracle", "sut_python",
            "profile", "budget_queries", "budget_seconds", "timeout", "max_rows",
            "every_minutes", "enabled", "last_started_at", "runs_url",
        ]  # fmt: skip

    def get_runs_url(self, pair: Pair) -> str:
        return _absolute(self, reverse("api-querygen-run-list") + f"?pair={pair.pk}")


class PairViewSet(viewsets.ReadOnlyModelViewSet):
    """Pairs tested on a schedule (made in the admin): a run every `every_minutes`."""

    queryset = Pair.objects.select_related("sut", "reference")
    serializer_class = QuerygenPairSerializer
    filterset_fields = ["enabled", "oracle"]
