"""Consensus on labels, and the credibility of labelers.

When an item has its k labels, ``item_consensus_update`` decides its label by majority weighted
by each labeler's credibility (a split vote below ``CONSENSUS_MIN_CONFIDENCE`` first asks for
up to ``CONSENSUS_EXTRA_LABELS`` more labels, one at a time), and moves every labeler's
credibility towards what the round showed (agreement with consensus; gold answers count when
they are given). Periodically, ``dataset_consensus_refresh`` re-decides all finished items of a
dataset together with Dawid-Skene (each labeler's confusion matrix, gold items clamped), which
catches spammers and always-the-same-answer labelers that a plain majority follows, and stores
the dataset's Krippendorff's alpha.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, FloatField, Value, When
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from datasets_app.enums import ANNOTATION_TASKS, LabelTask
from datasets_app.models import Dataset, Item, Label, LabelerCredibility
from datasets_app.quality import agreement, consensus
from datasets_app.quality.boxes import box_consensus, box_f1
from datasets_app.quality.spans import F1_AGREES, span_consensus, span_f1
from marketplace.core.services import audit_log_record

logger = logging.getLogger(__name__)


# An annotation label at or above this F1 against the gold answer counts as gold-correct.
GOLD_F1_CORRECT = F1_AGREES


def item_text(dataset: Dataset, item: Item) -> str:
    """The text a span label points into: the item's value in the dataset's text column."""
    value = (item.data or {}).get(dataset.text_column or "")
    return value if isinstance(value, str) else ""


def item_image_size(dataset: Dataset, item: Item) -> tuple[int, int] | None:
    """(width, height) of the item's original image as the image pipeline stored it."""
    value = (item.data or {}).get(dataset.image_column or "")
    if not isinstance(value, dict):
        return None
    width, height = value.get("width"), value.get("height")
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        return None
    return width, height


def annotation_f1(dataset: Dataset, item: Item, predicted: Any, reference: Any) -> float:
    """A span/box label's F1 against a reference (the consensus or the gold answer): span F1
    with the dataset's matching, or box F1 at IoU 0.5."""
    if dataset.label_task == LabelTask.SPANS:
        return span_f1(
            predicted,
            reference,
            match=dataset.span_match,  # type: ignore[arg-type]
            token_overlap=dataset.span_token_overlap,
            text=item_text(dataset, item),
        )
    return box_f1(predicted, reference)


def whole_pixel_boxes(boxes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Boxes in whole pixels (the stored form): edges rounded, so a box within the image stays
    within it; a box that rounds to nothing keeps the pixel its edge lies in (within it too)."""
    out = []
    for box in boxes:
        left, right = _whole_pixels(box["x"], box["w"])
        top, bottom = _whole_pixels(box["y"], box["h"])
        out.append(
            {"x": left, "y": top, "w": right - left, "h": bottom - top, "label": box["label"]}
        )
    return out


def _whole_pixels(start: float, length: float) -> tuple[int, int]:
    """The extent ``[start, start + length)`` (length > 0) with its ends rounded, or, when that
    leaves nothing, the pixel ``start`` lies in: ``0 <= start < start + length <= size`` makes
    ``0 <= first < end <= size`` either way."""
    first, end = round(start), round(start + length)
    if end > first:
        return first, end
    first = math.floor(start)
    return first, first + 1


def _encoded(dataset: Dataset, value: Any) -> Any:
    """A stored label in the form the consensus functions take."""
    classes = dataset.label_classes
    if dataset.label_task == LabelTask.SINGLE_LABEL:
        return classes.index(value)
    if dataset.label_task == LabelTask.MULTI_LABEL:
        return frozenset(classes.index(v) for v in value)
    return str(value)


def _decoded(dataset: Dataset, value: Any) -> Any:
    classes = dataset.label_classes
    if dataset.label_task == LabelTask.SINGLE_LABEL:
        return classes[int(value)]
    if dataset.label_task == LabelTask.MULTI_LABEL:
        return [classes[i] for i in sorted(value)]
    return value


def _same(value: Any, decided: Any) -> bool:
    """Whether a labeler's answer agrees with the decision (free text: as normalised)."""
    if isinstance(value, str) and isinstance(decided, str):
        return consensus.normalise_text(value) == consensus.normalise_text(decided)
    return bool(value == decided)


def _credibility_rows(user_ids: list[int]) -> dict[int, LabelerCredibility]:
    """Locked credibility rows, created when missing; locked in id order to avoid deadlocks."""
    for user_id in user_ids:
        LabelerCredibility.objects.get_or_create(user_id=user_id)
    rows = LabelerCredibility.objects.select_for_update().filter(user_id__in=user_ids)
    return {row.user_id: row for row in rows.order_by("user_id")}


def _decide(dataset: Dataset, votes: list[tuple[int, int, Any]], weights: dict[int, float]) -> Any:
    """(label, confidence) for one item's votes [(item, labeler, encoded value)], or None."""
    decided: dict[int, tuple[Any, float]]
    if dataset.label_task == LabelTask.SINGLE_LABEL:
        decided = consensus.weighted_majority(votes, len(dataset.label_classes), weights)
    elif dataset.label_task == LabelTask.MULTI_LABEL:
        decided = consensus.multilabel_consensus(votes, len(dataset.label_classes), weights)
    else:
        decided = consensus.free_text_consensus(votes)
    return decided.get(votes[0][0]) if votes else None


def _record_round(credibility: dict[int, LabelerCredibility], agreed_by: dict[int, float]) -> None:
    """Each labeler's agreement with the decided label (1/0, or a span/box label's F1) moves
    their credibility."""
    for user_id, agreed in agreed_by.items():
        row = credibility[user_id]
        row.compared += 1
        row.agreed += float(agreed)
        observation = consensus.labeler_observation(
            row.gold_correct, row.gold_total, row.agreed, row.compared
        )
        row.credibility = consensus.credibility_update(row.credibility, observation)
        row.save(update_fields=["compared", "agreed", "credibility", "updated_at"])


@transaction.atomic
def item_consensus_update(*, item_id: int) -> Any:
    """Decide the label of an item that has its k labels; returns the label (or None when
    there is no majority yet). Safe to run twice: a decided item is left as it is."""
    item = Item.objects.select_for_update().select_related("dataset").filter(pk=item_id).first()
    if item is None or item.is_gold or item.consensus_label is not None:
        return item.consensus_label if item is not None else None
    dataset = item.dataset
    labels = list(
        Label.objects.filter(item=item, is_rejected=False).values_list("labeler_id", "value")
    )
    if len(labels) < dataset.labels_per_item:
        return None
    credibility = _credibility_rows(sorted({labeler for labeler, _ in labels}))
    weights = {user_id: row.credibility for user_id, row in credibility.items()}
    if dataset.label_task in ANNOTATION_TASKS:
        return _annotation_consensus(item, dict(labels), weights, credibility)
    votes = [(item.pk, labeler, _encoded(dataset, value)) for labeler, value in labels]
    decided = _decide(dataset, votes, weights)
    if decided is None or decided[0] is None:
        return None  # no majority (free text that nobody agrees on): more labels may settle it
    label, confidence = decided
    if _asks_more(item, float(confidence), len(labels)):
        return None
    _decided(item, _decoded(dataset, label), float(confidence))
    _record_round(credibility, {labeler: float(_same(value, label)) for _, labeler, value in votes})
    return item.consensus_label


def _asks_more(item: Item, confidence: float, labels: int) -> bool:
    """A split vote (or spans/boxes that agree too little) below ``CONSENSUS_MIN_CONFIDENCE``
    opens one more slot, up to ``CONSENSUS_EXTRA_LABELS`` beyond k, rather than let the
    narrowest majority decide (a pair of colluding or careless accounts is outvoted by a third
    honest label). True when it did."""
    # (1e-9: a 3-of-4 share computed in floats is 0.7499..., and should count as 0.75.)
    if confidence + 1e-9 >= settings.CONSENSUS_MIN_CONFIDENCE or labels >= (
        item.dataset.labels_per_item + settings.CONSENSUS_EXTRA_LABELS
    ):
        return False
    if item.slots_open == 0:
        Item.objects.filter(pk=item.pk).update(slots_open=F("slots_open") + 1)
    return True


def _decided(item: Item, label: Any, confidence: float) -> None:
    item.consensus_label = label
    item.consensus_confidence = confidence
    item.consensus_at = timezone.now()
    item.save(update_fields=["consensus_label", "consensus_confidence", "consensus_at"])


def _annotation_consensus(
    item: Item,
    labels: dict[int, Any],
    weights: dict[int, float],
    credibility: dict[int, LabelerCredibility],
) -> list[dict[str, Any]] | None:
    """Spans or boxes: the credibility-weighted consensus list, agreement (mean pairwise span
    F1, or box F1 at IoU 0.5) as its confidence; each label's F1 against it is its ``score``,
    which moves its labeler's credibility as agreeing (1) or not (0) does for a class label."""
    dataset = item.dataset
    agreed: float | None
    if dataset.label_task == LabelTask.SPANS:
        spans = span_consensus(
            labels,
            weights,
            match=dataset.span_match,  # type: ignore[arg-type]
            token_overlap=dataset.span_token_overlap,
            text=item_text(dataset, item),
        )
        decided, agreed = spans.spans, spans.agreement
    else:
        boxes = box_consensus(labels, weights)
        decided, agreed = whole_pixel_boxes(boxes.boxes), boxes.f1
    agreement = 1.0 if agreed is None else float(agreed)  # one labeler agrees with themselves
    if _asks_more(item, agreement, len(labels)):
        return None
    _decided(item, decided, agreement)
    scores = {
        labeler: annotation_f1(dataset, item, value, decided) for labeler, value in labels.items()
    }
    # One UPDATE from the scores in hand: a labeler labels an item once (label_once_per_item).
    Label.objects.filter(item=item, labeler_id__in=scores).update(
        score=Case(
            *(When(labeler_id=labeler, then=Value(score)) for labeler, score in scores.items()),
            output_field=FloatField(),
        )
    )
    _record_round(credibility, scores)
    return decided


def label_gold_recorded(*, user_id: int, correct: float) -> None:
    """A gold answer was graded (1 or 0; a span/box label's F1 against the answer): count it
    towards the labeler's credibility."""
    LabelerCredibility.objects.get_or_create(user_id=user_id)
    LabelerCredibility.objects.filter(user_id=user_id).update(
        gold_total=F("gold_total") + 1, gold_correct=F("gold_correct") + float(correct)
    )


def dataset_consensus_refresh(*, dataset_id: int) -> dict[str, Any]:
    """Re-decide every finished single-label item of a dataset with Dawid-Skene (gold items
    clamped to their answers) and store the dataset's Krippendorff's alpha."""
    dataset = Dataset.objects.get(pk=dataset_id)
    rows = list(
        Label.objects.filter(dataset=dataset, is_rejected=False)
        .values_list("item_id", "labeler_id", "value", "item__is_gold", "item__gold_label")
        .iterator(chunk_size=20_000)
    )
    changed = 0
    alpha = None
    if dataset.label_task == LabelTask.SINGLE_LABEL and rows:
        classes = dataset.label_classes
        votes = [(item, labeler, classes.index(value)) for item, labeler, value, *_ in rows]
        gold = {
            item: classes.index(g) for item, _, _, is_gold, g in rows if is_gold and g in classes
        }
        alpha = agreement.krippendorff_alpha_nominal([v for v in votes if v[0] not in gold])
        # With gold answers, start from them: a camp of labelers wrong together cannot then
        # pull the first estimate their way.
        result = consensus.dawid_skene(
            votes, len(classes), gold=gold, init="gold" if gold else "majority"
        )
        counts: dict[int, int] = defaultdict(int)
        for item, _, _ in votes:
            counts[item] += 1
        finished = {
            item for item, n in counts.items()
            if n >= dataset.labels_per_item and item not in gold
        }  # fmt: skip
        with transaction.atomic():
            current = dict(
                Item.objects.filter(pk__in=finished).values_list("pk", "consensus_label")
            )
            for item in finished:
                index, confidence = result.labels[item]
                label = classes[int(index)]
                if current.get(item) != label:
                    # A label decided earlier keeps its time: rewards already counted it.
                    Item.objects.filter(pk=item).update(
                        consensus_label=label,
                        consensus_confidence=float(confidence),
                        consensus_at=Coalesce(F("consensus_at"), Now()),
                    )
                    changed += 1
    Dataset.objects.filter(pk=dataset.pk).update(agreement_alpha=alpha)
    if changed:
        audit_log_record(
            action="dataset.consensus_refreshed", target=dataset, data={"changed": changed}
        )
    return {"changed": changed, "alpha": alpha}


def datasets_consensus_refresh_all() -> int:
    done = 0
    for dataset_id in Dataset.objects.filter(labels_count__gt=0).values_list("pk", flat=True):
        dataset_consensus_refresh(dataset_id=dataset_id)
        done += 1
    return done
