from django.urls import path

from querygen import views

app_name = "querygen"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("live.json", views.live_json, name="live"),
    path("runs/new/", views.run_new, name="run-new"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("groups/", views.group_list, name="group-list"),
    path("groups/bulk/", views.group_bulk, name="group-bulk"),
    path("groups/<int:pk>/", views.group_detail, name="group-detail"),
    path("groups/<int:pk>/status/", views.group_status, name="group-status"),
    path("groups/<int:pk>/replay/", views.group_replay, name="group-replay"),
    path("groups/<int:pk>/merge/", views.group_merge, name="group-merge"),
    path(
        "findings/<int:pk>/reproducer/<str:side>.sql",
        views.finding_script,
        name="finding-script",
    ),
]
