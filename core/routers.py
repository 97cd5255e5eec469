"""The API's router: DRF's DefaultRouter without the `.json` suffix routes. `?format=json`
does what a suffix would, and the apps' @action views take no `format` argument (a suffix route
to one answered 500)."""

from rest_framework.routers import DefaultRouter


class Router(DefaultRouter):
    include_format_suffixes = False
