from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments import panels, receivers  # noqa: F401 - registers the receivers

        panels.register()  # the dataset page's bounty and license panels, the license check
