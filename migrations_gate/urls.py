"""The gate's pages (views.py)."""

from django.urls import path

from migrations_gate import views

app_name = "migrations_gate"

urlpatterns = [
    path("", views.check_list, name="check-list"),
    path("checks/<int:pk>/", views.check_detail, name="check-detail"),
    path("checks/<int:pk>/recheck/", views.check_recheck, name="check-recheck"),
    path("checks/<int:pk>/log/<str:dataset>/", views.dataset_log, name="dataset-log"),
    path("checks/<int:pk>/log/<str:dataset>/raw", views.dataset_log_raw, name="dataset-log-raw"),
    path("datasets/", views.dataset_list, name="dataset-list"),
]
