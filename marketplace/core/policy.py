"""Who may see and change what: the one place the access rules live.

Pages, APIs, admin, selectors and services ask these functions instead of spelling the rules out
again. They read attributes only (``status``, ``owner_id``, ``sponsor_id``...), so any app can
use them without this module importing an app: ``marketplace.core`` stays below both apps.

The roles, from least to most: a visitor (not signed in), a signed-in person, the person a thing
belongs to (a dataset's owner, a contribution's contributor, a bounty's sponsor), and staff.
Anything a person may not see reads as not found, never as "forbidden", so ids leak nothing.
"""

from __future__ import annotations

from typing import Any

# Values of datasets_app.enums.DatasetStatus and ReleaseStatus (strings, so no import upward).
DRAFT_DATASET_STATUS = "draft"
READY_RELEASE_STATUS = "ready"


def is_signed_in(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated)


def is_staff(user: Any) -> bool:
    return is_signed_in(user) and bool(user.is_staff)


def is_owner(user: Any, owner_id: int | None) -> bool:
    return is_signed_in(user) and owner_id is not None and user.pk == owner_id


def can_manage_dataset(user: Any, dataset: Any) -> bool:
    """The dataset's owner and staff: edit it, publish versions, see unfinished ones, see every
    row and contribution of it."""
    return is_staff(user) or is_owner(user, dataset.owner_id)


def can_view_dataset(user: Any, dataset: Any) -> bool:
    """Open and closed datasets to everyone, a draft to its owner, anything (hidden ones
    included) to staff."""
    if dataset.is_public:
        return True
    if is_staff(user):
        return True
    return dataset.status == DRAFT_DATASET_STATUS and is_owner(user, dataset.owner_id)


def can_view_release(user: Any, release: Any, dataset: Any | None = None) -> bool:
    """A version of a dataset someone may see: a ready one to whoever sees the dataset, the
    unfinished ones to those who manage it."""
    dataset = dataset if dataset is not None else release.dataset
    if not can_view_dataset(user, dataset):
        return False
    return release.status == READY_RELEASE_STATUS or can_manage_dataset(user, dataset)


def can_view_contribution(user: Any, contribution: Any, dataset: Any | None = None) -> bool:
    """A contribution is seen by its contributor, the dataset's owner and staff."""
    dataset = dataset if dataset is not None else contribution.dataset
    return is_owner(user, contribution.contributor_id) or can_manage_dataset(user, dataset)


def bounty_visible(user: Any, bounty: Any, dataset: Any | None = None) -> bool:
    """A bounty is seen wherever its dataset is seen: the page and the API share this rule."""
    return can_view_dataset(user, dataset if dataset is not None else bounty.dataset)


def bounty_insider(user: Any, bounty: Any) -> bool:
    """The sponsor and staff: they see why a funding transaction was refused."""
    return is_staff(user) or is_owner(user, bounty.sponsor_id)
