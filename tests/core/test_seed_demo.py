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
