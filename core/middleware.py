from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse

from core.exceptions import (
    DatabaseBusy,
    UploadTooLarge,
    busy_detail,
    is_busy,
    retry_after_seconds,
)


class RejectNulMiddleware:
    """A NUL character in the address or the query string is refused before any view runs:
    PostgreSQL cannot compare text with one, so it would surface as a server error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or "\x00" in value for key, value in request.GET.items()
        ):
            detail = "The address or a query parameter contains a NUL character."
            if request.path.startswith("/api/"):
                return JsonResponse({"error": "bad_request", "detail": detail}, status=400)
            return HttpResponseBadRequest(detail)
        return self.get_response(request)


class DatabaseBusyMiddleware:
    """A view that met a busy database (after core.db.retry_on_busy's budget, or a write that
    is not retried) answers 503 with Retry-After: try again, nothing was written. Never a 500.
    The API answers the same from core.exceptions.api_exception_handler."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_busy(exception):
            return None
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"error": DatabaseBusy.code, "detail": busy_detail()}, status=503
            )
        else:
            response = HttpResponse(busy_detail(), status=503, content_type="text/plain")
        response["Retry-After"] = str(retry_after_seconds())
        return response


def _refusal(request, error: UploadTooLarge) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": error.code, "detail": error.detail}, status=error.status)
    return HttpResponse(error.detail, status=error.status, content_type="text/plain")


class UploadLimitMiddleware:
    """A request whose body is over ASSAY_MAX_UPLOAD_BYTES is refused with 413 from its
    Content-Length, before any of the body is read; on every endpoint. (Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE counts the form fields only, never the files.) A page whose
    file is over its limit (FileSizeLimitHandler) answers 413 too; the API does so in
    core.exceptions.api_exception_handler."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads a bad Content-Length as no body
        limit = settings.ASSAY_MAX_UPLOAD_BYTES
        if length > limit:
            return _refusal(
                request,
                UploadTooLarge(
                    f"The request is {length} bytes, over the limit of {limit} bytes per "
                    "request (ASSAY_MAX_UPLOAD_BYTES): send fewer or smaller files per request."
                ),
            )
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, UploadTooLarge):
            return _refusal(request, exception)
        return None


class FileSizeLimitHandler(FileUploadHandler):
    """First of FILE_UPLOAD_HANDLERS: a file past ASSAY_MAX_UPLOAD_FILE_BYTES goes no further
    (the handlers after this one, which keep files, get none of the rest), and once the body
    is read the request is refused with UploadTooLarge (413). Reading the body to its end
    first lets the client, still sending, read the answer instead of a reset connection."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.ASSAY_MAX_UPLOAD_FILE_BYTES
        self.too_large: list[str] = []
        self.size = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.size += len(raw_data)
        if self.size <= self.limit:
            return raw_data
        if not self.too_large or self.too_large[-1] != self.file_name:
            self.too_large.append(self.file_name)
        return None

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file

    def upload_complete(self) -> None:
        if self.too_large:
            names = ", ".join(self.too_large)
            raise UploadTooLarge(
                f"{names}: over the limit of {self.limit} bytes per file "
                "(ASSAY_MAX_UPLOAD_FILE_BYTES); nothing was imported."
            )
