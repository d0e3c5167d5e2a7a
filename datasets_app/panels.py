"""What other apps add to datasets_app's pages, without datasets_app importing them.

Data flows one way: ``payments`` builds on ``datasets_app``, never the reverse. So where a dataset
page shows something of another app (a bounty list, the license card) or asks it a question
(does this person hold a license?), that app registers it here from its ``AppConfig.ready()``
(``payments/panels.py``), and datasets_app only reads the registry:

* a **panel**: a template included in one ``slot`` of the dataset page (``main`` or ``aside``,
  in registration order), the context it reads (``context(request, dataset)``, merged into the
  page's), and optionally what it shows as extra columns of the page's visitor-cache stamp
  (``stamp()``: annotations over ``OuterRef("pk")``, the dataset, see
  ``selectors.datasets.dataset_page_stamp``), so a kept page moves when the panel's rows do;
* a **license check**: whether a person holds a license that lets them see every row of a
  dataset, or of one release of it (the row viewer). Without one, nobody does;
* a **paywall**: what the rows API answers someone without such a license when the dataset is
  for sale (payments answers HTTP 402 with x402 payment requirements, or settles the payment
  the request carries and names the payer to serve). Without one, they see the preview.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from datasets_app.models import Dataset, DatasetRelease

SLOTS = ("main", "aside")

LicenseCheck = Callable[[Any, "Dataset", "DatasetRelease | None"], bool]


@dataclass(frozen=True)
class DatasetPanel:
    name: str
    slot: str
    template: str
    context: Callable[[HttpRequest, Dataset], Mapping[str, Any]]
    stamp: Callable[[], Mapping[str, Any]] | None = field(default=None)


@dataclass(frozen=True)
class PaywallOutcome:
    """A paywall's answer: ``response`` to send as it is (a 402, a refusal), or the ``user``
    who just paid, to serve as, with ``headers`` to add to the response."""

    response: Any = None  # an HttpResponseBase
    user: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


# (request, dataset) -> PaywallOutcome, or None when nothing of the dataset is for sale.
Paywall = Callable[[Any, "Dataset"], "PaywallOutcome | None"]

_panels: dict[str, DatasetPanel] = {}
_license_checks: list[LicenseCheck] = []
_paywalls: list[Paywall] = []


def register_dataset_panel(
    name: str,
    *,
    slot: str,
    template: str,
    context: Callable[[HttpRequest, Dataset], Mapping[str, Any]],
    stamp: Callable[[], Mapping[str, Any]] | None = None,
) -> None:
    """Add (or, under the same ``name``, replace) a panel of the dataset page."""
    if slot not in SLOTS:
        raise ValueError(f"A dataset panel goes in one of {SLOTS}, not {slot!r}.")
    _panels[name] = DatasetPanel(name, slot, template, context, stamp)


def dataset_panels() -> list[DatasetPanel]:
    return list(_panels.values())


def dataset_panels_context(request: HttpRequest, dataset: Dataset) -> dict[str, Any]:
    """The panels' context for the dataset page: what each panel's template reads, and
    ``panels``, the templates to include by slot."""
    context: dict[str, Any] = {}
    for panel in _panels.values():
        context.update(panel.context(request, dataset))
    context["panels"] = {
        slot: [panel.template for panel in _panels.values() if panel.slot == slot] for slot in SLOTS
    }
    return context


def dataset_panels_stamp() -> dict[str, Any]:
    """The panels' columns of the dataset page's stamp, named ``<panel>__<column>``."""
    columns: dict[str, Any] = {}
    for panel in _panels.values():
        if panel.stamp is not None:
            columns.update({f"{panel.name}__{k}": v for k, v in panel.stamp().items()})
    return columns


def register_license_check(check: LicenseCheck) -> None:
    """``check(user, dataset, release)``: True when ``user`` holds a license on ``dataset``
    (``release`` None) or one covering ``release``. Registering the same check twice adds it
    once."""
    if check not in _license_checks:
        _license_checks.append(check)


def holds_license(user: Any, dataset: Dataset, release: DatasetRelease | None = None) -> bool:
    """Whether any registered check says ``user`` holds such a license."""
    return any(check(user, dataset, release) for check in _license_checks)


def register_paywall(paywall: Paywall) -> None:
    """``paywall(request, dataset)``; registering the same one twice adds it once."""
    if paywall not in _paywalls:
        _paywalls.append(paywall)


def dataset_paywall(request: Any, dataset: Dataset) -> PaywallOutcome | None:
    """The first registered paywall's answer for ``dataset``; None: not for sale."""
    for paywall in _paywalls:
        outcome = paywall(request, dataset)
        if outcome is not None:
            return outcome
    return None
