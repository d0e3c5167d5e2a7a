from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import Field

from datasets_app.enums import LabelTask, Modality, SpanMatch
from datasets_app.integrations.readers import SUPPORTED_DTYPES
from datasets_app.models import MAX_LABELS_PER_ITEM, Dataset

STATUS_CHOICES = [
    ("draft", "Draft — only you see it"),
    ("open", "Open — in the catalogue"),
    ("closed", "Closed — listed, not accepting work"),
]


def model_default(name: str) -> Any:
    """The default of ``Dataset.<name>``: a form's initial value, and what a blank field means."""
    return cast("Field[Any, Any]", Dataset._meta.get_field(name)).default


def optional_integer(label: str, bounds: tuple[int, int], **options: Any) -> Any:
    """A whole number within ``bounds`` that may be left blank (the model's default then, see
    the form's ``clean_<field>``); ``options`` are the field's initial value and help text."""
    low, high = bounds
    return forms.IntegerField(label=label, required=False, min_value=low, max_value=high, **options)


class DatasetForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    modality = forms.ChoiceField(choices=Modality.choices)
    columns = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=f"One column per line as name:type; types: {', '.join(SUPPORTED_DTYPES)}.",
    )
    label_task = forms.ChoiceField(choices=LabelTask.choices)
    label_classes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One class per line, in order: the choices (classification, at least two), "
        "the entity classes (text spans) or the object classes (image boxes). Number keys 1 to 9 "
        "pick the first nine.",
    )
    spans_allow_overlap = forms.BooleanField(
        label="Spans may overlap",
        required=False,
        help_text="Text spans: allow nested or crossing entities.",
    )
    span_match = forms.ChoiceField(
        label="Spans agree at",
        choices=SpanMatch.choices,
        required=False,
        initial=model_default("span_match"),
        help_text="Text spans: the same offsets, or enough shared words (token overlap).",
    )
    span_token_overlap = forms.FloatField(
        label="Span token overlap",
        required=False,
        min_value=0.01,
        max_value=1.0,
        initial=model_default("span_token_overlap"),
        help_text="Text spans with token overlap: the share of words two spans must share to "
        "agree (blank: 0.5).",
    )
    labels_per_item = forms.IntegerField(
        min_value=1,
        max_value=MAX_LABELS_PER_ITEM,
        initial=3,
        help_text="How many people label each item (k).",
    )
    guidelines = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    card_markdown = forms.CharField(
        required=False,
        label="Dataset card",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown; raw HTML is not rendered.",
    )
    pii_policy = forms.ChoiceField(
        label="Personal data",
        choices=[("reject", "Reject rows with personal data"), ("flag", "Accept and flag them")],
        initial="reject",
        help_text="E-mails, phone numbers, card numbers, IBANs, national IDs, secrets and keys.",
    )
    language = forms.CharField(
        max_length=8,
        required=False,
        help_text="ISO 639-1 code (e.g. en) that text rows must be written in; blank for any.",
    )
    near_duplicate_threshold = forms.FloatField(
        label="Near-duplicate similarity",
        min_value=0.5,
        max_value=1.0,
        initial=model_default("near_duplicate_threshold"),
        help_text="Text rows whose word pairs overlap an existing row's at least this much "
        "(Jaccard similarity) are refused.",
    )
    preview_rows = optional_integer(
        "Preview rows",
        (0, 1000),
        initial=model_default("preview_rows"),
        help_text="How many of the first rows people without a license see in the row viewer "
        "(0 for none, at most 1000).",
    )
    min_labelled_share = optional_integer(
        "Labelled rows before a release, %",
        (0, 100),
        initial=round(model_default("min_labelled_share") * 100),
        help_text="Publishing a version in which a smaller share of rows has a consensus label "
        "asks you to confirm first (0 never asks).",
    )
    accepting_contributions = forms.BooleanField(required=False, initial=True)
    status = forms.ChoiceField(choices=STATUS_CHOICES, initial="draft")

    def clean_columns(self) -> list[dict[str, str]]:
        columns = []
        for number, line in enumerate(self.cleaned_data["columns"].splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, dtype = line.partition(":")
            if not sep:
                raise forms.ValidationError(f"Line {number}: write it as name:type.")
            columns.append({"name": name.strip(), "dtype": dtype.strip()})
        return columns

    def clean_min_labelled_share(self) -> float:
        percent = self.cleaned_data["min_labelled_share"]
        if percent is None:  # left blank: the default
            return float(model_default("min_labelled_share"))
        return int(percent) / 100  # the model keeps a share

    def clean_preview_rows(self) -> int:
        value = self.cleaned_data.get("preview_rows")
        return int(model_default("preview_rows") if value is None else value)

    def clean_span_match(self) -> str:
        return str(self.cleaned_data.get("span_match") or model_default("span_match"))

    def clean_span_token_overlap(self) -> float:
        value = self.cleaned_data.get("span_token_overlap")
        return float(model_default("span_token_overlap") if value is None else value)

    def clean_label_classes(self) -> list[str]:
        return [c.strip() for c in self.cleaned_data["label_classes"].splitlines() if c.strip()]

    @classmethod
    def initial_for(cls, dataset: Dataset) -> dict[str, Any]:
        return {
            **{
                f: getattr(dataset, f)
                for f in (
                    "title",
                    "description",
                    "modality",
                    "label_task",
                    "labels_per_item",
                    "guidelines",
                    "card_markdown",
                    "preview_rows",
                    "accepting_contributions",
                    "status",
                    "spans_allow_overlap",
                    "span_match",
                    "span_token_overlap",
                )
            },
            "min_labelled_share": round(dataset.min_labelled_share * 100),
            "columns": "\n".join(f"{c['name']}:{c['dtype']}" for c in dataset.columns),
            "label_classes": "\n".join(dataset.label_classes),
        }
