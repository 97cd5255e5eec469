from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login


def readable(view):
    """Pages anyone may read, unless ASSAY_PUBLIC_READ=false: then a login is needed (the API
    follows the same setting through core.permissions)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.ASSAY_PUBLIC_READ and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper
