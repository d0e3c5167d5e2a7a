import pytest
from django.core.management import CommandError, call_command

from datasets_app.models import Dataset, Label
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
    assert Label.objects.filter(dataset=dataset).count() == 8
    assert client.get(f"/datasets/{dataset.slug}/").status_code == 200


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG only"):
        call_command("seed_demo")
    assert User.objects.count() == 0


@pytest.mark.chain
def test_seed_demo_funds_a_demo_bounty_on_the_local_chain(settings, anvil, tmp_path):
    from io import StringIO

    from payments.models import Bounty, Token
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
    from datasets_app.models import DatasetRelease
    from payments.models import LicenseTier

    assert DatasetRelease.objects.get().status == "ready"
    assert sorted(LicenseTier.objects.values_list("name", flat=True)) == ["Commercial", "Research"]
    assert ledger_balance(token=token, code=bounty.ledger_code) == 10_000 * 10**token.decimals
