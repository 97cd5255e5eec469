"""REST API of datagen: submit a run, read its progress and its chunks, resume it."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import roles
from core.exceptions import AssayError
from core.secrets import scrub
from core.serializers import ScrubbedText, StrictSerializer
from datagen import selectors
from datagen.generator import bundled_spec_names
from datagen.models import LSST_STATES, STATE_OF_LSST, Chunk, DatagenRun, OutputFormat
from datagen.services import runs


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": bundled_spec_names()},
            {"type": "object", "description": "A spec (docs/datagen.md)."},
        ]
    }
)
class SpecField(serializers.JSONField):
    """A bundled spec's name or a spec: not null, not a list (the schema says so)."""


class SubmitSerializer(StrictSerializer):
    spec = SpecField(help_text="A bundled spec's name (fakedb, querygen) or a spec.")
    seed = serializers.IntegerField(required=False, min_value=0, max_value=runs.MAX_SEED)
    chunks = serializers.CharField(
        required=False, default="all", help_text="all, first:N, or ids and ranges: 0-63,70"
    )
    output_format = serializers.ChoiceField(
        choices=OutputFormat.choices, required=False, default=OutputFormat.PARQUET
    )
    load_engine = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="An Engine's name."
    )
    replace_tables = serializers.BooleanField(required=False, default=False)
    chunk_attempts = serializers.IntegerField(
        required=False, default=3, min_value=1, max_value=runs.MAX_ATTEMPTS
    )
    label = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


class ProgressSerializer(serializers.Serializer):
    phase = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField())
    total = serializers.IntegerField()
    percent = serializers.FloatField()
    rows = serializers.IntegerField()
    bytes = serializers.IntegerField()
    rows_per_second = serializers.FloatField(allow_null=True)
    seconds_left = serializers.FloatField(allow_null=True)
    limbo = serializers.SerializerMethodField()

    def get_limbo(self, progress: selectors.RunProgress) -> list[dict]:
        return [{"chunk_id": c, "error": scrub(e, known=())} for c, e in progress.limbo]


@extend_schema_serializer(component_name="DatagenRun")  # results has its own "Run"
class RunSerializer(serializers.ModelSerializer):
    load_engine = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    error = ScrubbedText()
    setup_state = serializers.CharField(source="state", read_only=True)
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()
    results_url = serializers.SerializerMethodField()

    class Meta:
        model = DatagenRun
        fields = [
            "id",
            "key",  # the run's name in a load target's ledger (assay_loaded_chunks.run)
            "label",
            "spec_name",
            "seed",
            "chunks",
            "chunk_count",
            "output_format",
            "load_engine",
            "replace_tables",
            "chunk_attempts",
            "setup_state",
            "error",
            "created_at",
            "completed_at",
            "results_run",
            "url",
            "api_url",
            "results_url",
        ]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, run: DatagenRun) -> str:
        return self._absolute(reverse("datagen:run-detail", args=[run.pk]))

    def get_api_url(self, run: DatagenRun) -> str:
        return self._absolute(reverse("api-datagen-run-detail", args=[run.pk]))

    def get_results_url(self, run: DatagenRun) -> str | None:
        if not run.results_run:
            return None
        return self._absolute(reverse("api-run-detail", args=[run.results_run]))


@extend_schema_serializer(component_name="DatagenRunDetail")
class RunDetailSerializer(RunSerializer):
    progress = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "spec", "progress"]

    @extend_schema(responses=ProgressSerializer)
    def get_progress(self, run: DatagenRun) -> dict:
        return ProgressSerializer(selectors.run_progress(run)).data


class ChunkSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()
    error = ScrubbedText()

    class Meta:
        model = Chunk
        fields = [
            "chunk_id",
            "state",
            "attempts",
            "max_attempts",
            "worker",
            "rows",
            "bytes",
            "checksum",
            "table_rows",
            "error",
            "started_at",
            "finished_at",
        ]

    def get_state(self, chunk: Chunk) -> str:
        return LSST_STATES[chunk.state]


class DatagenRunViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Data generation runs. Submitting answers 202 with the run; its setup and its chunks
    run on the django-q workers. Progress uses LSST's chunk states: target, assigned,
    completed, limbo."""

    queryset = DatagenRun.objects.select_related("load_engine").order_by("-pk")
    filterset_fields = ["spec_name"]
    write_permissions = {"*": "submit_datagen"}

    def get_serializer_class(self):
        if self.action == "create":
            return SubmitSerializer
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    @extend_schema(request=SubmitSerializer, responses={202: RunDetailSerializer})
    def create(self, request: Request) -> Response:
        form = SubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        spec = runs.resolve_spec(data.pop("spec"))
        data["load_engine"] = data["load_engine"] or None
        if data["load_engine"] and data.get("replace_tables"):
            # A reference database's tables dropped and reloaded: staff's call, not CI's.
            roles.require(request.user, "replace_tables", "A load that replaces tables")
        # Output always under ASSAY_DATAGEN_ROOT: the API never writes where a caller says.
        run = runs.submit_run(spec, **data)
        body = RunDetailSerializer(run, context={"request": request}).data
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["api_url"]}
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=list(STATE_OF_LSST), description="LSST state")
        ],
        responses=ChunkSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])  # the runs' filters are not its
    def chunks(self, request: Request, pk: str) -> Response:
        """The run's chunks in id order, paged; `?state=limbo` for the failed ones."""
        run = self.get_object()
        chunks = run.chunk_rows.order_by("chunk_id")
        state = request.query_params.get("state")
        if state:
            if state not in STATE_OF_LSST:
                raise AssayError(f"state={state!r}: one of {', '.join(STATE_OF_LSST)}.")
            chunks = chunks.filter(state=STATE_OF_LSST[state])
        page = self.paginate_queryset(chunks)
        return self.get_paginated_response(ChunkSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "ResumeAnswer",
                {
                    "requeued": serializers.IntegerField(),
                    "left_running": serializers.IntegerField(),
                    "completed": serializers.IntegerField(),
                    "setup_requeued": serializers.BooleanField(),
                },
            )
        },
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        """Queue again every chunk not completed (target, limbo, assigned whose lease expired)
        with fresh attempts; completed chunks are not touched."""
        summary = runs.resume_run(self.get_object())
        return Response(vars(summary), status=status.HTTP_202_ACCEPTED)


class SpecListView(APIView):
    """The bundled specs, with their tables and chunk counts."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        specs = []
        for name in bundled_spec_names():
            from datagen.generator import load_bundled_spec  # pyarrow: loaded when used

            spec = load_bundled_spec(name)
            specs.append(
                {
                    "name": name,
                    "description": spec.description,
                    "chunks": len(spec.chunk_ids()),
                    "tables": list(spec.tables),
                }
            )
        return Response({"specs": specs})
