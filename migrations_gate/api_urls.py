"""The gate's REST API (api.py), under /api/v1/gate/."""

from django.urls import include, path

from core.routers import Router
from migrations_gate import api

app_name = api.NAMESPACE

router = Router()
router.register("checks", api.CheckViewSet, basename="check")
router.register("datasets", api.DatasetViewSet, basename="dataset")
router.register("projects", api.ProjectViewSet, basename="project")

urlpatterns = [
    path("checks/<int:pk>/summary.md", api.CheckSummaryView.as_view(), name="check-summary"),
    path("", include(router.urls)),
]
