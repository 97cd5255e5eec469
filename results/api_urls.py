from django.urls import include, path

from core.routers import Router
from results import api

router = Router()
router.register("runs", api.RunViewSet, basename="api-run")
router.register("results", api.ResultViewSet, basename="api-result")
router.register("projects", api.ProjectViewSet, basename="api-project")
router.register("expected", api.ExpectedTestViewSet, basename="api-expected")
router.register("flaky", api.FlakyTestViewSet, basename="api-flaky")
router.register("triage", api.TriageViewSet, basename="api-triage")
router.register("clusters", api.ClusterViewSet, basename="api-cluster")
router.register("series", api.SeriesViewSet, basename="api-series")

urlpatterns = [
    path("imports/", api.ImportView.as_view(), name="api-imports"),
    path("", include(router.urls)),
]
