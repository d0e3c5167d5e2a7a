"""Payments' answers to other apps' signals (each calls one service), and to sign-in's EIP-1271
question, which needs payments' chain client."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from datasets_app.models import Contribution
from datasets_app.signals import contribution_rejected
from marketplace.accounts.contract_wallets import contract_wallet_check_register
from marketplace.core.models import User
from payments.integrations.contract_wallets import contract_wallet_vouches
from payments.services.rewards import rewards_reverse_for_contribution


@receiver(contribution_rejected, dispatch_uid="payments.reverse_rewards_of_rejected")
def reverse_rewards_of_rejected(
    sender: type, *, contribution: Contribution, actor: User, reason: str, **kwargs: Any
) -> None:
    rewards_reverse_for_contribution(
        contribution_id=contribution.pk, actor=actor, reason=f"contribution rejected: {reason}"
    )


contract_wallet_check_register(contract_wallet_vouches)
