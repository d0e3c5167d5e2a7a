"""Payments' writes, one module per domain: bounties, funding, ledger, rewards, payouts,
licenses, purchases, transfers, downloads, tokens."""
