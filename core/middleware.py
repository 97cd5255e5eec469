from django.http import HttpResponseBadRequest, JsonResponse


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
