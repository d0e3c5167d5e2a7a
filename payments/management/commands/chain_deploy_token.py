"""Deploys the DataBounty test token on the configured chain and funds the demo accounts.

``scripts/run.sh`` captures the last stdout line, ``TOKEN_ADDRESS=0x...``. The state file makes a
second run reuse the token instead of deploying (and minting) again; a reset chain no longer has
code at the recorded address, so the next run deploys afresh.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.integrations.anvil import dev_accounts
from payments.integrations.chain import TOKEN_ARTIFACT, ChainError
from payments.integrations.dev_tools import DevChainClient
from payments.services.tokens import token_register

UINT8_MAX = 255


class Command(BaseCommand):
    help = (
        "Deploy the DataBountyToken ERC-20 from CHAIN_DEPLOYER_PRIVATE_KEY, mint demo balances to "
        "anvil's dev accounts, and print TOKEN_ADDRESS=0x... as the last line. Reuses the token "
        "recorded in --state-file while it still exists on the same chain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="DataBounty USD", help="token name")
        parser.add_argument("--symbol", default="dbUSD", help="token symbol")
        parser.add_argument("--decimals", type=int, default=6, help="token decimals (0-255)")
        parser.add_argument(
            "--mint",
            type=int,
            default=1_000_000,
            help="whole tokens minted to each dev account (converted to base units)",
        )
        parser.add_argument(
            "--accounts",
            type=int,
            default=6,
            help=f"how many of anvil's dev accounts to fund (0-{len(dev_accounts())})",
        )
        parser.add_argument(
            "--state-file",
            default="var/chain.json",
            help="JSON file recording {chain_id, token_address, deployed_at_block}",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        symbol: str = options["symbol"]
        decimals: int = options["decimals"]
        mint_whole: int = options["mint"]
        account_count: int = options["accounts"]
        state_file = Path(options["state_file"])

        deployer_key: str = settings.CHAIN_DEPLOYER_PRIVATE_KEY
        if not deployer_key:
            raise CommandError(
                "CHAIN_DEPLOYER_PRIVATE_KEY is empty: set it to the key that deploys and mints "
                "the test token (anvil's account #0 in development)."
            )
        if not 0 <= decimals <= UINT8_MAX:
            raise CommandError(f"--decimals must be between 0 and {UINT8_MAX}, got {decimals}")
        if mint_whole < 0:
            raise CommandError(f"--mint must not be negative, got {mint_whole}")
        wallets = dev_accounts()
        if not 0 <= account_count <= len(wallets):
            raise CommandError(f"--accounts must be between 0 and {len(wallets)}")

        client = DevChainClient.from_settings()
        try:
            token_address = self._reusable_token(client, state_file)
            if token_address is None:
                token_address = self._deploy_and_mint(
                    client,
                    state_file=state_file,
                    name=name,
                    symbol=symbol,
                    decimals=decimals,
                    deployer_key=deployer_key,
                    recipients=[wallet.address for wallet in wallets[:account_count]],
                    amount=mint_whole * 10**decimals,  # base units
                )
            token = token_register(address=token_address, client=client)
        except ChainError as exc:
            raise CommandError(f"{exc.detail} [{exc.code}]") from exc
        self.stdout.write(f"Accepting {token.symbol} ({token.decimals} decimals) for bounties.")
        # Last line on purpose: scripts/run.sh reads it with `tail -n 1`.
        self.stdout.write(f"TOKEN_ADDRESS={token_address}")

    def _reusable_token(self, client: DevChainClient, state_file: Path) -> str | None:
        if not state_file.exists():
            return None
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
            chain_id = int(state["chain_id"])
            token_address = str(state["token_address"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CommandError(
                f"{state_file} is not a token state file ({exc}); delete it to deploy afresh."
            ) from exc
        if chain_id != client.expected_chain_id:
            self.stdout.write(
                f"{state_file} is for chain {chain_id}, not {client.expected_chain_id}: "
                "deploying a new token."
            )
            return None
        if not client.is_contract(token_address):
            self.stdout.write(
                f"No code at {token_address} on chain {chain_id} (chain reset?): "
                "deploying a new token."
            )
            return None
        metadata = client.with_token(token_address).token_metadata()
        self.stdout.write(
            f"Reusing {metadata.name} ({metadata.symbol}, {metadata.decimals} decimals) at "
            f"{token_address} from {state_file}; nothing deployed or minted."
        )
        return token_address

    def _deploy_and_mint(
        self,
        client: DevChainClient,
        *,
        state_file: Path,
        name: str,
        symbol: str,
        decimals: int,
        deployer_key: str,
        recipients: list[str],
        amount: int,
    ) -> str:
        deployer = DevChainClient.address_for_key(deployer_key)
        self.stdout.write(f"Deploying {name} ({symbol}, {decimals} decimals) from {deployer}...")
        deployment = client.deploy_contract_with_receipt(
            artifact=TOKEN_ARTIFACT,
            args=[name, symbol, decimals, deployer],
            private_key=deployer_key,
        )
        token_address = str(deployment.contract_address)
        self.stdout.write(f"Deployed at {token_address} in block {deployment.block_number}.")

        token = client.with_token(token_address)
        if amount > 0:
            # Sent back to back (consecutive pending nonces), then confirmed together.
            tx_hashes = [
                token.token_mint(private_key=deployer_key, to=recipient, amount=amount)
                for recipient in recipients
            ]
            for recipient, tx_hash in zip(recipients, tx_hashes, strict=True):
                receipt = token.wait_for_receipt(tx_hash)
                if not receipt.succeeded:
                    raise CommandError(f"Minting to {recipient} reverted in {tx_hash}.")
                self.stdout.write(f"Minted {amount} base units to {recipient}.")

        # Written only once every mint is mined: a run that dies halfway deploys afresh next
        # time instead of reusing a token whose demo balances are incomplete.
        self._write_state(
            state_file,
            {
                "chain_id": client.expected_chain_id,
                "token_address": token_address,
                "deployed_at_block": deployment.block_number,
            },
        )
        self.stdout.write(f"Wrote {state_file}.")
        return token_address

    @staticmethod
    def _write_state(state_file: Path, state: dict[str, Any]) -> None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = state_file.with_name(f".{state_file.name}.tmp")
        partial.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, state_file)  # atomic: readers never see half a file
