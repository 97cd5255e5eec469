from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login

from core import roles


def readable(view):
    """Pages anyone may read, unless ASSAY_PUBLIC_READ=false: then a login is needed (the API
    follows the same setting through core.permissions)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.ASSAY_PUBLIC_READ and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def permission_required(codename: str, what: str = ""):
    """A page that writes: a visitor who asks for its form is sent to sign in; a POST without
    the permission (a visitor's included: the form's data would be lost on the way) gets 403
    with core.roles.require's sentence (docs/permissions.md)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated and request.method in ("GET", "HEAD"):
                return redirect_to_login(request.get_full_path())
            roles.require(request.user, codename, what)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
