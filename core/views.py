from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.defaults import page_not_found
from django.views.static import serve

from core import roles
from core.decorators import permission_required, readable
from core.secrets import scrub


@never_cache
def healthz(request):
    """For load balancers and `make run`: 200 when the database answers, 503 when it doesn't."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not healthy"
        # Public: the driver's message may name the DATABASE_URL's password.
        return JsonResponse({"status": "error", "database": scrub(str(exc))}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


@permission_required("read_job_logs", "Reading a job's log")
def job_log(request, path: str):
    """Job logs (MEDIA_ROOT/logs/<app>/<id>/job.log), streamed, for those who may read them
    (staff): they can hold stack traces."""
    return serve(request, path, document_root=Path(settings.MEDIA_ROOT) / "logs")


@readable
def permissions(request):
    """Who may do what: the roles of core.roles, and what the visitor holds."""
    rows = [
        (codename, text, [codename in perms for perms in roles.ROLES.values()],
         roles.has_permission(request.user, codename))
        for codename, text in roles.PERMISSIONS.items()
    ]  # fmt: skip
    return render(
        request,
        "core/permissions.html",
        {"roles": list(roles.ROLES), "rows": rows, "public_read": settings.ASSAY_PUBLIC_READ},
    )


def not_found(request, exception):
    """A path no route matches (config.urls' handler404): under /api/ in the API's one error
    shape, as its clients read it; elsewhere the site's page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": "not_found", "detail": f"No API path {request.path[:200]}."}, status=404
        )
    return page_not_found(request, exception)
