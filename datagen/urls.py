from django.urls import path

from datagen import views

app_name = "datagen"

urlpatterns = [
    path("", views.run_list, name="run-list"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/progress.json", views.run_progress_json, name="run-progress"),
]
