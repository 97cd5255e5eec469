from django.conf import settings

NAVIGATION = [
    ("Dashboard", "results:dashboard"),
    ("Runs", "results:run-list"),
    ("Series", "results:series"),
    ("Flaky", "results:flaky"),
    ("Data generation", "datagen:run-list"),
    ("Query testing", "querygen:dashboard"),
    ("API", "api-docs"),
]


def navigation(request):
    return {
        "nav_items": NAVIGATION,
        "recurring_prefixes": settings.ASSAY_RECURRING_PREFIXES,
        "public_read": settings.ASSAY_PUBLIC_READ,
    }
