from datasets_app.services.consensus import (
    dataset_consensus_refresh,
    datasets_consensus_refresh_all,
    item_consensus_update,
)
from datasets_app.services.datasets import dataset_create, dataset_moderate, dataset_update
from datasets_app.services.labeling import (
    item_set_gold,
    label_skip,
    label_submit,
    label_undo,
    labeling_next_item,
    reservations_release_expired,
)
from datasets_app.services.row_quality import near_duplicate_bands_rebuild
from datasets_app.services.uploads import (
    contribution_submit,
    duplicate_file_error,
    upload_chunk_append,
    upload_chunk_size_check,
    upload_session_abort,
    upload_session_complete,
    upload_session_create,
    upload_sessions_expire,
)
from datasets_app.services.validation import contribution_validate, contributions_requeue_stuck
from datasets_app.services.validation_shards import contribution_validate_shard

__all__ = [
    "contribution_submit",
    "contribution_validate",
    "contribution_validate_shard",
    "contributions_requeue_stuck",
    "dataset_consensus_refresh",
    "dataset_create",
    "dataset_moderate",
    "dataset_update",
    "datasets_consensus_refresh_all",
    "duplicate_file_error",
    "item_consensus_update",
    "item_set_gold",
    "label_skip",
    "label_submit",
    "label_undo",
    "labeling_next_item",
    "near_duplicate_bands_rebuild",
    "reservations_release_expired",
    "upload_chunk_append",
    "upload_chunk_size_check",
    "upload_session_abort",
    "upload_session_complete",
    "upload_session_create",
    "upload_sessions_expire",
]
