"""The label lines of a reward epoch: who agreed with consensus, and what each label is worth.

Class labels agree or not (``Label.value`` equals the consensus, free text as normalised); span
and box labels are worth their F1 against the consensus (``Label.score``), so an item counts
fully only when the label matches the consensus. Either way a labeler's line is weighted by their
pay weight (``label_weight_micro``). All weights are integer millionths: no float reaches money.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from datasets_app.enums import ANNOTATION_TASKS, LabelTask
from datasets_app.models import Dataset, LabelerCredibility
from datasets_app.quality.consensus import normalise_text
from payments.enums import RewardLineKind
from payments.models import Reward, RewardLine

MICRO = 1_000_000
DEFAULT_CREDIBILITY = 0.7  # LabelerCredibility's default, for a labeler without a row yet
# Gold accuracy is smoothed towards the default credibility with the weight of this many answers,
# so one unlucky gold item does not wipe out an honest labeler's epoch.
GOLD_PRIOR_ANSWERS = 4
CHANCE_FREE = (LabelTask.FREE_TEXT, *ANNOTATION_TASKS)


@dataclass
class Line:
    user_id: int
    kind: str
    contribution_id: int | None
    units: int
    weighted_micro: int
    weight: float | None  # labels: the pay weight used (label_weight_micro / MICRO)
    # Span/box labels: the sum of their F1 against consensus, in millionths (units counts them).
    f1_micro: int | None = None
    demand: int = 0
    amount: int = 0


def label_weight_micro(credibility: float, n_classes: int) -> int:
    """A labeler's pay weight in millionths: accuracy above chance, rescaled to 0..1, squared.
    ``n_classes`` 0 means free text, where chance agreement is taken as nil.

    Squared because what a label tells about the true class grows with the square of the skill
    above chance (the information in a K-ary symmetric channel is ~ (a - 1/K)^2 near chance): a
    labeler barely above chance adds almost nothing to consensus, and a crowd of them (or of
    accounts copying one another) should earn close to nothing, not a third of a good label.
    """
    chance = 1 / n_classes if n_classes > 1 else 0.0
    weight = min(1.0, max(0.0, (credibility - chance) / (1 - chance)))
    return round(weight * weight * MICRO)


def label_accuracy(credibility: float, *, gold_correct: float, gold_total: int) -> float:
    """The accuracy a labeler is paid on: credibility (an EMA of agreement with consensus and
    gold), capped by their smoothed gold accuracy once they have answered gold items. A ring of
    accounts that copy one another agrees with the consensus it decides itself; it cannot agree
    with gold answers it does not know."""
    if gold_total <= 0:
        return credibility
    gold = (DEFAULT_CREDIBILITY * GOLD_PRIOR_ANSWERS + gold_correct) / (
        GOLD_PRIOR_ANSWERS + gold_total
    )
    return min(credibility, gold)


# The labels an epoch pays for: of active people, not rejected, on visible non-gold items
# decided in [start, end) of one dataset (parameters: dataset id, start, end).
_DECIDED_LABELS = """
      FROM datasets_app_label l
      JOIN datasets_app_item i ON i.id = l.item_id
      JOIN core_user u ON u.id = l.labeler_id AND u.is_active
     WHERE i.dataset_id = %s AND i.consensus_at >= %s AND i.consensus_at < %s
       AND NOT l.is_rejected AND NOT i.is_hidden AND NOT i.is_gold
"""


def _agreeing_labels(dataset: Dataset, start: datetime, end: datetime) -> dict[int, int]:
    """labeler -> labels agreeing with the consensus of items decided in [start, end)."""
    params: list[Any] = [dataset.pk, start, end]
    with connection.cursor() as cursor:
        if dataset.label_task != LabelTask.FREE_TEXT:
            # Stored labels are canonical (multi-label lists in class order), so jsonb equality
            # is agreement.
            cursor.execute(
                "SELECT l.labeler_id, count(*) "
                + _DECIDED_LABELS
                + " AND l.value = i.consensus_label GROUP BY l.labeler_id",
                params,
            )
            return dict(cursor.fetchall())
        cursor.execute(
            "SELECT l.labeler_id, l.value #>> '{}', i.consensus_label #>> '{}' " + _DECIDED_LABELS,
            params,
        )
        counts: dict[int, int] = defaultdict(int)
        for labeler, value, decided in cursor.fetchall():
            if normalise_text(value or "") == normalise_text(decided or ""):
                counts[labeler] += 1
        return dict(counts)


def _agreeing_f1(
    dataset_id: int, start: datetime, end: datetime
) -> dict[int, tuple[int, int | None]]:
    """Span/box datasets: labeler -> (labels with some agreement, sum of their F1 against the
    consensus in millionths), over items decided in [start, end). ``Label.score`` is that F1,
    set when the item was decided."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.labeler_id, count(*),"
            " sum(round(greatest(least(l.score, 1), 0) * %s))::bigint"
            + _DECIDED_LABELS
            + " AND l.score > 0 GROUP BY l.labeler_id",
            [MICRO, dataset_id, start, end],
        )
        return {labeler: (count, f1) for labeler, count, f1 in cursor.fetchall()}


def label_lines(dataset: Dataset, start: datetime, end: datetime) -> list[Line]:
    """One line per labeler: agreeing labels of the items decided in [start, end), each worth
    the labeler's pay weight; for spans and boxes each also weighted by its F1 against the
    consensus (an item with some agreement counts its F1, not 1)."""
    annotation = dataset.label_task in ANNOTATION_TASKS
    agreeing: dict[int, tuple[int, int | None]] = (
        _agreeing_f1(dataset.pk, start, end)
        if annotation
        else {user: (units, None) for user, units in _agreeing_labels(dataset, start, end).items()}
    )
    accuracy = {
        user_id: label_accuracy(credibility, gold_correct=gold_correct, gold_total=gold_total)
        for user_id, credibility, gold_correct, gold_total in LabelerCredibility.objects.filter(
            user_id__in=agreeing
        ).values_list("user_id", "credibility", "gold_correct", "gold_total")
    }
    # Free text, spans and boxes: agreeing by chance is taken as nil.
    n_classes = 0 if dataset.label_task in CHANCE_FREE else len(dataset.label_classes)
    lines = []
    for user_id, (units, f1_micro) in agreeing.items():
        weight = label_weight_micro(accuracy.get(user_id, DEFAULT_CREDIBILITY), n_classes)
        worth = units * weight if f1_micro is None else f1_micro * weight // MICRO
        lines.append(
            Line(user_id, RewardLineKind.LABELS, None, units, worth, weight / MICRO, f1_micro)
        )
    return lines


def label_basis(bounty_rate: str, line: Line) -> dict[str, Any]:
    """The receipt's account of a labeler's line."""
    basis: dict[str, Any] = {
        "rate": bounty_rate,
        "agreeing_labels": line.units,
        "credibility_weight": line.weight,
        "weighted_labels": line.weighted_micro / MICRO,
        "demand": str(line.demand),
        "amount": str(line.amount),
    }
    if line.f1_micro is not None:
        equivalents = line.f1_micro / MICRO
        basis["f1_weighted_items"] = equivalents
        basis["weighting"] = (
            f"weighted by F1 against consensus: {equivalents:.1f} agreeing-item equivalents "
            f"from {line.units} items with some agreement"
        )
    return basis


def reward_lines_create(lines: Iterable[tuple[Reward, Line]]) -> None:
    """Store each reward's lines (bounty epochs and sales alike), in bulk: an epoch writes them
    by the thousand."""
    RewardLine.objects.bulk_create(
        (
            RewardLine(
                reward=reward,
                kind=line.kind,
                contribution_id=line.contribution_id,
                units=line.units,
                weighted_micro=line.weighted_micro,
                demand=line.demand,
                amount=line.amount,
            )
            for reward, line in lines
        ),
        batch_size=5_000,
    )
