"""A contribution's validation report: why rows were rejected (counted by reason), the first
rejected rows with their content (personal data redacted), personal data found, rows flagged or
scored down, and the distribution of the accepted rows' scores. A shard keeps its part as state
on the contribution; the last shard merges them."""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from datasets_app.integrations.readers.base import RowResult
from datasets_app.quality.pii import PiiKind, find_pii, redact
from datasets_app.services.row_quality import Verdict

REPORT_EXAMPLES = 20  # the rejected rows with the lowest row numbers
EXAMPLE_CHARS = 200  # of a rejected row's content shown beside its reasons
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# A row's score is kept to the thousandth (row_quality rounds it so): counting accepted rows per
# thousandth gives an exact histogram, minimum, median and mean in at most 1,001 counters, which
# a shard keeps in its state and the last shard adds up, with no query over the items.
SCORE_BUCKETS = 10
PERSONAL_DATA_SAMPLES = 10  # row numbers kept per kind of personal data
_PERSONAL_DATA = re.compile(
    r"^(?P<where>.*) contains personal data \((?P<kind>"
    + "|".join(re.escape(kind.value) for kind in PiiKind)
    + r")\)$"
)


def score_distribution(scores: Mapping[int, int]) -> dict[str, Any]:
    """Accepted rows per score bucket, with min, median, max and mean, from ``scores``: rows
    per score in thousandths. Buckets are [0, 0.1), [0.1, 0.2), … [0.9, 1.0]."""
    rows = sum(scores.values())
    buckets = [0] * SCORE_BUCKETS
    for milli, count in scores.items():
        buckets[max(0, min(SCORE_BUCKETS - 1, milli * SCORE_BUCKETS // 1000))] += count
    summary: dict[str, float | None] = dict.fromkeys(("min", "median", "max", "mean"))
    if rows:
        values = sorted(scores.items())

        def nth(position: int) -> int:  # the score of the row at 0-based ``position``
            seen = 0
            for milli, count in values:
                seen += count
                if position < seen:
                    return milli
            raise IndexError(position)

        summary = {
            "min": values[0][0] / 1000,
            "median": (nth((rows - 1) // 2) + nth(rows // 2)) / 2000,
            "max": values[-1][0] / 1000,
            "mean": round(sum(milli * count for milli, count in values) / rows / 1000, 4),
        }
    return {
        "rows": rows,
        **summary,
        "buckets": [
            {"low": n / SCORE_BUCKETS, "high": (n + 1) / SCORE_BUCKETS, "rows": count}
            for n, count in enumerate(buckets)
        ],
    }


def _excerpt(content: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a report shows of a rejected row: ``excerpt``, its cells as ``name: value`` cut to
    EXAMPLE_CHARS, and ``redacted`` when personal data in it was replaced by its kind
    (``[EMAIL]``): the report never echoes personal data back, whether or not that is why the
    row was rejected. Redaction runs before any cut, so a cut cannot hide a hit from it."""
    if not content:
        return {}
    parts: list[str] = []
    redacted = False
    for name, value in content.items():
        if isinstance(value, dict):  # an image: its name in the ZIP
            value = value.get("file_name") or value.get("path") or "image"
        text = value if isinstance(value, str) else json.dumps(value)
        text = _CONTROL.sub(" ", text[: EXAMPLE_CHARS * 4]).encode("utf-8", "replace").decode()
        if hits := find_pii(text):
            text, redacted = redact(text, hits), True
        parts.append(f"{name}: {text}")
    excerpt = " · ".join(parts)
    if len(excerpt) > EXAMPLE_CHARS:
        excerpt = excerpt[: EXAMPLE_CHARS - 1].rstrip() + "…"
    return {"excerpt": excerpt, "redacted": redacted}


class Report:
    def __init__(self) -> None:
        self.reasons: Counter[str] = Counter()
        self.examples: list[dict[str, Any]] = []
        self.score_sum = 0.0  # quality scores of the accepted rows
        self.scores: Counter[int] = Counter()  # accepted rows per score, in thousandths
        self.flagged = 0  # accepted rows carrying flags (personal data under a flag policy)
        self.scored_down = (
            0  # accepted rows scored down for being just under the near-dup threshold
        )
        # "rejected" or "flagged" -> kind of personal data -> rows and their first row numbers
        self.personal_data: dict[str, dict[str, dict[str, Any]]] = {}

    def _personal(self, action: str, kind: str, row_number: int) -> None:
        entry = self.personal_data.setdefault(action, {}).setdefault(
            kind, {"rows": 0, "sample_rows": []}
        )
        entry["rows"] += 1
        if len(entry["sample_rows"]) < PERSONAL_DATA_SAMPLES:
            entry["sample_rows"].append(row_number)

    def reject(self, row: RowResult, errors: list[str]) -> None:
        row_number = row.row_number
        kinds: set[str] = set()
        named: list[str] = []
        for error in errors:
            if found := _PERSONAL_DATA.match(error):
                # The kind stays in the reason, as people name it: "… personal data (IBAN)".
                kinds.add(found["kind"])
                error = f"{found['where']} contains personal data ({PiiKind(found['kind']).label})"
                reason = error
            else:
                # "column 'age' expected int64, got 'abc'" counts under "column 'age' expected
                # int64", "near-duplicate of row 3 in this file" under "… in this file".
                reason = error.split(", got")[0].split(" (")[0]
            if reason.startswith("near-duplicate of row "):
                reason = "near-duplicate of an earlier row in this file"
            self.reasons[reason] += 1
            named.append(error)
        for kind in sorted(kinds):  # a row counts once per kind, in however many columns
            self._personal("rejected", kind, row_number)
        # Keep the first REPORT_EXAMPLES rejected rows by number, whatever order they come in.
        if len(self.examples) < REPORT_EXAMPLES or row_number < self.examples[-1]["row"]:
            example = {"row": row_number, "errors": named, **_excerpt(row.data or row.raw)}
            bisect.insort(self.examples, example, key=lambda e: e["row"])
            del self.examples[REPORT_EXAMPLES:]

    def accept(self, rows: list[Any], verdicts: list[Verdict]) -> None:
        """Count the rows that became items (``verdicts`` in the same order)."""
        self.score_sum += sum(v.score for v in verdicts)
        self.scores.update(round(v.score * 1000) for v in verdicts)
        for row, verdict in zip(rows, verdicts, strict=True):
            if verdict.flags:
                self.flagged += 1
                for flag in verdict.flags:
                    if flag.startswith("pii:"):
                        self._personal("flagged", flag.removeprefix("pii:"), row.row_number)

    def _personal_data_json(self, actions: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {
                "kind": kind,
                "name": PiiKind(kind).label,
                "action": action,
                "rows": entry["rows"],
                "sample_rows": entry["sample_rows"],
            }
            for action in actions
            for kind, entry in sorted(
                self.personal_data.get(action, {}).items(),
                key=lambda item: (-item[1]["rows"], item[0]),
            )
        ]

    def as_json(self, **extra: Any) -> dict[str, Any]:
        kept = "error" not in extra  # a report with an error kept none of the file's rows
        return {
            "reasons": dict(self.reasons.most_common(50)),
            "examples": self.examples,
            "flagged": self.flagged if kept else 0,
            "scored_down": self.scored_down if kept else 0,
            "personal_data": self._personal_data_json(
                ("rejected", "flagged") if kept else ("rejected",)
            ),
            "score_distribution": score_distribution(self.scores if kept else {}),
            **extra,
        }

    def as_state(self) -> dict[str, Any]:
        """What a shard keeps on the contribution until the last shard merges them all."""
        return {
            "reasons": dict(self.reasons),
            "examples": self.examples,
            "flagged": self.flagged,
            "scored_down": self.scored_down,
            "score_sum": self.score_sum,
            "scores": {str(milli): count for milli, count in self.scores.items()},
            "personal_data": self.personal_data,
        }

    @classmethod
    def merged(cls, states: list[dict[str, Any]]) -> Report:
        report = cls()
        for state in states:
            report.reasons.update(state["reasons"])
            report.examples += state["examples"]
            report.flagged += state["flagged"]
            report.scored_down += state.get("scored_down", 0)
            report.score_sum += state["score_sum"]
            report.scores.update({int(milli): n for milli, n in state.get("scores", {}).items()})
            for action, kinds in state.get("personal_data", {}).items():
                for kind, entry in kinds.items():
                    merged = report.personal_data.setdefault(action, {}).setdefault(
                        kind, {"rows": 0, "sample_rows": []}
                    )
                    merged["rows"] += entry["rows"]
                    merged["sample_rows"] = sorted(merged["sample_rows"] + entry["sample_rows"])[
                        :PERSONAL_DATA_SAMPLES
                    ]
        report.examples = sorted(report.examples, key=lambda e: e["row"])[:REPORT_EXAMPLES]
        return report
