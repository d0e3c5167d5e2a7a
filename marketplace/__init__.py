"""DataBounty project package: settings, URLs, the Celery app and the core app."""

from marketplace.celery import app as celery_app

__all__ = ["celery_app"]
