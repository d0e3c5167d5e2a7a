"""Demo data for the development run: a staff account and a few contributors, each keyed by one
of anvil's public test wallets, so a newcomer can click through every flow. Safe to run again."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.core.models import User
from marketplace.core.services import audit_log_record
from payments.integrations.anvil import dev_accounts

DEMO_REVIEWS = [
    ("Battery died after two days.", "negative"),
    ("Exactly what I needed, fast delivery.", "positive"),
    ("It arrived on Tuesday.", "neutral"),
    ("The strap broke the first time I used it.", "negative"),
    ("Works as described, nothing special.", "neutral"),
    ("Best headphones I have owned.", "positive"),
    ("Instructions were missing a page.", "negative"),
    ("Colour matches the photos.", "neutral"),
    ("Setup took two minutes, love it.", "positive"),
    ("Stopped charging after a week.", "negative"),
    ("Packaging was recyclable.", "neutral"),
    ("My kids use it every day.", "positive"),
    ("Smells of plastic, returned it.", "negative"),
    ("Fits in a coat pocket.", "neutral"),
    ("Customer service replied within an hour.", "positive"),
    ("The lid does not close properly.", "negative"),
    ("Comes in three sizes.", "neutral"),
    ("Sound is crisp and loud.", "positive"),
    ("Screen scratches far too easily.", "negative"),
    ("Weighs about 300 grams.", "neutral"),
    ("Worth every penny.", "positive"),
    ("Bluetooth keeps disconnecting.", "negative"),
    ("Ships from Rotterdam.", "neutral"),
    ("Replaced my old one and it is far better.", "positive"),
]

# Who labels the demo reviews, in order (indexes into DEMO_NAMES / anvil's accounts): the labeler
# and a contributor label every review; the buyer and the first contributor break split votes.
DEMO_LABELERS = (5, 2, 4, 1)
# Reviews a labeler reads differently from the answer above, so agreement is high but not
# perfect (their votes split, and more labels settle them).
DEMO_MISREADS = {
    2: {
        "Packaging was recyclable.": "positive",
        "Fits in a coat pocket.": "positive",
    },
}

DEMO_ADMIN_PASSWORD = "databounty-demo-admin"  # noqa: S105 - a public demo credential, DEBUG only
DEMO_NAMES = (
    "Demo Admin",
    "Ada (contributor)",
    "Grace (contributor)",
    "Alan (sponsor)",
    "Barbara (buyer)",
    "Edsger (labeler)",
)


class Command(BaseCommand):
    help = "Create demo users keyed by anvil's test wallets (DEBUG only; idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo creates well-known demo credentials: DEBUG only.")
        created = 0
        for index, (account, name) in enumerate(zip(dev_accounts(), DEMO_NAMES, strict=False)):
            user = User.objects.filter(address=account.address).first()
            if user is not None:
                continue
            if index == 0:
                user = User.objects.create_superuser(
                    account.address, password=DEMO_ADMIN_PASSWORD, display_name=name
                )
            else:
                user = User.objects.create_user(account.address, display_name=name)
            audit_log_record(action="demo.user_created", target=user, data={"name": name})
            created += 1
        self._seed_dataset()
        self._seed_bounty()
        self._seed_licenses()
        self._seed_release()
        admin = dev_accounts()[0].address
        self.stdout.write(
            f"demo users: {created} created, {len(DEMO_NAMES) - created} already there"
        )
        self.stdout.write(f"demo admin: {admin} / password {DEMO_ADMIN_PASSWORD} at /admin/")

    def _seed_dataset(self) -> None:
        """An open sentiment dataset with a validated contribution and some labels, so the
        catalogue, the dataset page, its chart and the labeling queue all have something."""
        from django.core.files.base import ContentFile

        from datasets_app.models import Dataset
        from datasets_app.services import (
            contribution_submit,
            contribution_validate,
            dataset_create,
        )

        existing = Dataset.objects.filter(slug="product-review-sentiment").first()
        if existing is not None:
            # A demo database seeded before the reviews were labelled to consensus catches up
            # (the release step then publishes a labelled version beside the old one).
            if existing.status == "open":
                self._label_to_consensus(existing)
            return
        accounts = dev_accounts()
        sponsor = User.objects.get(address=accounts[3].address)
        dataset = dataset_create(
            owner=sponsor,
            title="Product review sentiment",
            description="Short product reviews labelled negative, neutral or positive.",
            card_markdown=(
                "# Product review sentiment\n\nOne-sentence reviews of consumer products, "
                "written in English.\n\n- **Task**: single-label sentiment\n"
                "- **Labels per item**: 2\n\nUse it to fine-tune small sentiment models."
            ),
            modality="text",
            columns=[{"name": "text", "dtype": "string"}],
            label_task="single_label",
            label_classes=["negative", "neutral", "positive"],
            guidelines="Judge the writer's feeling about the product, not the product itself.",
            labels_per_item=2,
            status="open",
        )
        csv = "text\n" + "".join(f'"{text}"\n' for text, _ in DEMO_REVIEWS)
        contribution = contribution_submit(
            dataset=dataset,
            contributor=User.objects.get(address=accounts[1].address),
            file=ContentFile(csv.encode(), name="reviews.csv"),
            filename="reviews.csv",
            size=len(csv.encode()),
        )
        contribution_validate(contribution_id=contribution.pk)
        self._label_to_consensus(dataset)
        self.stdout.write(f"demo dataset: /datasets/{dataset.slug}/")

    def _label_to_consensus(self, dataset: Any) -> None:
        """Demo labelers work the real queue (``labeling_next_item`` / ``label_submit``) until
        it is empty: two labels per review (k), and where the first two disagree the split vote
        asks for more (CONSENSUS_MIN_CONFIDENCE), which the next labelers give. Consensus runs
        here after each label, as the worker's task would (it is idempotent, so the task the
        submit enqueues changes nothing later); then one Dawid-Skene round stores the dataset's
        Krippendorff's alpha. Every review ends with a consensus label."""
        from datasets_app.models import Item
        from datasets_app.services import label_skip, label_submit, labeling_next_item
        from datasets_app.services.consensus import (
            dataset_consensus_refresh,
            item_consensus_update,
        )

        answers = dict(DEMO_REVIEWS)
        accounts = dev_accounts()
        for index in DEMO_LABELERS:
            labeler = User.objects.get(address=accounts[index].address)
            misreads = DEMO_MISREADS.get(index, {})
            while (item := labeling_next_item(dataset=dataset, user=labeler)) is not None:
                text = item.data.get("text")
                answer = misreads.get(text, answers.get(text))
                if answer is None:  # a row someone else uploaded to the demo: not ours to judge
                    label_skip(item=item, user=labeler)
                    continue
                label_submit(item=item, user=labeler, value=answer)
                if Item.objects.get(pk=item.pk).labels_count >= dataset.labels_per_item:
                    item_consensus_update(item_id=item.pk)
        dataset_consensus_refresh(dataset_id=dataset.pk)

    def _seed_bounty(self) -> None:
        """A bounty on the demo dataset, funded on the local chain by its sponsor's wallet and
        verified like any other, with 5-minute epochs: the worker's beat pays the demo rows
        within minutes, and the payout lands in the contributor's wallet."""
        from datetime import timedelta

        from django.utils import timezone

        from datasets_app.models import Dataset
        from payments.integrations.chain import ChainError
        from payments.integrations.dev_tools import DevChainClient
        from payments.models import Bounty, Token
        from payments.services.bounties import bounty_create
        from payments.services.funding import (
            bounty_funding_submit,
            bounty_funding_verify,
            treasury_address,
        )

        token = Token.objects.filter(address=settings.TOKEN_ADDRESS).first()
        dataset = Dataset.objects.filter(slug="product-review-sentiment").first()
        if token is None or dataset is None:
            self.stdout.write("demo bounty: skipped (no token deployed: run chain_deploy_token)")
            return
        if Bounty.objects.filter(dataset=dataset).exists():
            return
        sponsor_account = dev_accounts()[3]
        sponsor = User.objects.get(address=sponsor_account.address)
        unit = 10**token.decimals
        now = timezone.now()
        bounty = bounty_create(
            dataset=dataset,
            sponsor=sponsor,
            title="Sentiment sprint",
            description="Pays for every accepted review and every label that agrees with "
            "consensus, quality-weighted.",
            token=token,
            pays_for="both",
            rate_per_row=2 * unit,
            rate_per_label=unit // 2,
            pool_amount=10_000 * unit,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=30),
            epoch_length=timedelta(minutes=5),
        )
        client = DevChainClient.from_settings().with_token(token.address)
        try:
            tx_hash = client.token_transfer(
                private_key=sponsor_account.private_key,
                to=treasury_address(),
                amount=int(bounty.pool_amount),
            )
            client.wait_for_receipt(tx_hash)
            funding = bounty_funding_submit(bounty=bounty, user=sponsor, tx_hash=tx_hash)
            status = bounty_funding_verify(funding_id=funding.pk)
        except ChainError as exc:
            self.stdout.write(f"demo bounty: not funded ({exc.detail})")
            return
        self.stdout.write(f"demo bounty: /bounties/{bounty.pk}/ ({status})")

    def _seed_licenses(self) -> None:
        """Two licenses to take or buy: a free non-commercial one (CC BY-NC 4.0) and, with the
        demo token deployed, a paid commercial one (CC BY 4.0). Before the release: a version's
        card names the licenses of the tiers that exist when it is built."""
        from datetime import timedelta

        from datasets_app.models import Dataset
        from payments.models import LicenseTier, Token
        from payments.services.licenses import license_tier_create

        dataset = Dataset.objects.filter(slug="product-review-sentiment").first()
        if dataset is None or LicenseTier.objects.filter(dataset=dataset).exists():
            return
        owner = dataset.owner
        license_tier_create(
            dataset=dataset,
            actor=owner,
            name="Research",
            spdx_id="CC-BY-NC-4.0",
            custom_terms="Non-commercial research and teaching; cite the dataset.",
        )
        token = Token.objects.filter(address=settings.TOKEN_ADDRESS).first()
        if token is not None:
            license_tier_create(
                dataset=dataset,
                actor=owner,
                name="Commercial",
                spdx_id="CC-BY-4.0",
                commercial=True,
                price=25 * 10**token.decimals,
                token=token,
                duration=timedelta(days=365),
                covers="all",
            )
        self.stdout.write(f"demo licenses: /datasets/{dataset.slug}/licenses/")

    def _seed_release(self) -> None:
        """Version v1 of the demo dataset, built here from the labelled reviews (a worker would
        build it too). Run again, it does nothing, unless the latest version was built with
        fewer labels than the reviews carry now (a demo seeded before they were labelled to
        consensus): then it publishes the next version, as an owner would."""
        from datasets_app.models import Dataset, DatasetRelease, ReleaseStatus
        from datasets_app.selectors.releases import labelled_share
        from datasets_app.services.releases import release_build, release_publish

        dataset = Dataset.objects.filter(slug="product-review-sentiment").first()
        if dataset is None:
            return
        latest = DatasetRelease.objects.filter(dataset=dataset).order_by("-number").first()
        now = labelled_share(dataset=dataset)
        if latest is not None and (
            latest.status != ReleaseStatus.READY
            or now["below_minimum"]
            or now["labelled_rows"] <= latest.labelled_rows
        ):
            return
        release = release_publish(
            dataset=dataset,
            actor=dataset.owner,
            notes="First public version." if latest is None else "Every review labelled.",
        )
        release_build(release_id=release.pk)  # a worker would too; the second run is a no-op
        self.stdout.write(f"demo release: /datasets/{dataset.slug}/versions/{release.number}/")
