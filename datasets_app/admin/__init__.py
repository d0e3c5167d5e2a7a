"""Moderation in Django admin, a module per domain. Actions take a reason (the field beside the
action menu) and go through the moderation services, which write the audit log. Importing the
modules registers their admins."""

from datasets_app.admin import contributions, datasets, labeling, releases

__all__ = ["contributions", "datasets", "labeling", "releases"]
