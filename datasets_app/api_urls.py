from django.urls import path

from datasets_app.apis import datasets as apis
from datasets_app.apis import releases as release_apis
from datasets_app.apis import rows as row_apis

urlpatterns = [
    path("datasets/", apis.DatasetListCreateApi.as_view(), name="dataset-list"),
    path("datasets/<slug:slug>/", apis.DatasetDetailApi.as_view(), name="dataset-detail"),
    path("datasets/<slug:slug>/stats", apis.DatasetStatsApi.as_view(), name="dataset-stats"),
    path("datasets/<slug:slug>/rows/", row_apis.DatasetRowsApi.as_view(), name="dataset-rows"),
    path(
        "datasets/<slug:slug>/contributions/",
        apis.ContributionCreateApi.as_view(),
        name="dataset-contributions",
    ),
    path(
        "datasets/<slug:slug>/contributions/check",
        apis.ContributionFileCheckApi.as_view(),
        name="dataset-contributions-check",
    ),
    path(
        "datasets/<slug:slug>/releases/",
        release_apis.DatasetReleaseListCreateApi.as_view(),
        name="dataset-releases",
    ),
    path(
        "datasets/<slug:slug>/releases/<int:number>/",
        release_apis.DatasetReleaseDetailApi.as_view(),
        name="dataset-release-detail",
    ),
    path("datasets/<slug:slug>/uploads/", apis.UploadCreateApi.as_view(), name="upload-create"),
    path(
        "datasets/<slug:slug>/labeling/next", apis.LabelingNextApi.as_view(), name="labeling-next"
    ),
    path(
        "datasets/<slug:slug>/labeling/undo", apis.LabelingUndoApi.as_view(), name="labeling-undo"
    ),
    path("contributions/", apis.ContributionListApi.as_view(), name="contribution-list"),
    path(
        "contributions/<int:contribution_id>/",
        apis.ContributionDetailApi.as_view(),
        name="contribution-detail",
    ),
    path("uploads/<uuid:upload_id>", apis.UploadChunkApi.as_view(), name="upload-chunk"),
    path(
        "uploads/<uuid:upload_id>/complete",
        apis.UploadCompleteApi.as_view(),
        name="upload-complete",
    ),
    path("items/<int:item_id>/labels/", apis.LabelCreateApi.as_view(), name="item-labels"),
    path("items/<int:item_id>/skip", apis.ItemSkipApi.as_view(), name="item-skip"),
    path("items/<int:item_id>/gold", apis.ItemGoldApi.as_view(), name="item-gold"),
    path("labels/", apis.LabelListApi.as_view(), name="label-list"),
]
