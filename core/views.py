from pathlib import Path

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.defaults import page_not_found
from django.views.static import serve


@never_cache
def healthz(request):
    """For load balancers and `make run`: 200 when the database answers, 503 when it doesn't."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


@staff_member_required
def job_log(request, path: str):
    """Job logs (MEDIA_ROOT/logs/<app>/<id>/job.log) for staff; they can hold stack traces."""
    return serve(request, path, document_root=Path(settings.MEDIA_ROOT) / "logs")


def not_found(request, exception):
    """A path no route matches (config.urls' handler404): under /api/ in the API's one error
    shape, as its clients read it; elsewhere the site's page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": "not_found", "detail": f"No API path {request.path[:200]}."}, status=404
        )
    return page_not_found(request, exception)
