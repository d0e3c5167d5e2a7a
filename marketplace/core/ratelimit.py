"""Fixed-window rate limits kept in the Redis cache, shared by every process."""

from __future__ import annotations

from django.core.cache import cache

from marketplace.core.exceptions import ApplicationError


class RateLimitedError(ApplicationError):
    default_code = "rate_limited"
    status_code = 429


def rate_limit_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> None:
    """Count one hit of ``key`` in ``scope``; raise ``RateLimitedError`` past ``limit`` per window.

    ``cache.add`` creates the counter with its expiry only if absent, and ``incr`` is atomic in
    Redis, so concurrent requests from many processes are counted exactly.
    """
    if limit <= 0:
        return
    cache_key = f"ratelimit:{scope}:{key}"
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: start a new window
        cache.add(cache_key, 1, timeout=window_seconds)
        hits = 1
    if hits > limit:
        raise RateLimitedError(
            f"Too many attempts. Wait a minute and try again (limit: {limit} per "
            f"{window_seconds} seconds).",
            extra={"retry_after": window_seconds},
        )
