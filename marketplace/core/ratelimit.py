"""Fixed-window rate limits kept in the Redis cache, shared by every process."""

from __future__ import annotations

from django.core.cache import cache

from marketplace.core.exceptions import ApplicationError


class RateLimitedError(ApplicationError, code="rate_limited", status_code=429): ...


def _cache_key(scope: str, key: str) -> str:
    return f"ratelimit:{scope}:{key}"


def _refusal(limit: int, window_seconds: int) -> RateLimitedError:
    return RateLimitedError(
        f"Too many attempts. Wait a minute and try again (limit: {limit} per "
        f"{window_seconds} seconds).",
        extra={"retry_after": window_seconds},
    )


def rate_limit_count(*, scope: str, key: str, window_seconds: int) -> int:
    """Count one hit of ``key`` in ``scope`` and return the hits in the current window.

    ``cache.add`` creates the counter with its expiry only if absent, and ``incr`` is atomic in
    Redis, so concurrent requests from many processes are counted exactly.
    """
    cache_key = _cache_key(scope, key)
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr: start a new window
        cache.add(cache_key, 1, timeout=window_seconds)
        return 1


def rate_limit_check(*, scope: str, key: str, limit: int, window_seconds: int) -> None:
    """Raise ``RateLimitedError`` while ``key`` has ``limit`` hits in this window, without
    counting this request: for limits that count only some outcomes (``rate_limit_count``)."""
    if limit <= 0:
        return
    if int(cache.get(_cache_key(scope, key), 0)) >= limit:
        raise _refusal(limit, window_seconds)


def rate_limit_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> None:
    """Count one hit of ``key`` in ``scope``; refuse with ``RateLimitedError`` past ``limit``."""
    if limit <= 0:
        return
    if rate_limit_count(scope=scope, key=key, window_seconds=window_seconds) > limit:
        raise _refusal(limit, window_seconds)
