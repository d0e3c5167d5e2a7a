from django.urls import URLPattern, URLResolver, include, path

from datasets_app.views import datasets as views
from datasets_app.views import owner as owner_views
from datasets_app.views import viewer

app_name = "datasets"

# A dataset's versions (its releases), below datasets/<slug>/versions/.
release_routes: list[URLPattern | URLResolver] = [
    path("", views.release_list, name="releases"),
    path("publish/", views.release_publish, name="release-publish"),
    path("<int:number>/", views.release_detail, name="release"),
    path("<int:number>/rows/", viewer.release_rows, name="release-rows"),
]

# One dataset's pages, below datasets/<slug>/.
dataset_routes: list[URLPattern | URLResolver] = [
    path("", views.dataset_detail, name="detail"),
    path("edit/", views.dataset_edit, name="edit"),
    path("rows/", viewer.dataset_rows, name="rows"),
    path("contribute/", views.contribute, name="contribute"),
    path("contribute/rows", views.contribution_rows, name="contribution-rows"),
    path("label/", views.label, name="label"),
    path("versions/", include(release_routes)),
]

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("datasets/new/", views.dataset_create, name="create"),
    path("datasets/<slug:slug>/", include(dataset_routes)),
    path("contributions/<int:contribution_id>/", views.contribution_detail, name="contribution"),
    path("me/contributions/", views.my_contributions, name="my-contributions"),
    path("me/labels/", views.my_labels, name="my-labels"),
    path("me/datasets/", owner_views.my_datasets, name="my-datasets"),
]
