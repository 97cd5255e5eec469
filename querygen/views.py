"""HTML pages of querygen (being built: see docs/querygen.md)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from core.decorators import readable
from querygen.models import Group, QuerygenRun


@readable
def dashboard(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{QuerygenRun.objects.count()} runs", content_type="text/plain")


@readable
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(QuerygenRun, pk=pk)
    return HttpResponse(run.report, content_type="text/plain")


@readable
def group_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{Group.objects.count()} groups", content_type="text/plain")


@readable
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    return HttpResponse(group.title, content_type="text/plain")
