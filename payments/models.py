"""Nonces, API tokens, bounties, rewards, payouts and licences arrive with their issues."""
