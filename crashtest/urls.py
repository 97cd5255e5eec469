"""The crash tester's pages (views.py)."""

from django.urls import path

from crashtest import views

app_name = "crashtest"

urlpatterns = [
    path("", views.run_list, name="run-list"),
    path("<int:pk>/", views.run_detail, name="run-detail"),
    path("<int:pk>/report.json", views.run_report, name="run-report"),
]
