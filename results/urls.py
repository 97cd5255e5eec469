from django.urls import path, re_path

from results import views

app_name = "results"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("runs/", views.run_list, name="run-list"),
    path("flaky/", views.flaky_list, name="flaky"),
    path("search/", views.search, name="search"),
    path("series/", views.series_list, name="series"),
    path("series/<path:name>/", views.series_detail, name="series-detail"),
    path("runs/<str:name>/", views.run_detail, name="run-detail"),
    path("runs/<str:name>/compare/", views.compare_runs, name="compare-previous"),
    path("runs/<str:name>/compare/<str:other>/", views.compare_runs, name="compare"),
    re_path(r"^clusters/(?P<fingerprint>[0-9a-f]{16})/$", views.cluster_page, name="cluster"),
    path("results/<int:pk>/", views.test_page, name="result-detail"),
    path("results/<int:pk>/unexpect/", views.unexpect_result, name="result-unexpect"),
    path("triage/", views.triage_list, name="triage-list"),
    path("triage/set/", views.set_triage, name="triage-set"),
    path("triage/<int:pk>/", views.triage_detail, name="triage-detail"),
    path("triage/<int:pk>/delete/", views.delete_triage, name="triage-delete"),
    path("triage/<int:pk>/comments/", views.comment_triage, name="triage-comment"),
]
