"""DataBounty's Python client: ``databounty.load(slug)`` returns a licensed release as a
``datasets.Dataset``; :class:`Client` speaks the rest of the API; the ``databounty`` command
wraps both (``databounty --help``)."""

from databounty.api import Client, Listing
from databounty.config import Config
from databounty.errors import ApiError, ClientError, PaymentRequiredError
from databounty.load import connect, load

__all__ = [
    "ApiError",
    "Client",
    "ClientError",
    "Config",
    "Listing",
    "PaymentRequiredError",
    "connect",
    "load",
]
