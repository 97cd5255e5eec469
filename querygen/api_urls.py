from django.urls import include, path

from core.routers import Router
from querygen import api

router = Router()
router.register("runs", api.QuerygenRunViewSet, basename="api-querygen-run")
router.register("groups", api.GroupViewSet, basename="api-querygen-group")
router.register("findings", api.FindingViewSet, basename="api-querygen-finding")
router.register("pairs", api.PairViewSet, basename="api-querygen-pair")

urlpatterns = [
    path("", include(router.urls)),
]
