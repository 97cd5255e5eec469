from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core import views as core_views
from core.decorators import readable

# Each app's admin.py, here rather than at start (settings: SimpleAdminConfig).
admin.autodiscover()

handler404 = core_views.not_found

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    # Anyone with an account signs in here to read (the admin's login is for staff only).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("permissions/", core_views.permissions, name="permissions"),
    path("media/logs/<path:path>", core_views.job_log, name="job-log"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The schema is the API's (a login or a token while ASSAY_PUBLIC_READ is off: its
    # SERVE_PERMISSIONS); its docs pages are pages (a login, as the site's own).
    path(
        "api/docs/",
        readable(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        readable(SpectacularRedocView.as_view(url_name="api-schema")),
        name="api-redoc",
    ),
    path("api/v1/", include("results.api_urls")),
    path("api/v1/datagen/", include("datagen.api_urls")),
    path("api/v1/querygen/", include("querygen.api_urls")),
    path("api/v1/gate/", include("migrations_gate.api_urls")),
    path("datagen/", include("datagen.urls")),
    path("querygen/", include("querygen.urls")),
    path("gate/", include("migrations_gate.urls")),
    path("crashtest/", include("crashtest.urls")),
    path("", include("results.urls")),
]
