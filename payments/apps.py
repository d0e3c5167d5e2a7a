from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments import receivers, schema  # noqa: F401 - registers receivers and the OpenAPI auth extension
