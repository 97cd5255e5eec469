"""A URLconf with a view that fails, for the 500 page's test (tests/core/test_views.py)."""

from django.urls import path

from config.urls import urlpatterns as site


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom), *site]
