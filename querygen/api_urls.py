from django.urls import include, path
from rest_framework.routers import DefaultRouter

from querygen import api

router = DefaultRouter()
router.register("runs", api.QuerygenRunViewSet, basename="api-querygen-run")
router.register("groups", api.GroupViewSet, basename="api-querygen-group")
router.register("findings", api.FindingViewSet, basename="api-querygen-finding")
router.register("pairs", api.PairViewSet, basename="api-querygen-pair")

urlpatterns = [
    path("", include(router.urls)),
]
