"""The payments API, one module per domain: bounties (``bounties``), rewards and payouts
(``rewards``), license tiers, grants and purchases (``licenses``), licensed release files
(``downloads``); ``common`` holds what they share. ``payments/api_urls.py`` imports each."""
