"""Every money test ends with balanced books."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _books_balance_after_each_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that used the database: every ledger transaction of every token sums to
    zero. (PostgreSQL refuses an unbalanced one anyway; this proves nothing slipped past.)"""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    transactional = bool(marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    # Requested here, so this fixture's teardown runs before the test's data is rolled back.
    request.getfixturevalue("transactional_db" if transactional else "db")
    yield
    from payments.models import Token
    from payments.services.ledger import ledger_books_check

    for token in Token.objects.all():
        report = ledger_books_check(token=token)
        assert not report.unbalanced, f"unbalanced ledger transactions: {report.unbalanced}"
