from django.urls import path

from datasets_app.views import datasets as views
from datasets_app.views import owner as owner_views
from datasets_app.views import viewer

app_name = "datasets"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("datasets/new/", views.dataset_create, name="create"),
    path("datasets/<slug:slug>/", views.dataset_detail, name="detail"),
    path("datasets/<slug:slug>/edit/", views.dataset_edit, name="edit"),
    path("datasets/<slug:slug>/rows/", viewer.dataset_rows, name="rows"),
    path("datasets/<slug:slug>/contribute/", views.contribute, name="contribute"),
    path("datasets/<slug:slug>/contribute/rows", views.contribution_rows, name="contribution-rows"),
    path("datasets/<slug:slug>/label/", views.label, name="label"),
    path("datasets/<slug:slug>/versions/", views.release_list, name="releases"),
    path(
        "datasets/<slug:slug>/versions/publish/",
        views.release_publish,
        name="release-publish",
    ),
    path(
        "datasets/<slug:slug>/versions/<int:number>/",
        views.release_detail,
        name="release",
    ),
    path(
        "datasets/<slug:slug>/versions/<int:number>/rows/",
        viewer.release_rows,
        name="release-rows",
    ),
    path("contributions/<int:contribution_id>/", views.contribution_detail, name="contribution"),
    path("me/contributions/", views.my_contributions, name="my-contributions"),
    path("me/labels/", views.my_labels, name="my-labels"),
    path("me/datasets/", owner_views.my_datasets, name="my-datasets"),
]
