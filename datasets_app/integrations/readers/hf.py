"""Reading through Hugging Face ``datasets``' streaming builders, in a private workspace."""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
import weakref
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, Final

from datasets_app.integrations.readers.base import _HF_BATCH_ROWS, ReaderError

# The name the input is linked under, per builder: an extension `datasets` knows, so it never
# sniffs for a compression magic number and unpacks the file on the fly (a gzip bomb, say).
_HF_LINK_NAMES: Final = {"csv": "upload.csv", "text": "upload.txt", "parquet": "upload.parquet"}


@contextlib.contextmanager
def _hf_workspace(path: Path, builder: str) -> Iterator[tuple[Path, Path]]:
    """A private temp dir for the builder's cache and lock files (never ~/.cache), and a safe
    name for the input: `data_files` are glob patterns, so a path holding '[' or '*' would
    silently match nothing."""
    with tempfile.TemporaryDirectory(prefix="databounty-reader-") as tmp:
        link = Path(tmp) / _HF_LINK_NAMES[builder]
        try:
            link.symlink_to(path.resolve())
        except OSError:  # pragma: no cover - filesystems without symlinks
            shutil.copyfile(path, link)
        yield link, Path(tmp) / "hf-cache"


def _hf_tables(builder: str, path: Path, *, label: str, **config: Any) -> Iterator[Any]:
    """Arrow tables of ``_HF_BATCH_ROWS`` rows from a streaming ``datasets`` builder; failures of
    the reading itself become ``ReaderError``."""
    import datasets

    with _hf_workspace(path, builder) as (link, cache_dir):
        try:
            dataset = datasets.load_dataset(
                builder,
                data_files=str(link),
                split="train",
                streaming=True,
                cache_dir=str(cache_dir),
                **config,
            )
            tables = dataset.with_format("arrow").iter(batch_size=_HF_BATCH_ROWS)
        except Exception as exc:
            raise _read_failure(exc, label=label, link=link) from exc
        _OPEN_READERS.add(tables)
        try:
            while True:
                try:
                    table = next(tables)
                except StopIteration:
                    return
                except Exception as exc:  # pandas, Arrow and datasets each raise their own types
                    raise _read_failure(exc, label=label, link=link) from exc
                yield table
        finally:
            # A caller that stops early closes us; close the reader now too, while pyarrow is
            # still whole (left to interpreter shutdown, Arrow's scanner threads can hang it).
            tables.close()


# Readers a caller left open. Closing them before the interpreter tears modules down avoids a
# hang at exit (a suspended parquet scan finalised after pyarrow is half gone never returns).
_OPEN_READERS: weakref.WeakSet[Generator[Any, None, None]] = weakref.WeakSet()


@atexit.register
def _close_open_readers() -> None:
    for reader in list(_OPEN_READERS):
        with contextlib.suppress(Exception):
            reader.close()


def _read_failure(exc: Exception, *, label: str, link: Path) -> ReaderError:
    message = str(exc).replace(str(link), "the file").strip()
    message = message.removeprefix("Error tokenizing data. C error: ").split("\n")[0]
    if type(exc).__name__ == "EmptyDataError":
        return ReaderError("The file is empty.", code="empty_file")
    return ReaderError(f"The file could not be read as {label}: {message}", code="corrupt_file")
