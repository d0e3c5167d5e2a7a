from marketplace.core.exceptions import ApplicationError


class DatasetError(ApplicationError):
    default_code = "invalid_dataset"


class UploadError(ApplicationError):
    default_code = "upload_refused"


class LabelingError(ApplicationError):
    default_code = "labeling_refused"


class ReleaseError(ApplicationError):
    default_code = "release_refused"
