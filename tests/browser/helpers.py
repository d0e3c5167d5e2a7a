"""Page helpers the browser tests share: short addresses, layout checks, screenshots from the
top, and the verification of an on-chain payment the page polls for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Locator, Page, expect

from payments.services.transfers import TransferError

if TYPE_CHECKING:
    from tests.chain import ChainToken


def short(address: str) -> str:
    """An address as the pages shorten it: its first 6 and last 4 characters."""
    return f"{address[:6]}…{address[-4:]}"


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def top_screenshot(page: Page, screenshot: Callable[..., Path], name: str) -> None:
    """A full-page screenshot taken from the top, so the sticky header sits where it belongs."""
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def verify_on_the_next_block(
    verify: Callable[[], Any],
    status: Locator,
    chain: ChainToken,
    screenshot: Callable[[], Any],
) -> Any:
    """Does the verification task's work (no Celery worker runs in these tests). The ``status``
    polls (htmx, every 2 s). Mined in one block, the transfer has one of the two confirmations
    asked for: ``verify`` raises (the task would retry) and the polled ``status`` shows 1 / 2;
    ``screenshot`` is taken then. After one more block, returns what ``verify`` returns."""
    expect(status).to_have_attribute("hx-trigger", "every 2s")
    with pytest.raises(TransferError):
        verify()
    expect(status.locator("[data-confirmations]")).to_have_text("1 / 2")
    screenshot()
    chain.mine()
    return verify()
