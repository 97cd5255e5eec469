from django.conf import settings

NAVIGATION = [
    ("Runs", "results:run-list"),
    ("API", "api-docs"),
]


def navigation(request):
    return {"nav_items": NAVIGATION, "recurring_prefixes": settings.ASSAY_RECURRING_PREFIXES}
