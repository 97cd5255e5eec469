"""The API's permission: reads follow ASSAY_PUBLIC_READ, writes need the permission the view
declares for the action (core.roles). A write a view declares nothing for is staff's."""

from typing import Any

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core import roles


def write_permission(view: Any, request: Any) -> str:
    """The permission a write of `view` needs: its `write_permissions` names one per action
    (`create`, `partial_update`, an @action's name) or `"*"` for every write. A write declared
    nowhere is staff's alone (roles.STAFF_ONLY)."""
    declared = getattr(view, "write_permissions", {})
    action = getattr(view, "action", None) or request.method.lower()
    return declared.get(action) or declared.get("*") or roles.STAFF_ONLY


class Readable(BasePermission):
    """Reads only: anyone while ASSAY_PUBLIC_READ is on, else a signed-in user (the schema and
    the API's docs pages)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return settings.ASSAY_PUBLIC_READ or bool(user and user.is_authenticated)


class RolePermission(Readable):
    """Reads as Readable; a write needs its permission (docs/permissions.md)."""

    message = (
        "This write needs a role that holds its permission: an API token "
        "(Authorization: Token <key>) of the CI role, or a signed-in triager or staff user; "
        "see docs/permissions.md."
    )

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return super().has_permission(request, view)
        if not hasattr(view, request.method.lower()):
            return True  # a method the view has not: its 405, not a 403
        codename = write_permission(view, request)
        if roles.has_permission(request.user, codename):
            return True
        if request.user and request.user.is_authenticated:
            self.message = (
                f"{request.method} {request.path} needs the permission {codename!r} "
                f"(roles: {', '.join(roles.roles_with(codename))}); see docs/permissions.md."
            )
        return False
