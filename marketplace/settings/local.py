"""Development on one machine: DEBUG on, a throw-away secret, anvil's first account deploys."""

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-secret")
# anvil's well-known account #0 (public test key from its default mnemonic): local chain only.
CHAIN_DEPLOYER_PRIVATE_KEY = env(
    "CHAIN_DEPLOYER_PRIVATE_KEY",
    default="0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
)
# anvil's account #9 is the local hot wallet and treasury; one confirmation on a local chain.
HOT_WALLET_PRIVATE_KEY = env(
    "HOT_WALLET_PRIVATE_KEY",
    default="0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=1)
# anvil's account #8 signs license receipts locally (a public test key).
PLATFORM_SIGNING_KEY = env(
    "PLATFORM_SIGNING_KEY",
    default="0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
)
