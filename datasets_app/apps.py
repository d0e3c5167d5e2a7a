from django.apps import AppConfig


class DatasetsAppConfig(AppConfig):
    name = "datasets_app"
    verbose_name = "Datasets"

    def ready(self) -> None:
        # Registers datasets.build_release (its own module while tasks.py is shared work).
        from datasets_app import release_tasks  # noqa: F401
