"""What the payments admin modules share: amounts shown with their token. Money rows are
written by services only; their admins are read-only (``marketplace.core.admin_readonly``)."""

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, ClassVar

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from payments.templatetags.money import format_amount


def _amount_display(field: str, token_path: str, description: str) -> Callable[..., SafeString]:
    token_of = attrgetter(token_path)

    @admin.display(description=description, ordering=field)
    def show(modeladmin: Any, obj: Any) -> SafeString:
        value = getattr(obj, field)
        if value is None:
            return format_html("{}", "—")
        token = token_of(obj)
        shown = format_amount(value, token.decimals, token.symbol) if token else f"{value:,}"
        return format_html('<span class="amount" title="{} base units">{}</span>', value, shown)

    return show


class MoneyAdmin:
    """Shows token amounts (integers in base units) with their token's decimals and symbol:
    each field of ``money`` (field -> attribute path to its Token) is replaced, in lists and
    forms alike, by a read-only ``<field>_shown``. Amounts are never edited in admin."""

    money: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        opts = cls.__dict__.get("model") or getattr(cls, "model", None)
        for field, token_path in cls.money.items():
            description = field.replace("_", " ")
            if opts is not None:
                description = str(opts._meta.get_field(field).verbose_name)
            setattr(cls, f"{field}_shown", _amount_display(field, token_path, description))

    def _shown(self, names: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for name in names:
            name = f"{name}_shown" if name in self.money else name
            if name not in out:
                out.append(name)
        return out

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._shown(super().get_list_display(request))  # type: ignore[misc]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._shown(super().get_fields(request, obj))  # type: ignore[misc]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.with_money(super().get_readonly_fields(request, obj))  # type: ignore[misc]

    def with_money(self, readonly: Sequence[str]) -> list[str]:
        """``readonly`` plus the shown amounts, and the raw ones (kept out of every form)."""
        extra = [f"{field}_shown" for field in self.money] + list(self.money)
        return [*readonly, *(name for name in extra if name not in readonly)]
