from django.urls import include, path

from core.routers import Router
from datagen import api

router = Router()
router.register("runs", api.DatagenRunViewSet, basename="api-datagen-run")

urlpatterns = [
    path("specs/", api.SpecListView.as_view(), name="api-datagen-specs"),
    path("", include(router.urls)),
]
