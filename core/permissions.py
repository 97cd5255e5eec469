from django.conf import settings
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission


class ReadAnyWriteTokenOrStaff(BasePermission):
    """Reads are open (unless ASSAY_PUBLIC_READ=false); writes need an API token or a staff
    session. A token is what CI holds; a session is a person at the browsable API."""

    message = "Writes need an API token (Authorization: Token <key>) or a staff login."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if request.method in SAFE_METHODS:
            return settings.ASSAY_PUBLIC_READ or bool(user and user.is_authenticated)
        if not (user and user.is_authenticated and user.is_active):
            return False
        return isinstance(request.successful_authenticator, TokenAuthentication) or user.is_staff
