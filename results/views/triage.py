"""Triage pages: the triage panel (test page, cluster page, a triage's page), its writes (set,
comment, delete), the /triage/ list.

`triage_panel()` builds what templates/results/_triage.html needs for one target; any page
shows a panel with `{% include "results/_triage.html" with panel=triage %}`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from core import roles
from core.decorators import permission_required, readable
from core.exceptions import AssayError
from results.models import DefectType, Triage
from results.selectors import triage as triage_selectors
from results.selectors.triage import Target
from results.services import triage as triage_service

TRIAGES_PER_PAGE = 100


def triage_panel(
    request: HttpRequest,
    *,
    project: str = "",
    test_name: str = "",
    host: str = "",
    context: str = "",
    fingerprint: str = "",
    project_id: int | None = None,
    narrow: dict[str, str] | None = None,
    known: list[Triage] | None = None,
) -> dict:
    """The context of templates/results/_triage.html for a test (project name and id, test
    name, host and context: blank for any) or a cluster (fingerprint). `narrow` offers the
    form's "only this host/context" boxes (a result's host and context)."""
    if fingerprint:
        target = Target(fingerprint=fingerprint)
        label = f"cluster {fingerprint}"
    else:
        target = Target(project_id=project_id, test_name=test_name, host=host, context=context)
        label = "this test"
    if known is None:
        triage = triage_selectors.triage_of(target)
    else:  # the page loaded the triages already (with their comments)
        wanted = target.lookup()
        triage = next(
            (t for t in known if all(getattr(t, k) == v for k, v in wanted.items())), None
        )
    return {
        "label": label,
        "fields": {
            "project": "" if fingerprint else project,
            "test_name": test_name,
            "host": host,
            "context": context,
            "fingerprint": fingerprint,
        },
        "triage": triage,
        "muted_now": bool(triage and triage.is_muted()),
        "comments": list(triage.comments.all()) if triage else [],
        "can_triage": roles.has_permission(request.user, "triage"),
        "defect_types": DefectType.choices,
        "narrow": [(k, v) for k, v in (narrow or {}).items() if v],
        "next": request.get_full_path(),
    }


def _back(request: HttpRequest, fallback: str) -> str:
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return back
    return fallback


def _until(raw: str) -> datetime | None:
    """The form's "muted until" (a datetime-local field, taken as UTC)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise AssayError(f"Muted until {raw[:40]!r}: give a date and time.") from None
    return value.replace(tzinfo=UTC) if timezone.is_naive(value) else value


@require_POST
@permission_required("triage", "Triaging tests and clusters")
def set_triage(request: HttpRequest) -> HttpResponse:
    """The panel's form: set the defect type, ticket, mute and add a comment."""
    post = request.POST
    back = _back(request, reverse("results:triage-list"))
    try:
        target = triage_service.target_of(
            project=post.get("project", ""),
            test_name=post.get("test_name", ""),
            host=post.get("host", ""),
            context=post.get("context", ""),
            fingerprint=post.get("fingerprint", ""),
        )
        muted = post.get("muted") == "on"
        change = triage_service.TriageChange(
            defect_type=post.get("defect_type") or None,
            ticket=post.get("ticket", ""),
            muted=muted,
            muted_until=_until(post.get("muted_until", "")) if muted else None,
            comment=post.get("comment", ""),
        )
        triage, created = triage_service.set_triage(target, change, who=request.user.get_username())
    except AssayError as exc:
        messages.error(request, exc.detail)
        return redirect(back)
    state = "muted" if triage.is_muted() else "not muted"
    messages.success(
        request,
        f"{'Triaged' if created else 'Triage changed'}: {triage.get_defect_type_display()}, "
        f"{state}.",
    )
    return redirect(back)


@require_POST
@permission_required("triage", "Commenting on a triage")
def comment_triage(request: HttpRequest, pk: int) -> HttpResponse:
    triage = get_object_or_404(Triage, pk=pk)
    back = _back(request, reverse("results:triage-list"))
    try:
        triage_service.add_comment(
            triage, request.POST.get("text", ""), who=request.user.get_username()
        )
    except AssayError as exc:
        messages.error(request, exc.detail)
    return redirect(back)


@require_safe
@readable
def triage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One triage: its panel (the form, for triagers; the delete form under it)."""
    triage = get_object_or_404(
        Triage.objects.select_related("project").prefetch_related("comments"), pk=pk
    )
    panel = triage_panel(
        request,
        project=triage.project.name if triage.project else "",
        project_id=triage.project_id,
        test_name=triage.test_name,
        host=triage.host,
        context=triage.context,
        fingerprint=triage.fingerprint,
        known=[triage],
    )
    return render(request, "results/triage_detail.html", {"t": triage, "triage": panel})


@require_POST
@permission_required("triage", "Deleting a triage")
def delete_triage(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel's delete form: its box must be ticked (the confirmation, without script)."""
    triage = get_object_or_404(Triage, pk=pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the box to confirm the deletion: nothing was deleted.")
        return redirect(_back(request, reverse("results:triage-detail", args=[pk])))
    label, was_muted = triage.target_label, triage.is_muted()
    comments = triage_service.delete_triage(triage)
    said = [f"Triage of {label} deleted"]
    if comments:
        said.append(f" with its {comments} comment{'s' if comments != 1 else ''}")
    if was_muted:
        said.append("; it is no longer muted")
    messages.success(request, "".join(said) + ".")
    return redirect("results:triage-list")


@require_safe
@readable
def triage_list(request: HttpRequest) -> HttpResponse:
    """Triages, active mutes first by default (?all=1: every triage)."""
    show_all = request.GET.get("all") == "1"
    defect_type = request.GET.get("defect_type", "")
    if defect_type not in DefectType.values:
        defect_type = ""
    qs = triage_selectors.triages(muted_only=not show_all, defect_type=defect_type or None)
    page = Paginator(qs, TRIAGES_PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    return render(
        request,
        "results/triage_list.html",
        {
            "page": page,
            "rows": [(t, t.is_muted(now)) for t in page],
            "show_all": show_all,
            "defect_type": defect_type,
            "defect_types": DefectType.choices,
        },
    )
