import pytest
import yaml
from django.core.management import CommandError, call_command

from datasets_app.models import Dataset, DatasetRelease, Item, Label
from datasets_app.selectors.releases import release_card_parts
from marketplace.core.models import AuditLog, User
from payments.integrations.anvil import dev_accounts

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_staff_and_contributors_once(settings, client):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    assert User.objects.count() == 6
    admin = User.objects.get(address=dev_accounts()[0].address)
    assert admin.is_superuser and admin.check_password("databounty-demo-admin")
    assert AuditLog.objects.filter(action="demo.user_created").count() == 6
    dataset = Dataset.objects.get(slug="product-review-sentiment")
    assert dataset.status == "open" and dataset.items_count == 24
    assert client.get(f"/datasets/{dataset.slug}/").status_code == 200


def test_seed_demo_labels_every_review_to_consensus_before_it_builds_v1(settings, client):
    """The demo sells labelled data: v1 is built after the demo labelers worked the real queue,
    so every row carries its consensus label, and its card names the license tier's SPDX id."""
    settings.DEBUG = True
    call_command("seed_demo")
    dataset = Dataset.objects.get(slug="product-review-sentiment")
    items = Item.objects.filter(dataset=dataset)
    # Two labels per review, more where the first two split (two reviews in the demo).
    assert Label.objects.filter(dataset=dataset).count() == 24 * 2 + 2 * 2
    assert not items.filter(consensus_label__isnull=True).exists()
    assert items.filter(labels_count=4).count() == 2
    assert dataset.labels_count == 52
    dataset.refresh_from_db()
    assert dataset.agreement_alpha is not None and 0.8 < dataset.agreement_alpha < 1

    release = DatasetRelease.objects.get(dataset=dataset)
    assert (release.number, release.status) == (1, "ready")
    assert (release.rows, release.labelled_rows) == (24, 24)
    assert release.quality["labelled_share"] == 1.0
    assert release.quality["agreement_alpha"] == round(dataset.agreement_alpha, 4)
    labels = next(c for c in release.statistics["columns"] if c["name"] == "label")
    assert labels["nulls"] == 0
    assert {c["name"]: c["count"] for c in labels["classes"]} == {
        "negative": 8,
        "neutral": 8,
        "positive": 8,
    }
    # Without the demo token only the free tier exists; its SPDX id, as the Hub writes it.
    assert release.quality["licenses"] == ["cc-by-nc-4.0"]
    front, _ = release_card_parts(release)
    assert yaml.safe_load(front)["license"] == "cc-by-nc-4.0"

    page = client.get(f"/datasets/{dataset.slug}/versions/1/").content.decode()
    assert "<code>cc-by-nc-4.0</code>" in page
    assert '24 <span class="muted">(100%)</span>' in page


def test_a_demo_seeded_before_the_labels_catches_up_with_a_labelled_v2(settings, monkeypatch):
    """An older demo database has v1 built from unlabelled reviews: seeding again labels them to
    consensus and publishes v2 with every row labelled; v1 stays as it was (immutable)."""
    from payments.management.commands import seed_demo

    settings.DEBUG = True
    with monkeypatch.context() as old_seed:
        old_seed.setattr(seed_demo.Command, "_label_to_consensus", lambda self, dataset: None)
        old_seed.setattr(seed_demo.Command, "_seed_release", lambda self: None)
        call_command("seed_demo")
    dataset = Dataset.objects.get(slug="product-review-sentiment")
    from datasets_app.services.releases import release_build, release_publish

    v1 = release_publish(dataset=dataset, actor=dataset.owner, confirm_low_labelled_share=True)
    release_build(release_id=v1.pk)

    call_command("seed_demo")
    call_command("seed_demo")  # nothing more to do
    releases = list(DatasetRelease.objects.filter(dataset=dataset).order_by("number"))
    assert [(r.number, r.rows, r.labelled_rows) for r in releases] == [(1, 24, 0), (2, 24, 24)]
    assert releases[1].quality["licenses"] == ["cc-by-nc-4.0"]


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG only"):
        call_command("seed_demo")
    assert User.objects.count() == 0


@pytest.mark.chain
def test_seed_demo_funds_a_demo_bounty_on_the_local_chain(settings, anvil, tmp_path):
    from io import StringIO

    from payments.models import Bounty, LicenseTier, Token
    from payments.services.ledger import ledger_balance

    settings.DEBUG = True
    settings.CHAIN_CONFIRMATIONS = 1
    out = StringIO()
    call_command("chain_deploy_token", state_file=str(tmp_path / "token.json"), stdout=out)
    settings.TOKEN_ADDRESS = out.getvalue().strip().splitlines()[-1].split("=", 1)[1]
    token = Token.objects.get(address=settings.TOKEN_ADDRESS)
    assert token.symbol and token.decimals  # read from the contract
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    bounty = Bounty.objects.get()
    assert bounty.status == "open"

    release = DatasetRelease.objects.get()
    assert release.status == "ready"
    assert sorted(LicenseTier.objects.values_list("name", flat=True)) == ["Commercial", "Research"]
    # Both tiers existed when v1 was built: the card lists both licenses (free tier first).
    assert release.quality["licenses"] == ["cc-by-nc-4.0", "cc-by-4.0"]
    front, _ = release_card_parts(release)
    assert yaml.safe_load(front)["license"] == ["cc-by-nc-4.0", "cc-by-4.0"]
    assert release.labelled_rows == release.rows == 24
    assert ledger_balance(token=token, code=bounty.ledger_code) == 10_000 * 10**token.decimals
