"""A release's figures and its dataset card: ``release_quality`` (rows, labels, rejections,
agreement, contributors and the licenses decided at build time) and ``release_card``
(``README.md`` in the Hugging Face dataset-card format)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.text import slugify

from datasets_app.enums import ANNOTATION_TASKS, LabelTask, Modality
from datasets_app.models import Contribution, Dataset, DatasetRelease
from datasets_app.selectors.releases import (
    dataset_agreement,
    rejection_figures,
    release_licenses,
    share,
)

if TYPE_CHECKING:
    import datasets


def release_quality(
    release: DatasetRelease,
    rows: int,
    labelled: int,
    flagged: int,
    contribution_ids: set[int],
) -> dict[str, Any]:
    dataset = release.dataset
    figures = rejection_figures(dataset=dataset)
    contributors = (
        Contribution.objects.filter(dataset=dataset, pk__in=contribution_ids)
        .values("contributor")
        .distinct()
        .count()
        if contribution_ids
        else 0
    )
    return {
        **_license_figures(release),
        "rows": rows,
        "labelled_rows": labelled,
        "labelled_share": share(labelled, rows),
        "flagged_rows": flagged,
        "flagged_share": share(flagged, rows),
        "rows_submitted": figures["rows_submitted"],
        "duplicate_rejected_rows": figures["duplicate_rows"],
        "duplicate_rate": share(figures["duplicate_rows"], figures["rows_submitted"]),
        "pii_rejected_rows": figures["pii_rows"],
        "pii_rate": share(figures["pii_rows"], figures["rows_submitted"]),
        "agreement_alpha": dataset_agreement(dataset=dataset),
        "contributors": contributors,
    }


def _license_figures(release: DatasetRelease) -> dict[str, Any]:
    """The release's licenses, decided when it is built (a ready release never changes):

    * ``license_tiers``: the dataset's active license tiers at that moment, each with its name,
      SPDX id and Hub license id (``other`` for custom terms or an id the Hub lacks);
    * ``licenses``: their distinct Hub ids, in price order, or, with no tier, the license
      given at publish (``license_source`` ``"publisher"``), or ``unknown`` (``"none"``);
    * ``license``: the same ids joined by ", " (one string, for pages and older readers)."""
    tiers = release_licenses(dataset=release.dataset)
    given = str((release.quality or {}).get("license") or "other")
    if tiers:
        ids = list(dict.fromkeys(tier["license"] for tier in tiers))
        source = "tiers"
    elif given != "other":
        ids, source = [given], "publisher"
    else:
        ids, source = ["unknown"], "none"
    return {
        "license": ", ".join(ids),
        "licenses": ids,
        "license_source": source,
        "license_tiers": tiers,
    }


TASK_CATEGORIES = {
    (Modality.TEXT, False): "text-classification",
    (Modality.IMAGE, False): "image-classification",
    (Modality.TABULAR, False): "tabular-classification",
    (Modality.TEXT, True): "text-generation",
    (Modality.IMAGE, True): "image-to-text",
    (Modality.TABULAR, True): "tabular-to-text",
}
TASK_IDS: dict[str, str] = {
    LabelTask.SINGLE_LABEL: "multi-class-classification",
    LabelTask.MULTI_LABEL: "multi-label-classification",
    LabelTask.SPANS: "named-entity-recognition",
}
ANNOTATION_LABEL_TEXT: dict[str, str] = {  # the label column's line in the card's Data table
    LabelTask.SPANS: "entity spans, `Sequence` of `{start, end, label: ClassLabel}` (see Spans)",
    LabelTask.BOXES: (
        "boxes, `Sequence` of `{bbox: [x, y, w, h], category: ClassLabel}` (see Boxes)"
    ),
}


def annotation_schema_lines(dataset: Dataset, label_name: str) -> list[str]:
    """The card's account of a spans or boxes label column: its type, the class names with their
    indexes, and what the numbers mean."""
    classes = list(dataset.label_classes or [])
    if dataset.label_task == LabelTask.SPANS:
        text = dataset.text_column or "the text column"
        lines = [
            "### Spans",
            "",
            f"`{label_name}` holds the consensus entity spans of the row's text "
            f"(`{text}`), the layout of the Hub's token-classification datasets:",
            "",
            "```python",
            f"{label_name}: Sequence({{",
            '    "start": Value("int32"),  # first character, 0-based',
            '    "end": Value("int32"),  # one past the last character (exclusive)',
            f'    "label": ClassLabel(names={classes!r}),',
            "})",
            "```",
            "",
            "Offsets count Unicode code points (Python `str` indexes): "
            '`text[start:end]` is the entity. A row reads as `{"start": [...], "end": '
            '[...], "label": [...]}`, one entry per span, sorted by start.',
        ]
        consensus = (
            "Spans are the consensus of several labelers per row: a span is kept when a "
            "credibility-weighted majority marked it with the same class (matched at exact "
            "offsets or by token overlap, as the dataset sets)."
        )
    else:
        lines = [
            "### Boxes",
            "",
            f"`{label_name}` holds the consensus bounding boxes of the row's image, the COCO-style "
            "layout of the Hub's object-detection datasets:",
            "",
            "```python",
            f"{label_name}: Sequence({{",
            '    "bbox": Sequence(Value("float32"), length=4),  # [x, y, w, h]',
            f'    "category": ClassLabel(names={classes!r}),',
            "})",
            "```",
            "",
            "`bbox` is `[x, y, width, height]` in pixels of the original image as stored in the "
            "image column (not a thumbnail), `x, y` the top-left corner, the origin at the "
            'image\'s top-left. A row reads as `{"bbox": [[x, y, w, h], ...], "category": '
            "[...]}`, one entry per box.",
        ]
        consensus = (
            "Boxes are the consensus of several labelers per row: boxes of a class matched "
            "across labelers at IoU >= 0.5 (Hungarian matching), kept when a credibility-weighted "
            "majority drew them, each the weighted mean of the matched boxes."
        )
    lines += [
        "",
        "| index | class |",
        "|---|---|",
        *(f"| {index} | {name} |" for index, name in enumerate(classes)),
        "",
        "The column is null where no consensus was reached, and empty lists where the labelers "
        "agreed there is nothing to mark.",
        "",
        consensus + " Gold rows and rows hidden by moderators are left out.",
        "",
    ]
    return lines


def annotation_loading_lines(dataset: Dataset, label_name: str) -> list[str]:
    """Lines of the card's loading snippet that read a spans or boxes row back."""
    if dataset.label_task == LabelTask.SPANS:
        text = dataset.text_column or "text"
        names = f'data["train"].features["{label_name}"]["label"].feature'
        return [
            "",
            'row = data["train"][0]',
            f"names = {names}",
            f'for start, end, label in zip(*(row["{label_name}"][k] for k in '
            '("start", "end", "label"))):',
            f'    print(row["{text}"][start:end], names.int2str(label))',
        ]
    names = f'data["train"].features["{label_name}"]["category"].feature'
    return [
        "",
        'row = data["train"][0]',
        f"names = {names}",
        f'for (x, y, w, h), category in zip(row["{label_name}"]["bbox"], '
        f'row["{label_name}"]["category"]):',
        "    print(names.int2str(category), x, y, w, h)",
    ]


def _task_category(modality: str, task: str) -> str:
    if task == LabelTask.SPANS:
        return "token-classification"
    if task == LabelTask.BOXES:
        return "object-detection"
    return TASK_CATEGORIES[(Modality(modality), task == LabelTask.FREE_TEXT)]


SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)


def size_category(rows: int) -> str:
    for bound, name in SIZE_CATEGORIES:
        if rows < bound:
            return name
    return "n>1T" if rows > 10**12 else "1B<n<10B"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _tier_terms(spdx_id: str) -> str:
    return f"`{spdx_id}`" if spdx_id else "its own terms (see the dataset page)"


def _license_lines(quality: dict[str, Any]) -> list[str]:
    tiers = quality["license_tiers"]
    if tiers:
        return [
            "Sold under these license tiers (as they were when this version was built):",
            "",
            "| tier | license |",
            "|---|---|",
            *(f"| {tier['tier']} | {_tier_terms(tier['spdx_id'])} |" for tier in tiers),
        ]
    if quality["license_source"] == "publisher":
        return [
            f"No license tier existed when this version was built; the owner gave "
            f"`{quality['licenses'][0]}`."
        ]
    return [
        "No license tier existed when this version was built, so its license is `unknown`; "
        "the dataset's page lists the licenses on sale now."
    ]


def release_card(
    release: DatasetRelease,
    *,
    features: datasets.Features,
    label_name: str,
    files: list[tuple[str, int, int, str]],
    content_hash: str,
    quality: dict[str, Any],
    arrow_bytes: int,
) -> str:
    """``README.md`` in the Hugging Face dataset-card format: YAML metadata (license, features,
    splits, sizes, configs) and a Markdown body with the quality figures and the file hashes."""
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo
    from huggingface_hub import DatasetCardData

    dataset = release.dataset
    rows = int(quality["rows"])
    download_size = sum(size for _, _, size, _ in files)
    splits = SplitDict()
    splits.add(SplitInfo(name="train", num_bytes=arrow_bytes, num_examples=rows))
    info = DatasetInfo(
        features=features, splits=splits, download_size=download_size, dataset_size=arrow_bytes
    )
    task = str(dataset.label_task)
    annotations = task in ANNOTATION_TASKS
    licenses: list[str] = quality["licenses"]
    custom = [tier["tier"] for tier in quality["license_tiers"] if tier["license"] == "other"]
    # The Hub asks `other` to be named (license_name): the first tier with its own terms.
    extra: dict[str, Any] = {"license_name": slugify(custom[0]) or "custom"} if custom else {}
    metadata = DatasetCardData(
        # One license as a string; several tiers with different licenses as a YAML list.
        license=licenses[0] if len(licenses) == 1 else licenses,
        **extra,
        pretty_name=dataset.title,
        task_categories=[_task_category(dataset.modality, task)],
        task_ids=[TASK_IDS[task]] if task in TASK_IDS else None,
        size_categories=[size_category(rows)],
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": "train", "path": "data/train-*"}],
            }
        ],
    )
    DatasetInfosDict({"default": info}).to_dataset_card_data(metadata)
    if annotations:
        label_text = ANNOTATION_LABEL_TEXT[task]
    elif dataset.label_task == LabelTask.SINGLE_LABEL:
        label_text = f"one of {len(dataset.label_classes)} classes (`ClassLabel`)"
    elif dataset.label_task == LabelTask.MULTI_LABEL:
        label_text = f"a list of classes out of {len(dataset.label_classes)} (`ClassLabel`)"
    else:
        label_text = "free text (`string`)"
    alpha = quality["agreement_alpha"]
    lines = [
        f"# {dataset.title} ({release.version})",
        "",
        dataset.description,
        "",
        f"Version {release.version} of this DataBounty dataset: {rows:,} rows frozen on "
        f"{timezone.localdate(timezone.now()).isoformat()}, "
        f"{'licenses' if len(licenses) > 1 else 'license'} "
        f"{', '.join(f'`{name}`' for name in licenses)}.",
        "",
    ]
    if release.notes:
        lines += ["## Release notes", "", release.notes, ""]
    lines += ["## Licenses", "", *_license_lines(quality), ""]
    lines += [
        "## Data",
        "",
        "| column | type |",
        "|---|---|",
        *(f"| `{c['name']}` | `{c['dtype']}` |" for c in dataset.columns),
        f"| `{label_name}` | consensus label: {label_text}; "
        f"{'null' if annotations else 'empty'} where undecided |",
        "",
        *(
            annotation_schema_lines(dataset, label_name)
            if annotations
            else [
                "Labels are the consensus of several labelers per row (Dawid-Skene, weighted by "
                "each labeler's accuracy on gold items). Gold rows and rows hidden by moderators "
                "are left out.",
                "",
            ]
        ),
        "## Quality",
        "",
        "| figure | value |",
        "|---|---|",
        f"| rows | {rows:,} |",
        f"| rows with a consensus label | {quality['labelled_rows']:,} "
        f"({_percent(quality['labelled_share'])}) |",
        f"| label agreement (Krippendorff's alpha) | {'—' if alpha is None else f'{alpha:.2f}'} |",
        f"| rows submitted | {quality['rows_submitted']:,} |",
        f"| rejected as duplicates or near-duplicates | {_percent(quality['duplicate_rate'])} |",
        f"| rejected for personal data | {_percent(quality['pii_rate'])} |",
        f"| rows flagged (kept, marked) | {quality['flagged_rows']:,} "
        f"({_percent(quality['flagged_share'])}) |",
        f"| contributors | {quality['contributors']:,} |",
        "",
        "## Files",
        "",
        "| file | rows | bytes | sha256 |",
        "|---|---|---|---|",
        *(f"| `{name}` | {n:,} | {size:,} | `{digest}` |" for name, n, size, digest in files),
        "",
        f"Content hash: `{content_hash}` (sha256 over the sorted `name:sha256` lines of the "
        "files above).",
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'data = load_dataset("parquet", data_files="data/train-*.parquet")',
        *(annotation_loading_lines(dataset, label_name) if annotations else []),
        "```",
        "",
    ]
    if dataset.card_markdown.strip():
        lines += ["## About this dataset", "", dataset.card_markdown.strip(), ""]
    return f"---\n{metadata.to_yaml()}\n---\n\n" + "\n".join(lines)
