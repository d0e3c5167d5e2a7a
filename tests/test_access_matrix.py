"""Every endpoint with a per-object rule against every role, from one table.

Rows name an endpoint (by its URL name, so the table survives moves), how to build its URL from
the world below, the method, and the status each role gets. The rules themselves live in
``marketplace.core.policy``: anything a person may not see is not found (404), never
"forbidden", so ids leak nothing; a page that needs a session sends a visitor to sign in (302);
an API without credentials answers 401; a file that needs a license answers 403
``license_required``; every API refusal is JSON {"detail", "code"}.

The world: an open dataset owned by ``owner`` with a ready release (two Parquet shards and a
card) and an unfinished one, a funded bounty that paid ``contributor`` a reward, a contribution
by ``contributor`` and one by ``other_contributor`` (validated after the epoch, so unpaid), a
priced tier, an order by ``buyer`` (no license) waiting for its payment, and an expired grant
held by ``expired_buyer``; beside it a draft dataset of the same owner with a bounty of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from datasets_app.models import Contribution, Dataset, DatasetRelease, ReleaseFile
from marketplace.core.models import User
from payments.models import Bounty, LicenseGrant, LicenseTier, Purchase, Reward
from payments.services.downloads import download_link_sign
from payments.services.purchases import purchase_create
from payments.services.rewards import reward_epoch_compute
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "contributor",
    "other_contributor",
    "owner",
    "buyer",
    "expired_buyer",
    "staff",
)


@dataclass
class World:
    users: dict[str, User]
    dataset: Dataset
    draft: Dataset
    release: DatasetRelease
    unfinished: DatasetRelease
    shard: ReleaseFile
    contribution: Contribution
    bounty: Bounty
    draft_bounty: Bounty
    reward: Reward
    tier: LicenseTier
    purchase: Purchase
    expired_grant: LicenseGrant


@pytest.fixture
def world() -> World:
    owner = factories.UserFactory.create()
    users = {
        "contributor": factories.UserFactory.create(),
        "other_contributor": factories.UserFactory.create(),
        "owner": owner,
        "buyer": factories.UserFactory.create(),
        "expired_buyer": factories.UserFactory.create(),
        "staff": factories.UserFactory.create(is_staff=True),
    }
    dataset = factories.DatasetFactory.create(owner=owner)
    bounty = factories.funded(dataset=dataset)
    contribution = factories.contribution_with_items(
        dataset, users["contributor"], [1.0, 1.0], validated_at=factories.in_epoch(bounty)
    )
    factories.contribution_with_items(
        dataset, users["other_contributor"], [1.0], validated_at=bounty.ends_at
    )
    reward_epoch_compute(bounty_id=bounty.pk)
    release = factories.make_release(dataset)
    tier = factories.commercial_tier(
        dataset, token=factories.TokenFactory.create(decimals=6), price=10**6
    )
    expired = factories.make_grant(
        users["expired_buyer"], dataset, [release], expires_at=timezone.now() - timedelta(days=1)
    )
    draft = factories.DatasetFactory.create(owner=owner, status="draft")
    users["staff"].user_permissions.set(
        Permission.objects.filter(codename__in=["view_dataset", "view_purchase"])
    )
    return World(
        users=users,
        dataset=dataset,
        draft=draft,
        release=release,
        unfinished=DatasetRelease.objects.create(
            dataset=dataset, number=2, created_by=owner, status="building"
        ),
        shard=release.files.get(name="data/train-00000-of-00002.parquet"),
        contribution=contribution,
        bounty=bounty,
        draft_bounty=factories.BountyFactory.create(dataset=draft),
        reward=Reward.objects.get(user=users["contributor"], bounty=bounty),
        tier=tier,
        purchase=purchase_create(buyer=users["buyer"], tier=tier),
        expired_grant=expired,
    )


UrlBuilder = Callable[[World, "User | None"], str]


def named(name: str, **kwargs: Callable[[World], Any]) -> UrlBuilder:
    """``reverse(name)`` with each keyword taken from the world."""
    return lambda world, _user: reverse(name, kwargs={k: get(world) for k, get in kwargs.items()})


def slug(world: World) -> str:
    return world.dataset.slug


def draft_slug(world: World) -> str:
    return world.draft.slug


def number(world: World) -> int:
    return world.release.number


def preview_rows(world: World, _user: User | None) -> str:
    return reverse("dataset-rows", kwargs={"slug": world.dataset.slug}) + "?preview=1"


def own_download_link(world: World, user: User | None) -> str:
    """A signed link for the person asking (a visitor holds the owner's: links are bearer)."""
    signer = user if user is not None else world.users["owner"]
    return reverse(
        "download", kwargs={"token": download_link_sign(user=signer, release_file=world.shard)}
    )


def query(name: str, **params: Callable[[World], Any]) -> UrlBuilder:
    """``reverse(name)`` with a query string taken from the world (``?dataset=<slug>``)."""
    return lambda world, _user: (
        reverse(name) + "?" + urlencode({k: get(world) for k, get in params.items()})
    )


def statuses(default: int, **cells: int) -> dict[str, int]:
    """A row's expectations: ``default`` for every role but those named."""
    assert set(cells) <= set(ROLES), set(cells) - set(ROLES)
    return {role: cells.get(role, default) for role in ROLES}


EVERYONE = statuses(200)
MANAGERS = statuses(404, owner=200, staff=200)  # a draft, an unfinished release; others: 404
SIGN_IN = 302  # a page that needs a session sends a visitor to the sign-in page
NO_CREDENTIALS = 401  # an API without credentials


def page_of(role: str) -> dict[str, int]:
    """A page of one person's own record: theirs only (not staff's), a visitor signs in."""
    return statuses(404, anonymous=SIGN_IN, **{role: 200})


def api_of(role: str) -> dict[str, int]:
    """The same record through the API: theirs only, no credentials is 401."""
    return statuses(404, anonymous=NO_CREDENTIALS, **{role: 200})


# Who gets what, beyond EVERYONE and MANAGERS.
EDIT_PAGE = statuses(404, anonymous=SIGN_IN, owner=200, staff=200)
EDIT_API = statuses(403, anonymous=NO_CREDENTIALS, owner=200, staff=200)
NEW_BOUNTY_PAGE = statuses(403, anonymous=SIGN_IN, owner=200, staff=200)
CONTRIBUTION_PAGE = statuses(404, anonymous=SIGN_IN, contributor=200, owner=200, staff=200)
CONTRIBUTION_API = statuses(404, anonymous=NO_CREDENTIALS, contributor=200, owner=200, staff=200)
# The owner only, not staff (they moderate in admin), not an expired license; the release is
# for sale, so everyone else is asked to pay for it over x402.
PAY = 402
X402_FIELDS = {"x402Version", "resource", "accepts"}
LICENSED_ONLY = statuses(PAY, owner=200)
ROWS_API = statuses(PAY, owner=200, staff=200)  # a preview= request gets the preview instead
SIGNED_LINK = statuses(403, anonymous=200, owner=200)  # the visitor holds the owner's link
REDIRECT = statuses(302)  # a plain visit to a fragment goes to the dataset page
STAFF_ONLY = statuses(302, staff=200)  # the staff role holds these models' view permission

Endpoint = tuple[str, UrlBuilder, str, dict[str, int]]


def and_on_the_draft(
    name: str,
    url_name: str,
    method: str,
    expected: dict[str, int],
    *,
    by: Callable[..., UrlBuilder] = named,
    key: str = "slug",
) -> list[Endpoint]:
    """``name``, the endpoint ``url_name`` of the open dataset, answering as ``expected``; and
    "draft ``name``", the same of the draft dataset, answering its managers only. ``by`` builds
    the URL, with the dataset's slug as its ``key``."""
    return [
        (name, by(url_name, **{key: slug}), method, expected),
        (f"draft {name}", by(url_name, **{key: draft_slug}), method, MANAGERS),
    ]


# URL arguments taken from the world.
contribution = {"contribution_id": lambda w: w.contribution.pk}
release = {"slug": slug, "number": number}
unfinished = {"slug": slug, "number": lambda w: w.unfinished.number}
release_id = {"release_id": lambda w: w.release.pk}
file_id = {"file_id": lambda w: w.shard.pk}
bounty = {"bounty_id": lambda w: w.bounty.pk}
draft_bounty = {"bounty_id": lambda w: w.draft_bounty.pk}
reward = {"reward_id": lambda w: w.reward.pk}
purchase = {"purchase_id": lambda w: w.purchase.pk}
grant = {"grant_id": lambda w: w.expired_grant.pk}

# (name, URL, method, {role: status}); "htmx" is a GET as htmx sends it (the fragment itself).
# fmt: off
ENDPOINTS: list[Endpoint] = [
    # Datasets: open ones to everyone, a draft to its owner and staff.
    *and_on_the_draft("dataset page", "datasets:detail", "get", EVERYONE),
    *and_on_the_draft("dataset API", "dataset-detail", "get", EVERYONE),
    *and_on_the_draft("dataset stats API", "dataset-stats", "get", EVERYONE),
    ("dataset edit page", named("datasets:edit", slug=slug), "get", EDIT_PAGE),
    ("dataset edit API", named("dataset-detail", slug=slug), "patch", EDIT_API),
    # Rows: the viewer fragment and the API.
    ("rows page", named("datasets:rows", slug=slug), "get", REDIRECT),
    *and_on_the_draft("rows fragment", "datasets:rows", "htmx", EVERYONE),
    *and_on_the_draft("rows API", "dataset-rows", "get", ROWS_API),
    ("rows API preview", preview_rows, "get", EVERYONE),
    # Contributions: the contributor, the dataset's owner and staff.
    ("contribution page", named("datasets:contribution", **contribution), "get",
     CONTRIBUTION_PAGE),
    ("contribution API", named("contribution-detail", **contribution), "get", CONTRIBUTION_API),
    # Releases: a ready one to whoever sees the dataset, an unfinished one to its managers.
    ("versions page", named("datasets:releases", slug=slug), "get", REDIRECT),
    ("versions fragment", named("datasets:releases", slug=slug), "htmx", EVERYONE),
    ("release page", named("datasets:release", **release), "get", EVERYONE),
    ("unfinished release page", named("datasets:release", **unfinished), "get", MANAGERS),
    ("release rows fragment", named("datasets:release-rows", **release), "htmx", EVERYONE),
    ("unfinished rows fragment", named("datasets:release-rows", **unfinished), "htmx", MANAGERS),
    ("releases API", named("dataset-releases", slug=slug), "get", EVERYONE),
    ("release API", named("dataset-release-detail", **release), "get", EVERYONE),
    ("unfinished release API", named("dataset-release-detail", **unfinished), "get", MANAGERS),
    # Release files: the owner, and buyers with a license in force. Everyone sees the downloads
    # panel; it offers files only to those who may fetch them.
    ("release downloads fragment", named("release-downloads", **release_id), "get", EVERYONE),
    ("release files API", named("api-dataset-files", slug=slug), "get", LICENSED_ONLY),
    ("release file API", named("api-file", **file_id), "get", LICENSED_ONLY),
    ("signed download link", own_download_link, "get", SIGNED_LINK),
    # Bounties: seen wherever their dataset is seen (policy.bounty_visible), page and API alike.
    ("bounty page", named("bounty-detail", **bounty), "get", EVERYONE),
    ("bounty API", named("api-bounty", **bounty), "get", EVERYONE),
    ("draft dataset's bounty page", named("bounty-detail", **draft_bounty), "get", MANAGERS),
    ("draft dataset's bounty API", named("api-bounty", **draft_bounty), "get", MANAGERS),
    ("draft dataset's bounties API", query("api-bounties", dataset=draft_slug), "get", MANAGERS),
    ("new bounty page", named("bounty-create", slug=slug), "get", NEW_BOUNTY_PAGE),
    # Rewards, purchases and receipts: the person they belong to, only (a receipt outlives the
    # license it proves).
    ("reward receipt page", named("reward-receipt", **reward), "get", page_of("contributor")),
    ("reward API", named("api-reward", **reward), "get", api_of("contributor")),
    ("purchase page", named("purchase-detail", **purchase), "get", page_of("buyer")),
    ("purchase API", named("api-purchase", **purchase), "get", api_of("buyer")),
    ("license receipt", named("license-receipt", **grant), "get", page_of("expired_buyer")),
    # License tiers: offered wherever the dataset is seen.
    *and_on_the_draft("license tiers page", "license-tiers", "get", EVERYONE),
    *and_on_the_draft("license tiers API", "api-licenses", "get", EVERYONE, by=query,
                      key="dataset"),
    # Admin: staff only.
    ("dataset admin list", named("admin:datasets_app_dataset_changelist"), "get", STAFF_ONLY),
    ("purchase admin list", named("admin:payments_purchase_changelist"), "get", STAFF_ONLY),
]
# fmt: on


def fetch(client: Client, method: str, url: str) -> Any:
    if method == "htmx":
        return client.get(url, headers={"HX-Request": "true"})
    if method == "patch":
        return client.patch(url, data={}, content_type="application/json")
    assert method == "get", method
    return client.get(url)


@pytest.mark.parametrize(
    ("name", "url", "method", "expected"), ENDPOINTS, ids=[row[0] for row in ENDPOINTS]
)
def test_every_endpoint_answers_every_role_as_the_table_says(
    world: World, name: str, url: UrlBuilder, method: str, expected: dict[str, int]
):
    observed: dict[str, int] = {}
    for role in ROLES:
        client = Client()
        user = world.users.get(role)
        if user is not None:
            client.force_login(user)
        address = url(world, user)
        response = fetch(client, method, address)
        observed[role] = response.status_code
        if address.startswith("/api/") and response.status_code == PAY:
            # x402's payment requirements beside ours, and the same in PAYMENT-REQUIRED.
            assert set(response.json()) == {"detail", "code", *X402_FIELDS}, response.json()
            assert response.json()["code"] == "payment_required" and response["PAYMENT-REQUIRED"]
        elif address.startswith("/api/") and response.status_code >= 400:
            assert set(response.json()) == {"detail", "code"}, (role, response.json())
    assert observed == expected


def test_the_table_covers_every_role_and_names_each_endpoint_once():
    assert len({row[0] for row in ENDPOINTS}) == len(ENDPOINTS)
    assert all(tuple(row[3]) == ROLES for row in ENDPOINTS)
