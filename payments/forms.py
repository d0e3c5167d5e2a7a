import re
from datetime import timedelta
from decimal import Decimal, localcontext
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from payments.enums import BountyPaysFor, LicenseCoverage
from payments.models import Bounty, Token

# ---------- Bounties ----------

EPOCH_CHOICES = [
    ("3600", "1 hour"),
    ("21600", "6 hours"),
    ("86400", "1 day"),
    ("604800", "1 week"),
]
UINT256_MAX = 2**256 - 1
_AMOUNT = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def parse_token_amount(text: str, decimals: int, symbol: str = "tokens") -> int:
    """A human amount ("12.5") in base units of a token with ``decimals``, exactly: digits and
    one point only (no exponent, sign or thousands separator), and no more fractional digits
    than the token has, since they could not be paid. Raises ``forms.ValidationError``."""
    text = text.strip().replace("_", "").replace(" ", "")
    if not _AMOUNT.fullmatch(text):
        raise forms.ValidationError(
            "Write an amount in tokens with a dot for decimals, e.g. 12.5.", code="bad_amount"
        )
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")  # 1.50 is 1.5: trailing zeros add no precision
    if len(fraction) > decimals:
        raise forms.ValidationError(
            f"{symbol} has {decimals} decimal{'s' if decimals != 1 else ''}: "
            f"use at most {decimals} digit{'s' if decimals != 1 else ''} after the point.",
            code="too_many_decimals",
        )
    # A context wider than any accepted input (max_length 100), so nothing rounds: the
    # default 28 digits would round a uint256.
    with localcontext(prec=200):
        base_units = Decimal(f"{whole or '0'}.{fraction or '0'}").scaleb(decimals)
    if base_units != base_units.to_integral_value():  # unreachable after the check above
        raise forms.ValidationError("That amount cannot be paid exactly.", code="bad_amount")
    amount = int(base_units)
    if amount > UINT256_MAX:
        raise forms.ValidationError("That amount is too large for a token.", code="too_large")
    return amount


class AmountField(forms.CharField):
    """A token amount typed by a person; ``BountyForm.clean`` converts it with the token's
    decimals and decides whether it is needed (a rate is, when the bounty pays for it). So it
    is not marked optional, and an empty one is left to the form."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(required=True, **kwargs)

    def validate(self, value: Any) -> None:
        """No "required" check here: see the class docstring."""


class TokenChoiceField(forms.ModelChoiceField[Token]):
    """One of the tokens a ``TokenPricedForm`` is given (it sets the queryset); no empty
    choice."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Token.objects.none(), empty_label=None, **kwargs)

    def label_from_instance(self, obj: Token) -> str:
        return f"{obj.symbol} · {obj.decimals} decimals · {obj.address[:6]}…{obj.address[-4:]}"


class TokenPricedForm(forms.Form):
    """A form whose ``token`` field offers the ``tokens`` it is given (the accepted ones); the
    page says so when there are none."""

    def __init__(self, *args: Any, tokens: QuerySet[Token], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens = tokens
        cast(TokenChoiceField, self.fields["token"]).queryset = tokens


class BountyForm(TokenPricedForm):
    """A new bounty. Amounts are typed in tokens ("12.5") and become base units with the
    chosen token's decimals in ``clean``; ``bounty_kwargs()`` is what ``bounty_create`` takes."""

    title = forms.CharField(max_length=120)
    description = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you want more of, and anything contributors should know.",
    )
    token = TokenChoiceField(help_text="The ERC-20 the pool is paid in, and the rewards with it.")
    pays_for = forms.ChoiceField(
        label="Pays for",
        choices=BountyPaysFor.choices,
        initial=BountyPaysFor.ROWS,
        widget=forms.RadioSelect,
    )
    rate_per_row = AmountField(
        label="Rate per accepted row",
        help_text="In tokens, e.g. 0.05; weighted by the row's quality score.",
    )
    rate_per_label = AmountField(
        label="Rate per agreeing label",
        help_text="In tokens; paid for labels that agree with the consensus.",
    )
    pool_amount = AmountField(
        label="Pool",
        help_text="In tokens: the most the bounty pays in all. You send it to the treasury "
        "before the bounty opens.",
    )
    starts_at = forms.DateTimeField(
        label="Starts",
        input_formats=[_DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_DATETIME_LOCAL),
        help_text="UTC.",
    )
    ends_at = forms.DateTimeField(
        label="Ends",
        input_formats=[_DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_DATETIME_LOCAL),
        help_text="UTC.",
    )
    epoch_length = forms.ChoiceField(
        label="Epoch length",
        choices=EPOCH_CHOICES,
        initial="86400",
        help_text="Rewards are computed and paid at the end of each epoch.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            now = timezone.now().replace(second=0, microsecond=0)
            self.initial.setdefault("starts_at", now)
            self.initial.setdefault("ends_at", now + timedelta(days=7))

    def clean_epoch_length(self) -> timedelta:
        return timedelta(seconds=int(self.cleaned_data["epoch_length"]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        token: Token | None = data.get("token")
        if token is None:
            return data  # amounts need the token's decimals
        pays_for = data.get("pays_for")
        wanted = {
            "rate_per_row": pays_for in (BountyPaysFor.ROWS, BountyPaysFor.BOTH),
            "rate_per_label": pays_for in (BountyPaysFor.LABELS, BountyPaysFor.BOTH),
            "pool_amount": True,
        }
        for name, needed in wanted.items():
            text = str(data.get(name) or "").strip()
            if not needed:
                data[name] = 0  # the other rate's box is ignored (hidden when JS/CSS runs)
                continue
            if not text:
                self.add_error(name, "Enter an amount.")
                continue
            try:
                amount = parse_token_amount(text, token.decimals, token.symbol)
            except forms.ValidationError as error:
                self.add_error(name, error)
                continue
            if amount == 0:
                self.add_error(name, "Enter more than zero.")
                continue
            data[name] = amount
        return data

    def bounty_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name: data[name] for name in (*Bounty.TERMS, *Bounty.SCHEDULE)}


class FundingHashForm(forms.Form):
    tx_hash = forms.CharField(
        label="Transaction hash",
        max_length=80,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "0x…",
                "class": "mono",
            }
        ),
        help_text="0x and 64 hex digits, from your wallet's activity list.",
    )


# ---------- Licenses ----------

SPDX_CHOICES = [
    ("CC-BY-4.0", "CC-BY-4.0 · attribution"),
    ("CC-BY-SA-4.0", "CC-BY-SA-4.0 · attribution, share alike"),
    ("CC-BY-NC-4.0", "CC-BY-NC-4.0 · attribution, non-commercial"),
    ("CC0-1.0", "CC0-1.0 · public domain"),
    ("ODbL-1.0", "ODbL-1.0 · Open Database License"),
    ("MIT", "MIT"),
    ("Apache-2.0", "Apache-2.0"),
    ("custom", "Custom terms (write them below)"),
]
LICENSE_DURATION_CHOICES = [("perpetual", "Perpetual"), ("30", "30 days"), ("365", "1 year")]


class LicenseTierForm(TokenPricedForm):
    """A new license tier. Field names match ``license_tier_create``'s keywords, so an error it
    raises about a field (``extra["field"]``) lands beside that field; the price is typed in
    tokens and becomes base units with the chosen token's decimals in ``clean``."""

    name = forms.CharField(
        max_length=80, help_text="Shown to buyers, e.g. “Research” or “Commercial”."
    )
    spdx_id = forms.ChoiceField(
        label="Terms",
        choices=SPDX_CHOICES,
        initial="CC-BY-4.0",
        help_text="A standard license by its SPDX id, or your own terms.",
    )
    custom_terms = forms.CharField(
        label="Custom terms",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Only with “Custom terms”: the full text buyers agree to.",
    )
    commercial = forms.BooleanField(label="Commercial use allowed", required=False)
    price = AmountField(
        label="Price",
        help_text="In tokens, e.g. 25 or 0.5. 0 makes the tier free.",
    )
    token = TokenChoiceField(help_text="The ERC-20 buyers pay in (ignored for a free tier).")
    duration = forms.ChoiceField(
        label="Duration", choices=LICENSE_DURATION_CHOICES, initial="perpetual"
    )
    covers = forms.ChoiceField(
        label="Versions covered",
        choices=LicenseCoverage.choices,
        initial=LicenseCoverage.RELEASED,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Without any accepted token only free tiers can be made: then none is asked for.
        self.fields["token"].required = self.tokens.exists()
        self.initial.setdefault("price", "0")

    def clean_spdx_id(self) -> str:
        spdx_id = str(self.cleaned_data["spdx_id"])
        return "" if spdx_id == "custom" else spdx_id

    def clean_duration(self) -> timedelta | None:
        days = self.cleaned_data["duration"]
        return None if days == "perpetual" else timedelta(days=int(days))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("spdx_id"):
            data["custom_terms"] = ""  # a standard license: any text typed below is not the terms
        text = str(data.get("price") or "").strip() or "0"
        token: Token | None = data.get("token")
        if token is None:
            if text.strip("0.") and not self.has_error("token"):
                self.add_error("token", "Choose the token the price is in.")
            data["price"], data["token"] = 0, None
            return data
        try:
            data["price"] = parse_token_amount(text, token.decimals, token.symbol)
        except forms.ValidationError as error:
            self.add_error("price", error)
            return data
        if data["price"] == 0:
            data["token"] = None  # free: no token to pay in
        return data

    def tier_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        names = ("name", "spdx_id", "custom_terms", "commercial", "price", "token", "duration")
        return {name: data[name] for name in (*names, "covers")}


class PurchaseHashForm(FundingHashForm):
    """The hash of the transfer that paid a license order (the same field as a funding's)."""
