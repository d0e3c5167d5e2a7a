from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from marketplace.accounts.models import ApiTokenScope

EXPIRY_CHOICES = [
    ("", "Never"),
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What the token is for, e.g. “training box”.")
    scopes = forms.MultipleChoiceField(
        choices=ApiTokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiTokenScope.READ],
    )
    expires_in_days = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, initial="90")

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=int(days)) if days else None
