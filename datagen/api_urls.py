from django.urls import include, path
from rest_framework.routers import DefaultRouter

from datagen import api

router = DefaultRouter()
router.register("runs", api.DatagenRunViewSet, basename="api-datagen-run")

urlpatterns = [
    path("specs/", api.SpecListView.as_view(), name="api-datagen-specs"),
    path("", include(router.urls)),
]
