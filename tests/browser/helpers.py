"""Page helpers the browser tests share: layout checks, screenshots from the top, and the
verification of an on-chain payment the page polls for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from payments.integrations.anvil import rpc_call
from payments.services.transfers import TransferError


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def top_screenshot(page: Page, screenshot: Callable[..., Path], name: str) -> None:
    """A full-page screenshot taken from the top, so the sticky header sits where it belongs."""
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def verify_on_the_next_block(
    verify: Callable[[], Any],
    status: Locator,
    *,
    rpc_url: str,
    screenshot: Callable[[], Any],
) -> Any:
    """Does the verification task's work (no Celery worker runs in these tests). Mined in one
    block, the transfer has one of the two confirmations asked for: ``verify`` raises (the task
    would retry) and the polled ``status`` shows 1 / 2; ``screenshot`` is taken then. After one
    more block, returns what ``verify`` returns."""
    with pytest.raises(TransferError):
        verify()
    expect(status.locator("[data-confirmations]")).to_have_text("1 / 2")  # polled by htmx
    screenshot()
    rpc_call(rpc_url, "anvil_mine", ["0x1"])
    return verify()
