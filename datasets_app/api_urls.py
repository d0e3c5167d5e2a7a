from django.urls import path

from datasets_app.apis import datasets, labeling, releases, rows, uploads

urlpatterns = [
    path("datasets/", datasets.DatasetListCreateApi.as_view(), name="dataset-list"),
    path("datasets/<slug:slug>/", datasets.DatasetDetailApi.as_view(), name="dataset-detail"),
    path("datasets/<slug:slug>/stats", datasets.DatasetStatsApi.as_view(), name="dataset-stats"),
    path("datasets/<slug:slug>/rows/", rows.DatasetRowsApi.as_view(), name="dataset-rows"),
    path(
        "datasets/<slug:slug>/contributions/",
        uploads.ContributionCreateApi.as_view(),
        name="dataset-contributions",
    ),
    path(
        "datasets/<slug:slug>/contributions/check",
        uploads.ContributionFileCheckApi.as_view(),
        name="dataset-contributions-check",
    ),
    path(
        "datasets/<slug:slug>/releases/",
        releases.DatasetReleaseListCreateApi.as_view(),
        name="dataset-releases",
    ),
    path(
        "datasets/<slug:slug>/releases/<int:number>/",
        releases.DatasetReleaseDetailApi.as_view(),
        name="dataset-release-detail",
    ),
    path("datasets/<slug:slug>/uploads/", uploads.UploadCreateApi.as_view(), name="upload-create"),
    path(
        "datasets/<slug:slug>/labeling/next",
        labeling.LabelingNextApi.as_view(),
        name="labeling-next",
    ),
    path(
        "datasets/<slug:slug>/labeling/undo",
        labeling.LabelingUndoApi.as_view(),
        name="labeling-undo",
    ),
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
    path("items/<int:item_id>/labels/", labeling.LabelCreateApi.as_view(), name="item-labels"),
    path("items/<int:item_id>/skip", labeling.ItemSkipApi.as_view(), name="item-skip"),
    path("items/<int:item_id>/gold", labeling.ItemGoldApi.as_view(), name="item-gold"),
    path("labels/", labeling.LabelListApi.as_view(), name="label-list"),
]
