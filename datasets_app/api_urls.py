from django.urls import URLPattern, URLResolver, include, path

from datasets_app.apis import datasets, labeling, releases, rows, uploads

# One dataset's routes, below datasets/<slug>/.
dataset_routes: list[URLPattern | URLResolver] = [
    path("", datasets.DatasetDetailApi.as_view(), name="dataset-detail"),
    path("stats", datasets.DatasetStatsApi.as_view(), name="dataset-stats"),
    path("rows/", rows.DatasetRowsApi.as_view(), name="dataset-rows"),
    path("contributions/", uploads.ContributionCreateApi.as_view(), name="dataset-contributions"),
    path(
        "contributions/check",
        uploads.ContributionFileCheckApi.as_view(),
        name="dataset-contributions-check",
    ),
    path("releases/", releases.DatasetReleaseListCreateApi.as_view(), name="dataset-releases"),
    path(
        "releases/<int:number>/",
        releases.DatasetReleaseDetailApi.as_view(),
        name="dataset-release-detail",
    ),
    path("uploads/", uploads.UploadCreateApi.as_view(), name="upload-create"),
    path("labeling/next", labeling.LabelingNextApi.as_view(), name="labeling-next"),
    path("labeling/undo", labeling.LabelingUndoApi.as_view(), name="labeling-undo"),
]

# One item's labeling routes, below items/<item_id>/.
item_routes: list[URLPattern | URLResolver] = [
    path("labels/", labeling.LabelCreateApi.as_view(), name="item-labels"),
    path("skip", labeling.ItemSkipApi.as_view(), name="item-skip"),
    path("gold", labeling.ItemGoldApi.as_view(), name="item-gold"),
]

urlpatterns = [
    path("datasets/", datasets.DatasetListCreateApi.as_view(), name="dataset-list"),
    path("datasets/<slug:slug>/", include(dataset_routes)),
    path("contributions/", uploads.ContributionListApi.as_view(), name="contribution-list"),
    path(
        "contributions/<int:contribution_id>/",
        uploads.ContributionDetailApi.as_view(),
        name="contribution-detail",
    ),
    path("uploads/<uuid:upload_id>", uploads.UploadChunkApi.as_view(), name="upload-chunk"),
    path(
        "uploads/<uuid:upload_id>/complete",
        uploads.UploadCompleteApi.as_view(),
        name="upload-complete",
    ),
    path("items/<int:item_id>/", include(item_routes)),
    path("labels/", labeling.LabelListApi.as_view(), name="label-list"),
]
