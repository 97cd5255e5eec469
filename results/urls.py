from django.urls import path

from results import views

app_name = "results"

urlpatterns = [
    path("", views.run_list, name="run-list"),
    path("runs/<str:name>/", views.run_detail, name="run-detail"),
    path("results/<int:pk>/", views.result_detail, name="result-detail"),
]
