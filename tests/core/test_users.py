import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection

from marketplace.core.addresses import InvalidAddressError, normalize_address
from marketplace.core.models import User

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

pytestmark = pytest.mark.django_db


def test_the_database_is_postgresql():
    assert connection.vendor == "postgresql"


def test_user_is_stored_with_its_eip55_address_whatever_case_it_came_in():
    user = User.objects.create_user(ADDRESS.lower())
    assert user.address == ADDRESS
    assert User.objects.get_by_natural_key(ADDRESS.upper().replace("0X", "0x")) == user


def test_wallet_users_have_no_usable_password():
    user = User.objects.create_user(ADDRESS)
    assert not user.has_usable_password()
    assert not user.check_password("")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0x123",
        "not an address",
        "0x70997970c51812dc3a010c7d01b50e0d17dc79cG",
        ADDRESS.replace("C51812dc", "c51812dc"),
    ],
)
def test_invalid_or_miss_checksummed_addresses_are_rejected(bad):
    with pytest.raises(InvalidAddressError):
        normalize_address(bad)
    with pytest.raises(InvalidAddressError):
        User.objects.create_user(bad)
    assert User.objects.count() == 0


def test_the_same_wallet_cannot_hold_two_accounts():
    User.objects.create_user(ADDRESS)
    with pytest.raises((IntegrityError, ValidationError)):
        User.objects.create_user(ADDRESS.lower())


def test_database_refuses_a_non_hex_address_even_past_the_orm_validators():
    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(address="0x" + "z" * 40)])


def test_staff_can_hold_a_break_glass_password_and_log_into_admin(client):
    User.objects.create_superuser(ADDRESS, password="a long break-glass passphrase")
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": ADDRESS.lower(), "password": "a long break-glass passphrase"},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_createsuperuser_command_creates_a_staff_wallet_user(monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "another long passphrase 42")
    call_command("createsuperuser", "--noinput", "--address", ADDRESS.lower())
    user = User.objects.get(address=ADDRESS)
    assert user.is_staff and user.is_superuser
    assert user.check_password("another long passphrase 42")


def test_staff_add_a_wallet_user_in_admin_by_any_case_of_address(admin_client):
    response = admin_client.post(
        "/admin/core/user/add/", {"address": ADDRESS.lower(), "display_name": "Ada", "email": ""}
    )
    assert response.status_code == 302, response.content
    user = User.objects.get(address=ADDRESS)
    assert user.display_name == "Ada"
    assert not user.has_usable_password()


def test_admin_add_user_rejects_a_bad_address_and_stores_nothing(admin_client):
    response = admin_client.post("/admin/core/user/add/", {"address": "0xnope"})
    assert response.status_code == 200
    assert b"not a valid Ethereum address" in response.content
    assert not User.objects.filter(is_staff=False).exists()
