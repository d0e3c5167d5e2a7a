"""What moderators do in Django admin. Every action needs a reason and leaves an audit entry."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from datasets_app.enums import ContributionStatus
from datasets_app.exceptions import DatasetError
from datasets_app.models import Contribution, Dataset, Item, Label
from datasets_app.selectors.datasets import dataset_page_forget
from datasets_app.services.validation_ingest import items_delete
from datasets_app.services.validation_run import contribution_results_clear
from datasets_app.signals import contribution_rejected
from marketplace.core.models import User
from marketplace.core.services import audit_log_record
from marketplace.core.staff import staff_reason_check


def _check(actor: User, reason: str) -> str:
    return staff_reason_check(
        actor=actor, reason=reason, denied="Only moderators do this.", error=DatasetError
    )


def _page_forget(dataset_id: int) -> None:
    # Hidden rows and rejected labels move no counter the dataset page's cache keys are made of.
    transaction.on_commit(lambda: dataset_page_forget(dataset_id=dataset_id))


@transaction.atomic
def contribution_reject(*, contribution: Contribution, actor: User, reason: str) -> Contribution:
    """Reject a contribution: its items are hidden from labeling, releases and buyers."""
    reason = _check(actor, reason)
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    _page_forget(contribution.dataset_id)
    previous = contribution.status
    hidden = Item.objects.filter(contribution=contribution, is_hidden=False).update(is_hidden=True)
    contribution.status = ContributionStatus.REJECTED
    contribution.report = {**contribution.report, "moderation": {"rejected": reason}}
    contribution.save(update_fields=["status", "report", "updated_at"])
    audit_log_record(
        action="contribution.moderation_rejected",
        actor=actor,
        target=contribution,
        data={"from": previous, "reason": reason, "items_hidden": hidden},
    )
    contribution_rejected.send(
        sender=Contribution, contribution=contribution, actor=actor, reason=reason
    )
    return contribution


@transaction.atomic
def contribution_approve(*, contribution: Contribution, actor: User, reason: str) -> Contribution:
    """Undo a moderation rejection: the contribution's valid items come back."""
    reason = _check(actor, reason)
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    _page_forget(contribution.dataset_id)
    if contribution.rows_accepted == 0:
        raise DatasetError("This contribution has no accepted rows to approve.", code="no_rows")
    shown = Item.objects.filter(contribution=contribution, is_hidden=True).update(is_hidden=False)
    contribution.status = (
        ContributionStatus.ACCEPTED
        if contribution.rows_rejected == 0
        else ContributionStatus.PARTIALLY_ACCEPTED
    )
    contribution.save(update_fields=["status", "updated_at"])
    audit_log_record(
        action="contribution.moderation_approved",
        actor=actor,
        target=contribution,
        data={"reason": reason, "items_shown": shown},
    )
    return contribution


@transaction.atomic
def contribution_revalidate(*, contribution: Contribution, actor: User, reason: str) -> None:
    """Run validation again from scratch (e.g. after a fix); refused once items carry labels."""
    from datasets_app.tasks import validate_contribution

    reason = _check(actor, reason)
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    if Label.objects.filter(item__contribution=contribution).exists():
        raise DatasetError(
            "Its items already carry labels: re-validation would drop them.", code="has_labels"
        )
    deleted = items_delete(Item.objects.filter(contribution=contribution))
    Dataset.objects.filter(pk=contribution.dataset_id).update(
        items_count=F("items_count") - deleted
    )
    contribution.status = ContributionStatus.UPLOADED
    contribution.validation_claim = None
    contribution_results_clear(contribution)
    contribution.save()
    audit_log_record(
        action="contribution.revalidate",
        actor=actor,
        target=contribution,
        data={"reason": reason, "items_deleted": deleted},
    )
    transaction.on_commit(lambda: validate_contribution.delay(contribution.pk))


@transaction.atomic
def item_set_hidden(*, item: Item, actor: User, hidden: bool, reason: str) -> None:
    reason = _check(actor, reason)
    Item.objects.filter(pk=item.pk).update(is_hidden=hidden)
    _page_forget(item.dataset_id)
    audit_log_record(
        action="item.hidden" if hidden else "item.shown",
        actor=actor,
        target=item,
        data={"reason": reason},
    )


@transaction.atomic
def label_reject(*, label: Label, actor: User, reason: str) -> None:
    """A rejected label no longer counts for consensus or rewards."""
    reason = _check(actor, reason)
    Label.objects.filter(pk=label.pk).update(is_rejected=True)
    _page_forget(label.dataset_id)
    audit_log_record(action="label.rejected", actor=actor, target=label, data={"reason": reason})


@transaction.atomic
def dataset_consensus_refresh_queue(*, dataset: Dataset, actor: User, reason: str) -> None:
    """Queue Dawid-Skene over one dataset for a worker: it reads every label of the dataset, far
    too slow for an admin request (the hourly beat task does all datasets the same way)."""
    from datasets_app.tasks import refresh_dataset_consensus

    reason = _check(actor, reason)
    audit_log_record(
        action="dataset.consensus_refresh_queued",
        actor=actor,
        target=dataset,
        data={"reason": reason},
    )
    dataset_id = dataset.pk
    transaction.on_commit(lambda: refresh_dataset_consensus.delay(dataset_id))
