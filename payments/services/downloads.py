"""Who may download which release file, and the expiring signed links browsers download with.

A license grant covers a release when it is *active* (not revoked, not past ``expires_at``) and
either lists the release in ``grant.releases``, or has ``covers_future`` set and the release is
*later* than every release it lists: a number above the highest listed one (or any release when
it lists none, as when an "all versions" license was bought before the first release). So a
"latest when bought" grant of v2 with ``covers_future`` covers v2, v3, v4, ... and never v1.

The dataset's owner downloads their own releases without a license. Nothing else does: not
staff (they moderate in admin), not a hidden dataset's old buyers once their license is revoked.

Links are ``django.core.signing`` timestamped tokens over ``{file id, user id}`` with a salt of
their own, valid ``DOWNLOAD_LINK_TTL_SECONDS`` (default 600). A link is a bearer credential for
one file, so the license is checked again when it is used: revoking a license (or suspending the
account) stops links handed out before.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from typing import Any, Literal

from django.conf import settings
from django.core import signing
from django.db import connection
from django.db.models import Exists, Model, OuterRef, Prefetch, Q
from django.utils import timezone

from datasets_app.models import Dataset, DatasetRelease, ReleaseFile, ReleaseStatus
from datasets_app.selectors.datasets import dataset_visible
from marketplace.core.exceptions import NotFoundError, PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.policy import can_manage_dataset
from payments.models import LicenseGrant

DOWNLOAD_LINK_SALT = "payments.downloads.link"
DEFAULT_LINK_TTL_SECONDS = 600

GrantState = Literal["active", "expired", "revoked"]


def download_link_ttl() -> int:
    """Seconds a signed download link stays valid (``DOWNLOAD_LINK_TTL_SECONDS``)."""
    return int(getattr(settings, "DOWNLOAD_LINK_TTL_SECONDS", DEFAULT_LINK_TTL_SECONDS))


# --- licenses ------------------------------------------------------------------------------


def grant_state(grant: LicenseGrant, *, now: datetime | None = None) -> GrantState:
    if grant.revoked_at is not None:
        return "revoked"
    if grant.expires_at is not None and grant.expires_at <= (now or timezone.now()):
        return "expired"
    return "active"


def grant_covers(grant: LicenseGrant, release: DatasetRelease) -> bool:
    """Whether ``grant``'s versions include ``release`` (activity aside). Reads
    ``grant.releases.all()``: prefetch it when checking many grants."""
    listed = [r.number for r in grant.releases.all() if r.dataset_id == release.dataset_id]
    if release.number in listed:
        return True
    return grant.covers_future and release.number > max(listed, default=0)


class LicenseRequiredError(PermissionDeniedError, code="license_required"):
    """403 ``license_required``: no license covers ``release``. It names the release, so a
    caller can offer it for sale (the x402 gate) without looking it up again."""

    def __init__(self, release: DatasetRelease) -> None:
        super().__init__(f"You need a license for {release.dataset.title} {release.version}.")
        self.release = release


def _user_can_hold(user: Any) -> bool:
    return user is not None and bool(user.is_authenticated) and bool(user.is_active)


def _active_grants(*, user: User, dataset_ids: list[int] | None = None) -> list[LicenseGrant]:
    grants = (
        LicenseGrant.objects.active()
        .filter(buyer=user)
        .select_related("tier")
        .prefetch_related(
            Prefetch("releases", queryset=DatasetRelease.objects.only("id", "dataset", "number"))
        )
    )
    if dataset_ids is not None:
        grants = grants.filter(dataset_id__in=dataset_ids)
    return list(grants)


def license_for(*, user: User | Any, release: DatasetRelease) -> LicenseGrant | None:
    """The active grant (newest first) that lets ``user`` download ``release``, or None. One
    query: every download asks this again. The same rule as ``grant_covers``, in SQL."""
    if not _user_can_hold(user):
        return None
    listed = LicenseGrant.releases.through.objects.filter(licensegrant_id=OuterRef("pk"))
    return (
        LicenseGrant.objects.active()
        .filter(buyer=user, dataset_id=release.dataset_id)
        .filter(
            Exists(listed.filter(datasetrelease_id=release.pk))
            | Q(covers_future=True)
            & ~Exists(
                listed.filter(
                    datasetrelease__dataset_id=release.dataset_id,
                    datasetrelease__number__gte=release.number,
                )
            )
        )
        .select_related("tier")
        .order_by("-created_at", "-id")
        .first()
    )


def _is_owner(user: Any, dataset: Dataset) -> bool:
    return _user_can_hold(user) and dataset.owner_id == user.pk


def download_access_check(*, user: User | Any, release: DatasetRelease) -> None:
    """Raise unless ``user`` may download ``release``: ``NotFoundError`` for a release that is
    not ready, ``LicenseRequiredError`` without a license covering it."""
    if release.status != ReleaseStatus.READY:
        raise NotFoundError("No such release.", code="release_not_found")
    if _is_owner(user, release.dataset):
        return
    if license_for(user=user, release=release) is None:
        raise LicenseRequiredError(release)


# --- signed links ----------------------------------------------------------------------------


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=DOWNLOAD_LINK_SALT)


def download_link_sign(*, user: User, release_file: ReleaseFile) -> str:
    """A URL-safe token for ``/downloads/<token>/``: this user, this file, for a while."""
    return _signer().sign_object({"f": release_file.pk, "u": user.pk})


def download_link_verify(token: str) -> tuple[int, int]:
    """``(user_id, file_id)`` from a link token that is authentic and not yet expired."""
    try:
        data = _signer().unsign_object(token, max_age=download_link_ttl())
    except signing.SignatureExpired:
        raise PermissionDeniedError(
            "This download link has expired: open your library for a fresh one.",
            code="link_expired",
        ) from None
    except (signing.BadSignature, ValueError):
        raise PermissionDeniedError(
            "This download link is not valid.", code="link_invalid"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("u", "f")):
        raise PermissionDeniedError("This download link is not valid.", code="link_invalid")
    return data["u"], data["f"]


# --- what to serve ---------------------------------------------------------------------------


# Every download (each range request of a ``load_dataset`` read is one) asks the same thing:
# this file, its release and dataset, whether the person is active, and whether an active grant
# of theirs covers the release (``license_for``'s rule). One statement answers all of it, written
# once as SQL: the ORM spent longer compiling these queries than PostgreSQL took to run them.
# Indexed throughout: primary keys, ``LicenseGrant(buyer, dataset)`` and the releases table's
# ``(licensegrant_id, datasetrelease_id)`` unique index.


def _columns(model: type[Model], names: set[str] | None = None) -> list[str]:
    """``model``'s columns among ``names`` (all by default), in the model's field order, as
    ``Model.from_db`` reads them."""
    fields = model._meta.concrete_fields
    return [f.attname for f in fields if names is None or f.attname in names]


_FILE_COLUMNS = _columns(ReleaseFile)
_RELEASE_COLUMNS = _columns(DatasetRelease, {"id", "dataset_id", "number", "status"})
_DATASET_COLUMNS = _columns(Dataset, {"id", "owner_id", "slug", "title"})


def _select(alias: str, columns: list[str]) -> str:
    return ", ".join(f'{alias}."{column}"' for column in columns)


_DOWNLOAD_SQL = f"""
PREPARE "{{name}}" (bigint, bigint, timestamptz) AS
SELECT {_select("f", _FILE_COLUMNS)}, {_select("r", _RELEASE_COLUMNS)},
       {_select("d", _DATASET_COLUMNS)}, u."is_active",
       EXISTS (
           SELECT 1 FROM "{LicenseGrant._meta.db_table}" g
           WHERE g."buyer_id" = u."id" AND g."dataset_id" = r."dataset_id"
             AND g."revoked_at" IS NULL AND (g."expires_at" IS NULL OR g."expires_at" > $3)
             AND (
                 EXISTS (
                     SELECT 1 FROM "{LicenseGrant.releases.through._meta.db_table}" l
                     WHERE l."licensegrant_id" = g."id" AND l."datasetrelease_id" = r."id"
                 )
                 OR g."covers_future" AND NOT EXISTS (
                     SELECT 1 FROM "{LicenseGrant.releases.through._meta.db_table}" l
                     JOIN "{DatasetRelease._meta.db_table}" lr ON lr."id" = l."datasetrelease_id"
                     WHERE l."licensegrant_id" = g."id" AND lr."dataset_id" = r."dataset_id"
                       AND lr."number" >= r."number"
                 )
             )
       ) AS licensed
FROM (SELECT 1) AS one
LEFT JOIN "{User._meta.db_table}" u ON u."id" = $2
LEFT JOIN "{ReleaseFile._meta.db_table}" f ON f."id" = $1
LEFT JOIN "{DatasetRelease._meta.db_table}" r ON r."id" = f."release_id"
LEFT JOIN "{Dataset._meta.db_table}" d ON d."id" = r."dataset_id"
"""  # noqa: S608 - table and column names from the models; every value is a parameter
# A prepared statement: PostgreSQL plans this query once per connection (pooled connections
# last), not on every request: planning it took 0.3 ms, six times as long as running it, and
# Django's psycopg cursors bind on the client, so nothing prepares it for us. (Nothing here
# runs DISCARD/DEALLOCATE ALL on a connection; if something did, forget it in _PREPARED_ON.)
DOWNLOAD_STATEMENT = f"payments_download_{hashlib.sha256(_DOWNLOAD_SQL.encode()).hexdigest()[:12]}"
_PREPARED_ON: weakref.WeakSet[Any] = weakref.WeakSet()  # the psycopg connections that have it


def _download_statement_prepare(cursor: Any) -> None:
    """Prepare the download statement on this connection unless it already has it (PREPARE
    outlives a rollback, so a connection's statement is checked for once, then remembered)."""
    raw = connection.connection
    if raw in _PREPARED_ON:
        return
    cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [DOWNLOAD_STATEMENT])
    if cursor.fetchone() is None:
        cursor.execute(_DOWNLOAD_SQL.format(name=DOWNLOAD_STATEMENT))
    _PREPARED_ON.add(raw)


@dataclass(frozen=True)
class FileAccess:
    """What one download needs to know, from one query (``release_file`` None: no such file;
    ``user_active`` None: no such user)."""

    release_file: ReleaseFile | None
    user_active: bool | None
    licensed: bool


def download_file_access(*, file_id: int, user_id: int | None) -> FileAccess:
    """File ``file_id`` with its release and dataset (only the columns a download reads), and
    whether user ``user_id`` exists, is active and holds an active grant covering the release."""
    with connection.cursor() as cursor:
        _download_statement_prepare(cursor)
        cursor.execute(
            f'EXECUTE "{DOWNLOAD_STATEMENT}" (%s, %s, %s)', [file_id, user_id, timezone.now()]
        )
        row = cursor.fetchone()
    ends = list(accumulate([len(_FILE_COLUMNS), len(_RELEASE_COLUMNS), len(_DATASET_COLUMNS)]))
    user_active, licensed = row[ends[2]], bool(row[ends[2] + 1])
    if row[0] is None:
        return FileAccess(release_file=None, user_active=user_active, licensed=False)
    release_file = ReleaseFile.from_db(connection.alias, _FILE_COLUMNS, row[: ends[0]])
    release = DatasetRelease.from_db(connection.alias, _RELEASE_COLUMNS, row[ends[0] : ends[1]])
    release.dataset = Dataset.from_db(connection.alias, _DATASET_COLUMNS, row[ends[1] : ends[2]])
    release_file.release = release
    return FileAccess(release_file=release_file, user_active=user_active, licensed=licensed)


def _file_checked(access: FileAccess, *, user_id: int | None) -> ReleaseFile:
    """``download_access_check`` on a fetched ``FileAccess``: the same refusals, in order."""
    release_file = access.release_file
    if release_file is None:
        raise NotFoundError("No such file.")
    release = release_file.release
    if release.status != ReleaseStatus.READY:
        raise NotFoundError("No such release.", code="release_not_found")
    if user_id is not None and (release.dataset.owner_id == user_id or access.licensed):
        return release_file
    raise LicenseRequiredError(release)


def download_file_get(*, user: User | Any, file_id: int) -> ReleaseFile:
    """The release file ``user`` asked for by id, once they may download it. One query."""
    user_id = user.pk if _user_can_hold(user) else None
    access = download_file_access(file_id=file_id, user_id=user_id)
    return _file_checked(access, user_id=user_id)


def download_link_open(*, token: str) -> ReleaseFile:
    """The file a signed link names, checked again for its user's license as of now. One
    query: the person, the file and the license together."""
    user_id, file_id = download_link_verify(token)
    access = download_file_access(file_id=file_id, user_id=user_id)
    if not access.user_active:
        raise PermissionDeniedError("This download link is not valid.", code="link_invalid")
    return _file_checked(access, user_id=user_id)


@dataclass(frozen=True)
class ReleaseListing:
    release: DatasetRelease
    files: list[ReleaseFile]


def _dataset_for_download(*, user: User | Any, slug: str) -> Dataset:
    """The dataset behind ``slug``: the visible ones, and hidden ones their buyers still hold a
    license to (a hidden dataset reads as not found to everyone else)."""
    try:
        return dataset_visible(slug=slug, user=user)
    except NotFoundError:
        dataset = Dataset.objects.select_related("owner").filter(slug=slug).first()
        if (
            dataset is not None
            and _user_can_hold(user)
            and _active_grants(user=user, dataset_ids=[dataset.pk])
        ):
            return dataset
        raise


def release_files_list(
    *, user: User | Any, dataset_slug: str, version: int | None = None
) -> ReleaseListing:
    """A release's files for the files API: version ``version``, or by default the latest
    ready release this person may download."""
    dataset = _dataset_for_download(user=user, slug=dataset_slug)
    ready = DatasetRelease.objects.filter(dataset=dataset, status=ReleaseStatus.READY)
    if version is not None:
        release = ready.filter(number=version).select_related("dataset").first()
        if release is None:
            raise NotFoundError(f"{dataset.title} has no release v{version}.", code="no_release")
    else:
        releases = list(ready.select_related("dataset").order_by("-number"))
        if not releases:
            raise NotFoundError(f"{dataset.title} has no release yet.", code="no_release")
        release = releases[0]
        if not _is_owner(user, dataset) and _user_can_hold(user):
            grants = _active_grants(user=user, dataset_ids=[dataset.pk])
            release = next(
                (r for r in releases if any(grant_covers(g, r) for g in grants)), release
            )
    return release_files(user=user, release=release)


def release_files(*, user: User | Any, release: DatasetRelease) -> ReleaseListing:
    """``release``'s files (with ``release.dataset`` loaded), once ``user`` may download it:
    for a caller that already holds the release, as the x402 gate does after a payment."""
    download_access_check(user=user, release=release)
    return ReleaseListing(release=release, files=list(release.files.order_by("name")))


# --- pages: the library and a release's download box -----------------------------------------


@dataclass(frozen=True)
class LinkedFile:
    """A release file with a signed link token for it (``{% url 'download' f.token %}``)."""

    file: ReleaseFile
    token: str


@dataclass(frozen=True)
class LibraryVersion:
    release: DatasetRelease
    files: list[LinkedFile]


@dataclass(frozen=True)
class LibraryEntry:
    grant: LicenseGrant
    state: GrantState
    listed_versions: list[str]  # the versions the grant names, "v1", "v2", ...
    versions: list[LibraryVersion] = field(default_factory=list)  # downloadable now, newest first


def _linked(user: User, files: list[ReleaseFile]) -> list[LinkedFile]:
    return [LinkedFile(file=f, token=download_link_sign(user=user, release_file=f)) for f in files]


def library_entries(*, user: User) -> list[LibraryEntry]:
    """Every license ``user`` holds, active ones first, then newest first; active ones with
    the ready releases they cover (newest first) and a signed link per file. A fixed number of
    queries, however many licenses."""
    now = timezone.now()
    grants = list(
        LicenseGrant.objects.filter(buyer=user)
        .select_related("dataset", "tier__token")
        .prefetch_related(
            Prefetch(
                "releases",
                queryset=DatasetRelease.objects.only("id", "dataset", "number").order_by("number"),
            )
        )
    )
    active_dataset_ids = {g.dataset_id for g in grants if grant_state(g, now=now) == "active"}
    ready_by_dataset: dict[int, list[DatasetRelease]] = defaultdict(list)
    if active_dataset_ids:
        for release in (
            DatasetRelease.objects.filter(
                dataset_id__in=active_dataset_ids, status=ReleaseStatus.READY
            )
            .select_related("dataset")
            .order_by("dataset_id", "-number")
            .prefetch_related(Prefetch("files", queryset=ReleaseFile.objects.order_by("name")))
        ):
            ready_by_dataset[release.dataset_id].append(release)
    entries = []
    for grant in grants:
        state = grant_state(grant, now=now)
        versions = []
        if state == "active":
            versions = [
                LibraryVersion(release=r, files=_linked(user, list(r.files.all())))
                for r in ready_by_dataset[grant.dataset_id]
                if grant_covers(grant, r)
            ]
        entries.append(
            LibraryEntry(
                grant=grant,
                state=state,
                listed_versions=[f"v{r.number}" for r in grant.releases.all()],
                versions=versions,
            )
        )
    # Licenses that still work first; each group newest first (the query's order).
    return sorted(entries, key=lambda entry: entry.state != "active")


@dataclass(frozen=True)
class ReleaseDownloads:
    """What a release page shows about downloading it: signed links for someone who may, or
    nothing (``allowed`` false) and a prompt to buy."""

    release: DatasetRelease
    allowed: bool
    grant: LicenseGrant | None = None
    is_owner: bool = False
    files: list[LinkedFile] = field(default_factory=list)


def release_downloads(*, user: User | Any, release: DatasetRelease) -> ReleaseDownloads:
    if release.status != ReleaseStatus.READY:
        return ReleaseDownloads(release=release, allowed=False)
    files = list(release.files.order_by("name"))
    if _is_owner(user, release.dataset):
        return ReleaseDownloads(
            release=release, allowed=True, is_owner=True, files=_linked(user, files)
        )
    grant = license_for(user=user, release=release)
    if grant is None:
        return ReleaseDownloads(release=release, allowed=False)
    return ReleaseDownloads(release=release, allowed=True, grant=grant, files=_linked(user, files))


def release_get(*, release_id: int, user: User | Any) -> DatasetRelease:
    """Release ``release_id`` as ``user`` may see it: one that is building or failed is known
    only to the dataset's owner and staff (the rule of ``release_selectors.release_list``)."""
    release = DatasetRelease.objects.select_related("dataset").filter(pk=release_id).first()
    if release is None or (
        release.status != ReleaseStatus.READY and not can_manage_dataset(user, release.dataset)
    ):
        raise NotFoundError("No such release.", code="release_not_found")
    return release
