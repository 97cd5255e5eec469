"""HTML pages of querygen: the dashboard (runs, trend, recent groups), a run, the groups, a
group with its samples side by side, and the form that starts a run. Reads go through
querygen.selectors, writes through querygen.services; these views parse and shape."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from core import roles
from core.decorators import permission_required, readable
from core.exceptions import AssayError
from querygen import selectors
from querygen.forms import BulkForm, MergeForm, ReplayForm, RunForm, StatusForm
from querygen.models import Finding, Group, GroupStatus, QuerygenRun
from querygen.services import groups as group_service
from querygen.services import runs as run_service

RUNS_PER_PAGE = 25
GROUPS_PER_PAGE = 50
SAMPLES_PER_PAGE = 50
DIALECTS = {"duckdb": "duckdb", "sqlite": "sqlite", "postgresql": "postgres"}

# --- SQL highlighting ---------------------------------------------------------------------------


@cache
def _token_types() -> tuple[Any, frozenset, frozenset]:
    """(TokenType, string token types, name token types). sqlglot loads on the first SQL shown,
    not with the URLs (a test of import_results)."""
    from sqlglot.tokens import TokenType

    strings = frozenset({
        TokenType.STRING,
        TokenType.NATIONAL_STRING,
        TokenType.RAW_STRING,
        TokenType.HEX_STRING,
        TokenType.BIT_STRING,
        TokenType.BYTE_STRING,
        TokenType.HEREDOC_STRING,
        TokenType.UNICODE_STRING,
    })  # fmt: skip
    return TokenType, strings, frozenset({TokenType.VAR, TokenType.IDENTIFIER})


def _token_class(token, following) -> str:
    token_type, strings, names = _token_types()
    kind = token.token_type
    if kind in strings:
        return "s"
    if kind == token_type.NUMBER:
        return "n"
    if kind in names:
        # A name right before "(" is a function: told apart so calls read at a glance.
        if kind == token_type.VAR and following is not None and following.text == "(":
            return "f"
        return "i"
    if token.text[:1].isalpha():
        return "k"  # keywords and type names: sqlglot gives each its own token type
    return ""


def highlight_sql(sql: str, dialect: str | None = None) -> SafeString:
    """The SQL as HTML: keywords, strings, numbers, names and functions in <span class="sql-?">,
    comments and the spaces between tokens kept as written. Every piece of the text is escaped;
    SQL the tokenizer refuses comes back escaped and plain."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import SqlglotError

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except (SqlglotError, ValueError):
        return mark_safe(escape(sql))  # noqa: S308 - escaped just now
    out: list[str] = []
    pos = 0
    for n, token in enumerate(tokens):
        start, end = token.start, token.end + 1
        if start < pos or end > len(sql):  # positions the tokenizer made up: stop trusting them
            break
        gap = sql[pos:start]
        if gap.strip():
            out.append(f'<span class="sql-c">{escape(gap)}</span>')
        else:
            out.append(escape(gap))
        text = sql[start:end]
        css = _token_class(token, tokens[n + 1] if n + 1 < len(tokens) else None)
        out.append(f'<span class="sql-{css}">{escape(text)}</span>' if css else escape(text))
        pos = end
    rest = sql[pos:]
    if rest.strip():
        out.append(f'<span class="sql-c">{escape(rest)}</span>')
    else:
        out.append(escape(rest))
    return mark_safe("".join(out))  # noqa: S308 - every piece escaped above


# --- shaping ------------------------------------------------------------------------------------


def _cell(value: Any) -> tuple[str, bool]:
    """(text, is NULL): how a result cell prints."""
    if value is None:
        return "NULL", True
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    return str(value), False


@dataclass
class Panel:
    """One side's answer, as the page draws it."""

    side: str
    engine: str
    status: str
    error: str
    columns: list[str]
    rows: list[tuple[int, bool, list[tuple[str, bool]]]]  # (row number, differs, cells)
    total: int
    differing: int
    only: list[list[tuple[str, bool]]] = field(default_factory=list)  # differing rows not above

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def panels(results: list[dict[str, Any]]) -> list[Panel]:
    out = []
    for side in results or []:
        marked = set(side.get("marked") or [])
        rows = [
            (n + 1, n in marked, [_cell(v) for v in row])
            for n, row in enumerate(side.get("rows") or [])
        ]
        only = side.get("only") or []
        out.append(
            Panel(
                side=side.get("side", ""),
                engine=side.get("engine", ""),
                status=side.get("status", ""),
                error=side.get("error", ""),
                columns=list(side.get("columns") or []),
                rows=rows,
                total=side.get("total", len(rows)),
                differing=len(only),
                # Differing rows past the first rows shown are only in "only": list them apart.
                only=[[_cell(v) for v in row] for row in only] if len(only) > len(marked) else [],
            )
        )
    return out


def _sql_blocks(sql: dict[str, str], engines: dict[str, str], kinds: dict[str, str]) -> list:
    """[(side, engine, highlighted SQL)], each side in its engine's dialect."""
    out = []
    for side, text in (sql or {}).items():
        engine = engines.get(side, side)
        dialect = DIALECTS.get(kinds.get(engine, ""))
        out.append((side, engine, highlight_sql(text, dialect)))
    return out


def _log_href(run: QuerygenRun) -> str:
    return "/" + run.log_url.lstrip("/")


def _percent(run: QuerygenRun) -> float | None:
    if not run.progress_total:
        return None
    return min(100.0, 100.0 * run.progress_done / run.progress_total)


# --- the trend chart (inline SVG, drawn here; no script) ---------------------------------------

CHART_W, CHART_H = 760, 240
PAD_L, PAD_R, PAD_T, PAD_B = 56, 16, 14, 42
X_LABELS = 8


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above value (an axis' top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.2g}"


def trend_chart(points: list[selectors.TrendPoint]) -> dict[str, Any] | None:
    """Findings per 1,000 queries of each finished run, one line per kind, as SVG geometry."""
    if not points:
        return None
    inner_w, inner_h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B
    top = _nice_ceiling(
        max(p.per_thousand(name) for p in points for name, _ in selectors.TREND_SERIES)
    )

    def x(i: int) -> float:
        return PAD_L + (inner_w * i / (len(points) - 1) if len(points) > 1 else inner_w / 2)

    def y(value: float) -> float:
        return PAD_T + inner_h * (1 - value / top)

    series = []
    for name, label in selectors.TREND_SERIES:
        dots = [
            (round(x(i), 1), round(y(p.per_thousand(name)), 1), p, p.per_thousand(name))
            for i, p in enumerate(points)
        ]
        series.append(
            {
                "name": name,
                "label": label,
                "points": " ".join(f"{px},{py}" for px, py, _, _ in dots),
                "dots": [
                    (
                        px,
                        py,
                        f"run {p.run_id}: {label} {v:.1f} per 1,000 queries ({p.counts[name]})",
                    )
                    for px, py, p, v in dots
                ],
                "latest": dots[-1][3],
            }
        )
    every = max(1, math.ceil(len(points) / X_LABELS))
    shown = set(range(0, len(points), every)) | {len(points) - 1}
    last = points[-1]
    return {
        "width": CHART_W,
        "height": CHART_H,
        "left": PAD_L,
        "right": CHART_W - PAD_R,
        "top": PAD_T,
        "bottom": CHART_H - PAD_B,
        "y_ticks": [(round(y(top * k / 4), 1), _fmt(top * k / 4)) for k in range(5)],
        "x_ticks": [
            (round(x(i), 1), f"#{p.run_id}", p.when) for i, p in enumerate(points) if i in shown
        ],
        "y_mid": PAD_T + inner_h / 2,
        "x_mid": PAD_L + inner_w / 2,
        "series": series,
        "runs": len(points),
        "summary": f"Latest run {last.run_id}: "
        + ", ".join(f"{s['label']} {s['latest']:.1f}" for s in series)
        + " per 1,000 queries.",
    }


# --- pages --------------------------------------------------------------------------------------


def _live_stamp() -> dict[str, Any]:
    data = selectors.live_stamp()
    data["stamp"] = hashlib.sha1(
        json.dumps(data, sort_keys=True, default=str).encode(), usedforsecurity=False
    ).hexdigest()[:16]
    return data


@require_safe
@readable
def dashboard(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.runs(), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    new_groups = selectors.new_groups_of([r.pk for r in page])
    live = _live_stamp()
    pairs = selectors.trend_pairs()
    pair = request.GET.get("pair")
    pair = pair if pair in pairs else (pairs[0] if pairs else None)
    return render(
        request,
        "querygen/dashboard.html",
        {
            "page": page,
            "rows": [(r, new_groups.get(r.pk, 0), _percent(r)) for r in page],
            "chart": trend_chart(selectors.trend(pair=pair)),
            "trend_pair": pair,
            "trend_pairs": pairs,
            "groups": selectors.recent_groups(),
            "status_counts": selectors.status_counts(),
            "live": live,
            "can_start": roles.has_permission(request.user, "submit_querygen"),
        },
    )


@never_cache
@require_safe
@readable
def live_json(request: HttpRequest) -> JsonResponse:
    """What the dashboard polls while a run is pending."""
    return JsonResponse(_live_stamp())


@require_safe
@readable
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        run = selectors.run(pk)
    except QuerygenRun.DoesNotExist:
        raise Http404(f"No querygen run {pk}.") from None
    run_groups = list(run_service.run_groups(run).select_related("first_run"))
    return render(
        request,
        "querygen/run_detail.html",
        {
            "run": run,
            "percent": _percent(run),
            "groups": run_groups,
            "new_groups": sum(1 for g in run_groups if g.first_run_id == run.pk),
            "live": _live_stamp() if run.state in selectors.PENDING else None,
            "log_href": _log_href(run)
            if roles.has_permission(request.user, "read_job_logs")
            else "",
        },
    )


@require_safe
@readable
def group_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in GroupStatus.values else ""
    kind = request.GET.get("kind", "")
    scope = request.GET.get("scope", "")
    sort = request.GET.get("sort", "last_seen")
    sort = sort if sort in selectors.GROUP_SORTS else "last_seen"
    rows = selectors.groups(status=status, kind=kind, scope=scope, sort=sort)
    page = Paginator(rows, GROUPS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "querygen/group_list.html",
        {
            "page": page,
            "status": status,
            "kind": kind,
            "scope": scope,
            "sort": sort,
            "statuses": GroupStatus.choices,
            "status_counts": selectors.status_counts(),
            **selectors.group_choices(),
            # staff: a checkbox per row and the bulk form, which comes back with these filters
            "can_act": roles.has_permission(request.user, "triage"),
            "bulk_actions": group_service.BULK_ACTIONS.items(),
            "query": request.GET.urlencode(),
        },
    )


def _group_page(
    request: HttpRequest, group: Group, sample_id: Any = None, replay: Any = None
) -> HttpResponse:
    sample = selectors.shown_sample(group, sample_id)
    page = Paginator(selectors.samples(group), SAMPLES_PER_PAGE).get_page(request.GET.get("page"))
    merged = group.merged_into_id is not None
    context: dict[str, Any] = {
        "group": group,
        "sample": sample,
        "samples": page.object_list,
        "page": page,
        # A merged group is a banner pointing at its target (the end of its merges): kept as
        # a page for its history (title, signature, note), with nothing left to act on.
        "merged_end": selectors.live_group(group) if merged else None,
        "merged_here": selectors.merged_here(group),
        "can_act": roles.has_permission(request.user, "triage") and not merged,
        "statuses": GroupStatus,
        "replay": replay,
    }
    if sample is not None:
        kinds = selectors.dialects_of(sample.run)
        context.update(
            scripts=[
                (side, sample.engines.get(side, side), text)
                for side, text in (sample.scripts or {}).items()
            ],
            reduced_sql=_sql_blocks(sample.reduced_sql, sample.engines, kinds),
            original_sql=_sql_blocks(sample.sql, sample.engines, kinds),
            panels=panels(sample.results),
        )
        if replay is not None:
            context.update(
                replay_sql=_sql_blocks(replay.sql, sample.engines, kinds),
                replay_panels=panels(replay.results),
            )
    return render(request, "querygen/group_detail.html", context)


@require_safe
@readable
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(Group.objects.select_related("first_run", "last_run"), pk=pk)
    return _group_page(request, group, request.GET.get("sample"))


@require_safe
@readable
def finding_script(request: HttpRequest, pk: int, side: str) -> HttpResponse:
    """A finding's reproducer for one side, as a .sql file to run in that side's engine."""
    finding = get_object_or_404(Finding, pk=pk)
    text = finding.scripts.get(side) if isinstance(finding.scripts, dict) else None
    if not text:
        raise Http404(f"Finding {pk} has no reproducer for side {side!r}.")
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    name = f"querygen-finding-{finding.pk}-{slugify(side) or 'side'}.sql"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@permission_required("triage", "Changing a group's status")
def group_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Triagers: mark the group known (with a link), fixed, ignored, or new again."""
    group = get_object_or_404(Group, pk=pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say which status: new, known, fixed or ignored.")
        return redirect("querygen:group-detail", pk=pk)
    try:
        group_service.set_status(group, **form.cleaned_data)
    except AssayError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Marked {group.get_status_display().lower()}.")
    return redirect("querygen:group-detail", pk=pk)


@require_POST
@permission_required("triage", "Replaying a finding")
def group_replay(request: HttpRequest, pk: int) -> HttpResponse:
    """Triagers: check a sample's query again on its run's engines; the page shows how it
    went (not kept: a replay is a look, not a record)."""
    group = get_object_or_404(Group.objects.select_related("first_run", "last_run"), pk=pk)
    form = ReplayForm(request.POST)
    sample = None
    if form.is_valid():
        sample = group.samples.select_related("run").filter(pk=form.cleaned_data["sample"]).first()
    if sample is None:
        messages.error(request, "Choose one of this group's samples to replay.")
        return redirect("querygen:group-detail", pk=pk)
    try:
        replay = run_service.replay_finding(sample, form.cleaned_data["which"])
    except AssayError as exc:
        messages.error(request, exc.detail)
        return redirect(reverse("querygen:group-detail", args=[pk]) + f"?sample={sample.pk}")
    return _group_page(request, group, sample.pk, replay)


def _list_url(query: str) -> str:
    """The group list with the filters it was shown with: only a query string is taken from
    the form, so the redirect stays on this page."""
    query = QueryDict(query or "").urlencode()
    return reverse("querygen:group-list") + (f"?{query}" if query else "")


@require_POST
@permission_required("triage", "Changing groups")
def group_bulk(request: HttpRequest) -> HttpResponse:
    """Triagers: the group list's form: mark the ticked groups, or merge them into the first
    ticked; back to the list with its filters, and a message saying what was done or why not."""
    back = _list_url(request.POST.get("back", ""))
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Tick the groups and choose an action.")
        return redirect(back)
    try:
        done = group_service.bulk_action(**form.cleaned_data)
    except AssayError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, done.detail)
    return redirect(back)


@require_POST
@permission_required("triage", "Merging groups")
def group_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Triagers: merge this group into another one, named by its number; to that one's page."""
    group = get_object_or_404(Group, pk=pk)
    form = MergeForm(request.POST)
    error = next(iter(form.errors.get("target", [])), "")
    if not error:
        try:
            target = group_service.merge_groups(form.cleaned_data["target"], [group])
        except AssayError as exc:
            error = exc.detail
    if error:
        messages.error(request, error)
        return redirect("querygen:group-detail", pk=pk)
    messages.success(request, f"Merged group {group.pk} into group {target.pk}.")
    return redirect("querygen:group-detail", pk=target.pk)


@permission_required("submit_querygen", "Starting a querygen run")
def run_new(request: HttpRequest) -> HttpResponse:
    """The CI role, triagers' leads and staff: start a custom run (a private build's
    interpreter is staff's). submit_run validates everything and creates nothing on
    bad input; its sentence is shown on the form, the values kept."""
    if request.method == "POST":
        form = RunForm(request.POST)
        if form.is_valid():
            try:
                run = run_service.submit_run(user=request.user, **form.run_options())
            except AssayError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, f"Run {run.pk} queued: {run.scope}, seed {run.seed}.")
                return redirect("querygen:run-detail", pk=run.pk)
    else:
        form = RunForm()
    return render(request, "querygen/run_form.html", {"form": form})
