"""Admin lists over big tables: a paginator that never counts millions of rows, and filters
that take typed input (a dataset, a person) instead of listing every row of another table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cached_property
from typing import Any, ClassVar, cast

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from marketplace.core.addresses import InvalidAddressError, normalize_address

# Below this many rows (as the planner estimates them) the paginator counts exactly, reading at
# most this many keys: as cheap as the page itself, and exact where an estimate shows most.
EXACT_COUNT_BELOW = 1000


def estimated_count(queryset: QuerySet[Any]) -> int:
    """The planner's row estimate for ``queryset`` (``EXPLAIN``, which plans but runs nothing):
    from ``pg_class.reltuples`` and the column statistics ANALYZE keeps."""
    try:
        sql, params = queryset.order_by().values("pk").query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:  # e.g. ``.none()``: a filter matched nothing it could look up
        return 0
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        row = cursor.fetchone()
    plan = row[0] if row else [{"Plan": {"Plan Rows": 0}}]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):  # type: ignore[type-arg]
    """Counts with the planner's estimate instead of ``COUNT(*)``, which reads every matching
    row (seconds on millions); small results are counted exactly, reading at most
    ``EXACT_COUNT_BELOW`` keys. ``estimated`` says which, so the page can say "about"."""

    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = cast(QuerySet[Any], self.object_list)
        estimate = estimated_count(queryset)
        if estimate >= EXACT_COUNT_BELOW:
            self.estimated = True
            return estimate
        keys = queryset.order_by().values_list("pk", flat=True)[:EXACT_COUNT_BELOW]
        exact = len(list(keys))
        if exact < EXACT_COUNT_BELOW:
            return exact
        self.estimated = True  # the planner was wrong; more than this many match
        return max(estimate, exact)

    def page(self, number: Any) -> Any:
        """The page's keys first (``SELECT id … ORDER BY … LIMIT``: no joins, no wide columns,
        so an index holding the filter's column and ``id`` answers it alone), then its rows
        with their joins, by key."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        queryset = cast(QuerySet[Any], self.object_list)
        keys = list(queryset.values_list("pk", flat=True)[bottom : bottom + self.per_page])
        rows = queryset.order_by().in_bulk(keys)
        return Page([rows[key] for key in keys if key in rows], number, self)


class BigTableAdmin(admin.ModelAdmin[Any]):
    """A list over a table of millions of rows: no full count, no facet counts, the estimating
    paginator. Sorting is by id only (newest first), which the primary key index serves."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by: ClassVar[tuple[str, ...]] = ()  # type: ignore[misc]

    @admin.display(
        description=mark_safe(
            '<input type="checkbox" id="action-toggle" aria-label="Select all objects on this '
            'page for an action">'
        )
    )
    def action_checkbox(self, obj: Any) -> SafeString:
        """Django's row checkbox, formatted directly: rendering a widget template per row was
        a fifth of the page's time."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="Select this object for an action - {}">',
            ACTION_CHECKBOX_NAME,
            obj.pk,
            obj,
        )


class TitledFilter(admin.SimpleListFilter):
    """A list filter whose query parameter is its title (``?status=``) unless it names another
    ``parameter_name``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.parameter_name is None and cls.title is not None:
            cls.parameter_name = str(cls.title)


class ChoicesFilter(TitledFilter):
    """Links, each a condition: ``CHOICES`` maps a value of the parameter to (label, Q)."""

    CHOICES: ClassVar[dict[str, tuple[str, Q]]] = {}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in self.CHOICES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        choice = self.CHOICES.get(self.value() or "")
        return queryset.filter(choice[1]) if choice else queryset


class InputFilter(TitledFilter):
    """A filter with a text box (and an optional ``<datalist>`` of suggestions) instead of a list
    of links: for columns with too many values to list."""

    template = "admin/input_filter.html"
    placeholder = ""
    help_text = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return []

    def has_output(self) -> bool:
        return True

    def suggestions(self) -> list[tuple[str, str]]:
        """(value, label) pairs offered as the user types."""
        return []

    def describe(self) -> str:
        """What the current value selects, in words ("" when nothing is selected)."""
        return ""

    def choices(self, changelist: Any) -> Iterator[Any]:
        others = changelist.get_query_string(remove=[self.parameter_name])
        yield {
            "parameter": self.parameter_name,
            "value": self.value() or "",
            "hidden": [
                (name, value)
                for name, values in QueryDict(others.removeprefix("?")).lists()
                for value in values
            ],
            "clear_url": others,
            "placeholder": self.placeholder,
            "help_text": self.help_text,
            "suggestions": self.suggestions(),
            "current": self.describe(),
        }


class UserInputFilter(InputFilter):
    """People by wallet address (whole, or its first characters) or display name. The matching
    users (at most ``MAX_USERS``) are looked up first, so the list is filtered by their ids."""

    field_path = ""  # e.g. "labeler_id", "contribution__contributor_id"
    placeholder = "0x… address or name"
    help_text = "A wallet address, its first characters, or a display name."
    MAX_USERS = 50

    @classmethod
    def on(cls, title: str, field_path: str) -> type[UserInputFilter]:
        """The filter of the people in ``field_path`` (a user id), under ``?<title>=``."""
        attrs = {"title": title, "field_path": field_path}
        return type(f"{title.title()}Filter", (cls,), attrs)

    @cached_property
    def users(self) -> list[Model]:
        from marketplace.core.models import User

        text = (self.value() or "").strip()
        if not text:
            return []
        try:
            match = Q(address=normalize_address(text))
        except InvalidAddressError:
            match = Q(display_name__iexact=text)
            if text.lower().startswith("0x") and len(text) >= 4:
                match |= Q(address__istartswith=text)
        return list(User.objects.filter(match).order_by("pk")[: self.MAX_USERS])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        return queryset.filter(**{f"{self.field_path}__in": [user.pk for user in self.users]})

    def describe(self) -> str:
        if not self.value():
            return ""
        if not self.users:
            return f"Nobody matches “{self.value()}”."
        names = ", ".join(str(user) for user in self.users[:5])
        more = len(self.users) - 5
        return names + (f" and {more} more" if more > 0 else "")
