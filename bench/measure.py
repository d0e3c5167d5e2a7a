"""What the benchmarks share: their command line, timing a callable, percentiles of the times,
and the open dataset and accepted contribution rows they seed (Django set up first:
``bench.scratch_db.django_on``)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any


def options(doc: str | None, **defaults: float) -> argparse.ArgumentParser:
    """A benchmark's command line, described by the first line of ``doc``: an option
    ``--some-name`` of the default's type for each ``some_name=default`` (add any other option
    to the parser before parsing)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    for name, default in defaults.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    return parser


def timed(
    work: Callable[[], object], repeat: int, *, warmup: int = 0, cpu: list[float] | None = None
) -> list[float]:
    """Seconds each of ``repeat`` calls of ``work`` took, after ``warmup`` untimed ones; with a
    ``cpu`` list, this process's CPU seconds of each call are added to it (steadier on a loaded
    machine)."""
    for _ in range(warmup):
        work()
    seconds = []
    for _ in range(repeat):
        began_cpu = time.process_time()
        began = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - began)
        if cpu is not None:
            cpu.append(time.process_time() - began_cpu)
    return seconds


def percentile(values: list[float], share: float) -> float:
    """The value ``share`` of the way through the sorted ``values`` (0.5: the median)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def accepted_contribution(n: int, **fields: Any) -> Any:
    """An unsaved accepted CSV contribution for ``bulk_create``, its hash unique by ``n``;
    ``fields`` give its dataset and contributor and override any other column."""
    from datasets_app.models import Contribution

    return Contribution(
        **{
            "file": "contributions/bench.csv",
            "original_name": f"rows-{n}.csv",
            "file_format": "csv",
            "size_bytes": 100,
            "sha256": f"{n:064x}",
            "status": "accepted",
            **fields,
        }
    )


def open_dataset(**fields: Any) -> Any:
    """An unsaved open dataset of one text column labelled with one of three sentiments;
    ``fields`` give its owner, title and slug and override any other column."""
    from datasets_app.models import Dataset

    return Dataset(
        **{
            "modality": "text",
            "columns": [{"name": "text", "dtype": "string"}],
            "label_task": "single_label",
            "label_classes": ["negative", "neutral", "positive"],
            "status": "open",
            **fields,
        }
    )
