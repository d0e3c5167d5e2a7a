"""``databounty.load(slug)``: a licensed release as a ``datasets.Dataset`` in one call."""

from __future__ import annotations

from typing import Any

from databounty.api import Client
from databounty.config import Config
from databounty.errors import ClientError


def connect(
    *,
    url: str | None = None,
    token: str | None = None,
    key_file: str | None = None,
    x402: bool = False,
    max_amount: int | None = None,
) -> Client:
    """A client for the configured server: with ``x402`` it pays a 402 from the key file (no
    sign-in, no order) and then uses the download token the payment returned."""
    config = Config.load(url=url, token=token, key_file=key_file, max_amount=max_amount)
    return client_for(config, x402=x402)


def client_for(config: Config, *, x402: bool = False) -> Client:
    """A client for ``config``; with ``x402`` one that pays a 402 from the config's key."""
    if not x402:
        return Client(config)
    from databounty.x402_pay import Payer

    return Client(config, payer=Payer.from_config(config))


def load(
    slug: str,
    *,
    version: int | None = None,
    split: str = "train",
    url: str | None = None,
    token: str | None = None,
    key_file: str | None = None,
    x402: bool = False,
    max_amount: int | None = None,
    **load_dataset_kwargs: Any,
) -> Any:
    """The Parquet shards of ``slug``'s release (the latest you hold a license for, or
    ``version``) loaded with ``datasets.load_dataset``, which reads them straight from the
    server with your token. With ``x402=True`` a key holding the dataset's token is enough: the
    first call pays (at most ``max_amount`` base units), later calls reuse the download token."""
    import datasets

    with connect(
        url=url, token=token, key_file=key_file, x402=x402, max_amount=max_amount
    ) as client:
        listing = client.files(slug, version=version)
    urls = listing.parquet_urls
    if not urls:
        raise ClientError(
            f"{slug} v{listing.version} has no Parquet files to load.", code="no_parquet"
        )
    if not client.bearer:
        raise ClientError("Sign in first: databounty login.", code="not_signed_in")
    return datasets.load_dataset(
        "parquet",
        data_files=urls,
        storage_options={"headers": {"Authorization": f"Bearer {client.bearer}"}},
        split=split,
        **load_dataset_kwargs,
    )
