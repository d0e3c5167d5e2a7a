"""A release's figures and its dataset card: ``release_quality`` (rows, labels, rejections,
agreement, contributors and the licenses decided at build time) and ``release_card``
(``README.md`` in the Hugging Face dataset-card format)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.text import slugify

from datasets_app.enums import LabelTask, Modality
from datasets_app.models import Contribution, DatasetRelease
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
TASK_IDS = {
    LabelTask.SINGLE_LABEL: "multi-class-classification",
    LabelTask.MULTI_LABEL: "multi-label-classification",
}
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
    free_text = dataset.label_task == LabelTask.FREE_TEXT
    licenses: list[str] = quality["licenses"]
    custom = [tier["tier"] for tier in quality["license_tiers"] if tier["license"] == "other"]
    # The Hub asks `other` to be named (license_name): the first tier with its own terms.
    extra: dict[str, Any] = {"license_name": slugify(custom[0]) or "custom"} if custom else {}
    metadata = DatasetCardData(
        # One license as a string; several tiers with different licenses as a YAML list.
        license=licenses[0] if len(licenses) == 1 else licenses,
        **extra,
        pretty_name=dataset.title,
        task_categories=[TASK_CATEGORIES[(Modality(dataset.modality), free_text)]],
        task_ids=[TASK_IDS[LabelTask(dataset.label_task)]] if not free_text else None,
        size_categories=[size_category(rows)],
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": "train", "path": "data/train-*"}],
            }
        ],
    )
    DatasetInfosDict({"default": info}).to_dataset_card_data(metadata)
    if dataset.label_task == LabelTask.SINGLE_LABEL:
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
        f"| `{label_name}` | consensus label: {label_text}; empty where undecided |",
        "",
        "Labels are the consensus of several labelers per row (Dawid-Skene, weighted by each "
        "labeler's accuracy on gold items). Gold rows and rows hidden by moderators are left out.",
        "",
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
        "```",
        "",
    ]
    if dataset.card_markdown.strip():
        lines += ["## About this dataset", "", dataset.card_markdown.strip(), ""]
    return f"---\n{metadata.to_yaml()}\n---\n\n" + "\n".join(lines)
