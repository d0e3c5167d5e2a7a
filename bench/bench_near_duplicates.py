"""Near-duplicate recall and precision through the real validation path, at three thresholds.

    .venv/bin/python -m bench.bench_near_duplicates [--bases 2000] [--planted 400]
        [--thresholds 0.5 0.7 0.9] [--seed 11] [--keep-db]

For each threshold t, in its own database (bench_near_duplicates, recreated, dropped unless
--keep-db): a dataset at t (``dataset_create``), and a CSV of --bases rows of 20-40 words of
English-like text (common English words drawn with Zipf frequencies, so unrelated rows share
pairs like "of the" as real text does) submitted with ``contribution_submit`` and validated by
``contribution_validate``, the service the Celery task calls. Then a second CSV of planted rows,
each made from a different base row by substituting, inserting, appending, deleting or swapping
words:

  positives  --planted copies whose exact word-bigram Jaccard with their base is in [t, t + 0.15]
             (spread evenly over it): each must be rejected as a near-duplicate
  negatives  --planted copies with Jaccard in [t - 0.2, t): each must be accepted
  unrelated  --planted / 2 new rows: each must be accepted

The ground truth is computed here, independently of the app (regex words, case-folded bigrams).
recall = positives rejected as near-duplicates / positives; precision = near-duplicate
rejections of positives / all near-duplicate rejections. The same planted file is also
validated in a fresh dataset at t holding none of the base rows, where the near-duplicate check
has nothing to match (the baseline): the table shows the planted file's validation time beside
it, and the ratio. Also prints each threshold's band layout and its candidate probability at t.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.scratch_db import django_on, scratch_database

if TYPE_CHECKING:
    from datasets_app.models import Dataset
    from marketplace.core.models import User

DB_NAME = "bench_near_duplicates"
NEAR = "near-duplicate"

# The most frequent English words first (Zipf weights follow the order), then everyday content
# words: rows read like shuffled reviews and share common pairs the way real rows do.
WORDS = """the of and to a in is it you that he was for on are with as i his they be at one have
this from or had by not word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so these
her long make thing see him two has look more day could go come did number sound no most people
my over know water than call first who may down side been now find any new work part take get
place made live where after back little only round man year came show every good me give our
under name very through just form sentence great think say help low line differ turn cause much
mean before move right boy old too same tell does set three want air well also play small end
put home read hand port large spell add even land here must big high such follow act why ask
men change went light kind off need house picture try us again animal point mother world near
build self earth father head stand own page should country found answer school grow study still
learn plant cover food sun four between state keep eye never last let thought city tree cross
farm hard start might story saw far sea draw left late run while press close night real life
few north open seem together next white children begin got walk example ease paper group always
music those both mark often letter until mile river car feet care second book carry took science
eat room friend began idea fish mountain stop once base hear horse cut sure watch color face
wood main enough plain girl usual young ready above ever red list though feel talk bird soon
body dog family direct pose leave song measure door product black short numeral class wind
question happen complete ship area half rock order fire south problem piece told knew pass since
top whole king space heard best hour better true during hundred five remember step early hold
west ground interest reach fast verb sing listen six table travel less morning ten simple
several vowel toward war lay against pattern slow center love person money serve appear road
map rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark
machine note wait plan figure star box noun field rest correct able pound done beauty drive
stood contain front teach week final gave green oh quick develop ocean warm free minute strong
special mind behind clear tail produce fact street inch multiply nothing course stay wheel full
force blue object decide surface deep moon island foot system busy test record boat common gold
possible plane stead dry wonder laugh thousand ago ran check game shape equate hot miss brought
heat snow tire bring yes distant fill east paint language among battery strap screen cable lid
motor lens zip seal blender kettle charger refund delivery parcel courier warranty""".split()  # noqa: SIM905


@dataclass
class Planted:
    positives: list[tuple[str, float]] = field(default_factory=list)  # (text, Jaccard)
    negatives: list[tuple[str, float]] = field(default_factory=list)
    unrelated: list[str] = field(default_factory=list)


def bigrams(text: str) -> set[tuple[str, str]]:
    """The ground truth, independent of the app: word bigrams of the case-folded text."""
    words = re.findall(r"\w+", text.casefold())
    return set(itertools.pairwise(words))


def jaccard(a: str, b: str) -> float:
    x, y = bigrams(a), bigrams(b)
    return len(x & y) / len(x | y)


class Writer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - benchmark data
        self.weights = [1 / (rank + 1) ** 0.9 for rank in range(len(WORDS))]

    def words(self, count: int) -> list[str]:
        return self.rng.choices(WORDS, self.weights, k=count)

    def row(self) -> str:
        words = self.words(self.rng.randint(20, 40))
        words[0] = words[0].capitalize()
        return " ".join(words) + "."

    def copy(self, text: str, low: float, high: float) -> tuple[str, float] | None:
        """An edited copy of ``text`` with low <= Jaccard < high (high inclusive when it is 1):
        random edits one at a time until the similarity falls into the range, starting over when
        it jumps past it; None if that keeps missing."""
        base = text.rstrip(".").split()
        for _ in range(50):
            words = list(base)
            while True:
                at = self.rng.randrange(1, len(words))
                operation = self.rng.choice(["substitute", "insert", "append", "delete", "swap"])
                if operation == "substitute":
                    words[at] = self.words(1)[0]
                elif operation == "insert":
                    words.insert(at, self.words(1)[0])
                elif operation == "append":
                    words.append(self.words(1)[0])
                elif operation == "delete" and len(words) > 5:
                    del words[at]
                elif at + 1 < len(words):
                    words[at], words[at + 1] = words[at + 1], words[at]
                copy = " ".join(words) + "."
                similarity = jaccard(text, copy)
                if similarity < low:
                    break
                if copy != text and (similarity < high or high >= 1.0):
                    return copy, similarity
        return None

    def plant(self, bases: list[str], threshold: float, count: int) -> Planted:
        """Copies of distinct base rows (a copy never meets another copy's base)."""
        planted = Planted()
        sources = iter(self.rng.sample(bases, len(bases)))
        width = 0.15
        while len(planted.positives) < count:
            # Evenly over [t, t + 0.15]: aim at a random 0.03-wide slice of it.
            low = min(threshold + self.rng.random() * (width - 0.03), 1.0)
            made = self.copy(next(sources), low, min(low + 0.03, 1.0))
            if made is not None:
                planted.positives.append(made)
        while len(planted.negatives) < count:
            low = threshold - 0.2 + self.rng.random() * 0.17
            made = self.copy(next(sources), low, min(low + 0.03, threshold))
            if made is not None:
                planted.negatives.append(made)
        planted.unrelated = [self.row() for _ in range(count // 2)]
        return planted


def csv_bytes(texts: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["text"])
    writer.writerows([text] for text in texts)
    return out.getvalue().encode()


def configure(media: Path) -> None:
    # Validation is called here, timed; the task contribution_submit enqueues goes nowhere.
    django_on(DB_NAME, DJANGO_MEDIA_ROOT=str(media), UPLOAD_TMP_DIR=str(media / "uploads"))


def validate(dataset: Dataset, user: User, texts: list[str]) -> tuple[float, dict[str, str]]:
    """Seconds ``contribution_validate`` took, and each rejected text's first problem."""
    from django.core.files.base import ContentFile

    from datasets_app.models import Contribution, Item
    from datasets_app.services import contribution_submit, contribution_validate

    content = csv_bytes(texts)
    contribution = contribution_submit(
        dataset=dataset,
        contributor=user,
        file=ContentFile(content, name="rows.csv"),
        filename="rows.csv",
        size=len(content),
    )
    started = time.perf_counter()
    contribution_validate(contribution_id=contribution.pk)
    seconds = time.perf_counter() - started
    contribution = Contribution.objects.get(pk=contribution.pk)
    assert contribution.status in ("accepted", "partially_accepted"), contribution.report
    accepted = set(
        Item.objects.filter(contribution=contribution).values_list("data__text", flat=True)
    )
    # The report keeps 20 examples; every other rejected row is known by elimination, and
    # the reasons' counts say what they were rejected for.
    reasons = contribution.report["reasons"]
    rejected = {text: "" for text in texts if text not in accepted}
    other = sum(n for reason, n in reasons.items() if not reason.startswith(NEAR))
    if other:
        print(f"  (rows rejected for other reasons: {other}: {reasons})")
    for text in rejected:
        rejected[text] = NEAR if not other else "?"
    return seconds, rejected


def one_threshold(threshold: float, writer: Writer, bases: int, count: int) -> dict[str, float]:
    from datasets_app.quality.near_duplicates import candidate_probability, lsh_layout
    from datasets_app.services import dataset_create
    from marketplace.core.models import User

    owner = User.objects.create_user("0x" + writer.rng.randbytes(20).hex())
    uploader = User.objects.create_user("0x" + writer.rng.randbytes(20).hex())

    def new_dataset(title: str) -> Dataset:
        return dataset_create(
            owner=owner, title=title, description="Reviews.", modality="text",
            columns=[{"name": "text", "dtype": "string"}], label_task="single_label",
            label_classes=["negative", "positive"], status="open",
            near_duplicate_threshold=threshold,
        )  # fmt: skip

    dataset = new_dataset(f"Reviews at {threshold}")
    base_rows = [writer.row() for _ in range(bases)]
    base_seconds, base_rejected = validate(dataset, uploader, base_rows)
    kept = [text for text in base_rows if text not in base_rejected]
    planted = writer.plant(kept, threshold, count)
    texts = [t for t, _ in planted.positives] + [t for t, _ in planted.negatives]
    texts += planted.unrelated
    writer.rng.shuffle(texts)
    seconds, rejected = validate(dataset, uploader, texts)
    baseline_seconds, baseline_rejected = validate(new_dataset(f"Empty at {threshold}"), uploader,
                                                   texts)  # fmt: skip

    near = {text for text, reason in rejected.items() if reason == NEAR}
    found = sum(text in near for text, _ in planted.positives)
    false = sum(text in near for text, _ in planted.negatives)
    false += sum(text in near for text in planted.unrelated)
    bands, rows = lsh_layout(threshold)
    low = min(j for _, j in planted.positives)
    high = max(j for _, j in planted.positives)
    return {
        "threshold": threshold,
        "bands": bands,
        "rows": rows,
        "p_candidate": candidate_probability(threshold, bands, rows),
        "base_rows": len(kept),
        "base_rejected": len(base_rejected),
        "base_seconds": base_seconds,
        "positives": len(planted.positives),
        "positive_low": low,
        "positive_high": high,
        "negatives": len(planted.negatives),
        "negative_low": min(j for _, j in planted.negatives),
        "unrelated": len(planted.unrelated),
        "rejected": len(near),
        "found": found,
        "false": false,
        "recall": found / len(planted.positives),
        "precision": found / len(near) if near else 1.0,
        "seconds": seconds,
        "baseline_seconds": baseline_seconds,
        "baseline_rejected": len(baseline_rejected),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--bases", type=int, default=2000, help="base rows per dataset")
    parser.add_argument("--planted", type=int, default=400, help="positives (and negatives)")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.7, 0.9])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} for a look")
    args = parser.parse_args()
    if 2 * args.planted > args.bases:
        parser.error("each planted copy needs its own base row: --bases >= 2 x --planted")

    started = time.perf_counter()
    results = []
    with scratch_database(DB_NAME, keep=args.keep_db), tempfile.TemporaryDirectory() as tmp:
        configure(Path(tmp) / "media")
        for threshold in args.thresholds:
            writer = Writer(args.seed + round(threshold * 100))
            results.append(one_threshold(threshold, writer, args.bases, args.planted))

    print(
        f"\nnear-duplicates through contribution_validate: {args.bases} base rows of 20-40 "
        f"words per dataset, then a file of planted copies of distinct base rows"
    )
    header = (
        f"{'t':>5} {'layout':>8} {'P(cand)':>8} {'positives (J range)':>22} "
        f"{'negatives (J from)':>19} {'unrel':>6} {'rejected':>9} {'true':>5} {'false':>6} "
        f"{'recall':>7} {'precision':>10} {'check s':>8} {'no-match s':>11} {'ratio':>6}"
    )
    print(header)
    ok = True
    for r in results:
        print(
            f"{r['threshold']:>5.2f} {r['bands']:>4.0f}x{r['rows']:<3.0f} {r['p_candidate']:>8.4f} "
            f"{r['positives']:>6.0f} ({r['positive_low']:.2f}-{r['positive_high']:.2f})     "
            f"{r['negatives']:>6.0f} (>= {r['negative_low']:.2f})   {r['unrelated']:>6.0f} "
            f"{r['rejected']:>9.0f} {r['found']:>5.0f} {r['false']:>6.0f} {r['recall']:>7.3f} "
            f"{r['precision']:>10.3f} {r['seconds']:>8.2f} {r['baseline_seconds']:>11.2f} "
            f"{r['seconds'] / r['baseline_seconds']:>6.2f}"
        )
        ok &= r["recall"] >= 0.95 and r["precision"] >= 0.95 and r["baseline_rejected"] == 0
    print(
        "\ncheck s: validation of the planted file against the base rows; no-match s: the same "
        "file in an empty dataset at the same threshold (nothing to match); base rows: "
        + ", ".join(
            f"{r['base_rows']:.0f} kept in {r['base_seconds']:.2f} s at {r['threshold']:.2f}"
            f" ({r['base_rejected']:.0f} rejected)"
            for r in results
        )
    )
    print(f"{'PASS' if ok else 'FAIL'}  recall >= 0.95 and precision >= 0.95 at every threshold")
    print(f"run took {time.perf_counter() - started:.0f} s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
