from pathlib import Path

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.static import serve

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


@staff_member_required
def job_log(request, path: str):
    """Job logs (MEDIA_ROOT/logs/<app>/<id>/job.log) for staff; they can hold stack traces."""
    return serve(request, path, document_root=Path(settings.MEDIA_ROOT) / "logs")
