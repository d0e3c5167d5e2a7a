"""The upload readers on real files: typing, row errors, whole-file errors, ZIPs of images,
format detection, batching, and memory on a large CSV. No database needed."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import stat
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pytest

from datasets_app.integrations import images
from datasets_app.integrations.readers import (
    ColumnSpec,
    ReaderError,
    RowResult,
    content_hash,
    detect_format,
    features_for,
    read_rows,
    zip_images,
)
from tests.datasets_app.conftest import UploadFiles

ROOT = Path(__file__).resolve().parents[2]

PEOPLE: list[ColumnSpec] = [
    {"name": "name", "dtype": "string"},
    {"name": "age", "dtype": "int64"},
    {"name": "score", "dtype": "float64"},
    {"name": "active", "dtype": "bool"},
]
PICTURES: list[ColumnSpec] = [
    {"name": "image", "dtype": "image"},
    {"name": "label", "dtype": "string"},
    {"name": "quality", "dtype": "int64"},
]


def read_all(
    path: Path, file_format: str, columns: list[ColumnSpec], **kwargs: Any
) -> list[RowResult]:
    return [
        row
        for batch in read_rows(path, file_format=file_format, columns=columns, **kwargs)
        for row in batch.rows
    ]


def zip_refusal(path: Path, *, match: str) -> str:
    """The code of the ``ReaderError`` reading the ZIP at ``path`` raises (matching ``match``)."""
    with pytest.raises(ReaderError, match=match) as caught:
        read_rows(path, file_format="zip", columns=PICTURES)
    return caught.value.code


def two_image_zip(upload_files: UploadFiles, name: str) -> Path:
    """A ZIP of two images and a metadata.csv naming the first."""
    return upload_files.image_zip(
        name,
        "file_name,label,quality\na.png,a,1\n",
        {"a.png": upload_files.image(), "b.png": upload_files.image()},
    )


def json_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


# --- typed rows ---------------------------------------------------------------------------------


def test_csv_rows_are_typed_per_column(upload_files: UploadFiles) -> None:
    path = upload_files.csv(
        "people.csv",
        ["active", "name", "age", "score"],  # any column order
        [["true", "Ada", "36", "0.5"], ["No", "Grace", " 85 ", "1e3"], ["1", "Zoë", "+7", "-0.25"]],
    )

    rows = read_all(path, "csv", PEOPLE)

    assert [row.data for row in rows] == [
        {"name": "Ada", "age": 36, "score": 0.5, "active": True},
        {"name": "Grace", "age": 85, "score": 1000.0, "active": False},
        {"name": "Zoë", "age": 7, "score": -0.25, "active": True},
    ]
    assert [row.row_number for row in rows] == [1, 2, 3]
    assert all(row.errors == [] and row.accepted for row in rows)
    assert [row.content_hash for row in rows] == [json_hash(row.data) for row in rows if row.data]
    assert type(rows[1].data and rows[1].data["score"]) is float


def test_tsv_rows_are_typed(upload_files: UploadFiles) -> None:
    path = upload_files.csv(
        "people.tsv",
        ["name", "age", "score", "active"],
        [["Ada, Countess", "36", "0.5", "false"]],
        delimiter="\t",
    )

    (row,) = read_all(path, "tsv", PEOPLE)

    assert row.data == {"name": "Ada, Countess", "age": 36, "score": 0.5, "active": False}


def test_jsonl_numbers_are_cast_from_their_literal_text(upload_files: UploadFiles) -> None:
    path = upload_files.jsonl(
        "people.jsonl",
        [
            {"name": "Ada", "age": 36, "score": 0.5, "active": True},
            {"name": "Bo", "age": "41", "score": 2, "active": "false"},
            {"name": "Cy", "age": 3.0, "score": 1.5, "active": False},
        ],
    )

    rows = read_all(path, "jsonl", PEOPLE)

    assert rows[0].data == {"name": "Ada", "age": 36, "score": 0.5, "active": True}
    assert rows[1].data == {"name": "Bo", "age": 41, "score": 2.0, "active": False}
    # 3.0 is not an int64 in JSON Lines, just as "3.0" is not one in a CSV.
    assert rows[2].errors == ["column 'age' expected int64, got '3.0'"]


def test_parquet_rows_are_typed(upload_files: UploadFiles) -> None:
    table = pa.table(
        {
            "name": pa.array(["Ada", "Bo", None], pa.string()),
            "age": pa.array([36, 41, 5], pa.int64()),
            "score": pa.array([0.5, float("nan"), 0.1], pa.float64()),
            "active": pa.array([True, False, True]),
        }
    )
    path = upload_files.parquet("people.parquet", table)

    rows = read_all(path, "parquet", PEOPLE)

    assert rows[0].data == {"name": "Ada", "age": 36, "score": 0.5, "active": True}
    assert rows[1].errors == ["column 'score' must be a finite float64, got 'nan'"]
    assert rows[2].errors == ["column 'name' is empty"]


def test_parquet_integral_doubles_fill_an_int64_column(upload_files: UploadFiles) -> None:
    """pandas stores an int column with gaps as float64; whole values are accepted."""
    path = upload_files.parquet(
        "ints.parquet",
        {"name": ["a", "b"], "age": [3.0, 3.5], "score": [1.0, 2.0], "active": [True, True]},
    )

    rows = read_all(path, "parquet", PEOPLE)

    assert rows[0].data == {"name": "a", "age": 3, "score": 1.0, "active": True}
    assert rows[1].errors == ["column 'age' expected int64, got '3.5'"]


def test_content_hash_is_the_same_from_every_format(upload_files: UploadFiles) -> None:
    records = [
        {"name": "Ada", "age": 36, "score": 0.1, "active": True},
        {"name": 'quote " and é', "age": -9223372036854775808, "score": 1e16, "active": False},
    ]
    header = ["name", "age", "score", "active"]
    as_text = [
        ["Ada", "36", "0.1", "true"],
        ['quote " and é', "-9223372036854775808", "1e16", "false"],
    ]
    paths = {
        "csv": upload_files.csv("same.csv", header, as_text),
        "tsv": upload_files.csv("same.tsv", header, as_text, delimiter="\t"),
        "jsonl": upload_files.jsonl("same.jsonl", records),
        "parquet": upload_files.parquet("same.parquet", pa.Table.from_pylist(records)),
    }

    hashes = {
        file_format: [row.content_hash for row in read_all(path, file_format, PEOPLE)]
        for file_format, path in paths.items()
    }

    expected = [json_hash(record) for record in records]
    assert hashes == {"csv": expected, "tsv": expected, "jsonl": expected, "parquet": expected}


TRICKY_TEXT = [
    'quote " backslash \\ percent %s %% tab\t',
    "ünïcödé ☃ 😀 \u2028",
    "\x01control",
    "</script>",
]
TRICKY_INTS = ["9223372036854775807", "-9223372036854775808", " 0 ", "+7", "007"]
TRICKY_FLOATS = ["1e16", "1e-7", "-0", "0.1", "123456789.123456789", "5e-324", ".5", "7."]
ODD_NAMES: list[ColumnSpec] = [
    {"name": 'we%ird "col"', "dtype": "string"},
    {"name": "Int", "dtype": "int64"},
    {"name": "float", "dtype": "float64"},
    {"name": "ß", "dtype": "bool"},
]


def tricky_rows() -> list[list[str]]:
    size = max(len(TRICKY_TEXT), len(TRICKY_INTS), len(TRICKY_FLOATS))
    return [
        [
            TRICKY_TEXT[index % len(TRICKY_TEXT)],
            TRICKY_INTS[index % len(TRICKY_INTS)],
            TRICKY_FLOATS[index % len(TRICKY_FLOATS)],
            ["True", "f", "YES", "0"][index % 4],
        ]
        for index in range(size)
    ]


def test_whole_column_and_cell_by_cell_checks_agree(upload_files: UploadFiles) -> None:
    """A clean column is cast in one go, a dirty one cell by cell: good cells come out the same,
    and the batch hashes equal content_hash() byte for byte."""
    header = [column["name"] for column in ODD_NAMES]
    good = tricky_rows()
    clean = upload_files.csv("clean.csv", header, good)
    dirty = upload_files.csv("dirty.csv", header, [*good, ["", "x", "nan", "maybe"]])

    clean_rows = read_all(clean, "csv", ODD_NAMES)
    dirty_rows = read_all(dirty, "csv", ODD_NAMES)

    assert all(row.accepted for row in clean_rows)
    assert [row.data for row in clean_rows] == [row.data for row in dirty_rows[:-1]]
    assert len(dirty_rows[-1].errors) == 4
    for row in clean_rows + dirty_rows[:-1]:
        assert row.data is not None
        assert row.content_hash == content_hash(row.data, ODD_NAMES) == json_hash(row.data)
    assert clean_rows[0].data == {
        'we%ird "col"': TRICKY_TEXT[0],
        "Int": 9223372036854775807,
        "float": 1e16,
        "ß": True,
    }


# --- row errors ----------------------------------------------------------------------------------

GOOD_VALUE = {"string": "ok", "int64": "5", "float64": "0.5", "bool": "true"}
NOT_PARSED = {"int64": ["abc", "1.5", "1_000"], "float64": ["abc", "1,5"]}


@pytest.mark.parametrize(
    ("dtype", "cell", "message"),
    [
        *(("string", cell, "column 'v' is empty") for cell in ["", "  \t "]),
        *(
            (dtype, cell, f"column 'v' expected {dtype}, got '{cell}'")
            for dtype, cells in NOT_PARSED.items()
            for cell in cells
        ),
        (
            "int64",
            "9223372036854775808",
            "column 'v' expected int64, got '9223372036854775808' (out of range)",
        ),
        ("int64", "9" * 5000, f"column 'v' expected int64, got '{'9' * 40}…' (out of range)"),
        *(
            ("float64", cell, f"column 'v' must be a finite float64, got '{cell}'")
            for cell in ["nan", "-Infinity", "1e999"]
        ),
        ("bool", "maybe", "column 'v' expected bool (true/false), got 'maybe'"),
        ("string", "x" * 100_001, "column 'v' is longer than 100,000 characters (100,001)"),
    ],
)
def test_each_bad_cell_is_a_row_error(
    upload_files: UploadFiles, dtype: str, cell: str, message: str
) -> None:
    columns: list[ColumnSpec] = [{"name": "id", "dtype": "int64"}, {"name": "v", "dtype": dtype}]
    path = upload_files.csv(
        "cells.csv", ["id", "v"], [["1", GOOD_VALUE[dtype]], ["2", cell], ["3", GOOD_VALUE[dtype]]]
    )

    rows = read_all(path, "csv", columns)

    assert [row.errors for row in rows] == [[], [message], []]
    assert rows[1].data is None and rows[1].content_hash is None
    assert rows[0].data == {"id": 1, "v": rows[2].data and rows[2].data["v"]}


def test_non_utf8_and_nul_cells_are_row_errors_not_crashes(upload_files: UploadFiles) -> None:
    path = upload_files.raw(
        "bytes.csv", b"name,age,score,active\ncaf\xe9,3,1,true\nx\x00y,4,1,true\nok,5,1,true\n"
    )

    rows = read_all(path, "csv", PEOPLE)

    assert [row.errors for row in rows] == [
        ["column 'name' is not valid UTF-8 text"],
        ["column 'name' contains a NUL character"],
        [],
    ]


def test_every_problem_of_a_row_is_listed(upload_files: UploadFiles) -> None:
    path = upload_files.csv(
        "many.csv", ["name", "age", "score", "active"], [[" ", "x", "inf", "?"]]
    )

    (row,) = read_all(path, "csv", PEOPLE)

    assert row.errors == [
        "column 'name' is empty",
        "column 'age' expected int64, got 'x'",
        "column 'score' must be a finite float64, got 'inf'",
        "column 'active' expected bool (true/false), got '?'",
    ]


def test_jsonl_row_problems_are_row_errors(upload_files: UploadFiles) -> None:
    lines = [
        '{"name": "a", "age": 1, "score": 1, "active": true}',
        '{"name": "b", "age": 2, "score": 2}',
        '{"name": "c", "age": 3, "score": 3, "active": false, "x": 1}',
        "{not json",
        "[1, 2]",
        '{"name": {"first": "d"}, "age": [4], "score": 4, "active": true}',
        "",
        '{"name": "e", "age": null, "score": NaN, "active": true}',
    ]
    path = upload_files.raw("rows.jsonl", "\n".join(lines) + "\n")

    rows = read_all(path, "jsonl", PEOPLE)

    assert [(row.row_number, row.errors) for row in rows] == [
        (1, []),
        (2, ["column 'active' is missing"]),
        (3, ["unexpected column(s) 'x'"]),
        (4, ["row is not valid JSON (Expecting property name enclosed in double quotes)"]),
        (5, ["row is not a JSON object"]),
        (
            6,
            [
                "column 'name' must be a single value, not a JSON object",
                "column 'age' must be a single value, not a JSON array",
            ],
        ),
        (7, ["column 'age' is empty", "column 'score' must be a finite float64, got 'NaN'"]),
    ]


# --- whole-file errors ---------------------------------------------------------------------------


def test_schema_mismatch_names_missing_and_unexpected_columns(upload_files: UploadFiles) -> None:
    path = upload_files.csv(
        "cols.csv", ["name", "Age", "score", "active", "notes"], [["a", "1", "1", "true", "n"]]
    )

    with pytest.raises(ReaderError) as caught:
        read_rows(path, file_format="csv", columns=PEOPLE)  # raised before any row is read

    assert caught.value.code == "schema_mismatch"
    assert "missing 'age'" in caught.value.detail
    assert "unexpected 'Age', 'notes'" in caught.value.detail
    assert caught.value.extra == {
        "missing": ["age"],
        "unexpected": ["Age", "notes"],
        "duplicates": [],
    }


def test_an_extra_column_alone_is_a_schema_mismatch(upload_files: UploadFiles) -> None:
    path = upload_files.csv(
        "extra.csv", ["name", "age", "score", "active", "notes"], [["a", "1", "1", "true", "n"]]
    )

    with pytest.raises(ReaderError, match="unexpected 'notes'") as caught:
        read_rows(path, file_format="csv", columns=PEOPLE)
    assert caught.value.code == "schema_mismatch"


def test_a_repeated_header_column_is_a_schema_mismatch(upload_files: UploadFiles) -> None:
    path = upload_files.raw("dup.csv", "name,name,age,score,active\na,b,1,1,true\n")

    with pytest.raises(ReaderError, match="repeated 'name'"):
        read_rows(path, file_format="csv", columns=PEOPLE)


def test_jsonl_schema_is_checked_on_the_first_object(upload_files: UploadFiles) -> None:
    path = upload_files.jsonl("cols.jsonl", [{"name": "a", "age": 1, "score": 1}] * 3)

    with pytest.raises(ReaderError, match="missing 'active'") as caught:
        read_all(path, "jsonl", PEOPLE)
    assert caught.value.code == "schema_mismatch"


def test_parquet_schema_mismatch_and_nested_columns(upload_files: UploadFiles) -> None:
    wrong = upload_files.parquet("wrong.parquet", {"name": ["a"], "age": [1], "score": [1.0]})
    nested = upload_files.parquet(
        "nested.parquet", {"name": ["a"], "age": [[1, 2]], "score": [1.0], "active": [True]}
    )

    with pytest.raises(ReaderError, match="missing 'active'") as missing:
        read_rows(wrong, file_format="parquet", columns=PEOPLE)
    with pytest.raises(ReaderError, match="Column 'age' holds list") as nested_error:
        read_rows(nested, file_format="parquet", columns=PEOPLE)

    assert missing.value.code == nested_error.value.code == "schema_mismatch"


@pytest.mark.parametrize(
    ("name", "content", "file_format"),
    [
        ("zero.csv", b"", "csv"),
        ("header_only.csv", b"name,age,score,active\n", "csv"),
        ("blank.jsonl", b"\n\n  \n", "jsonl"),
    ],
)
def test_files_without_data_rows_are_empty(
    upload_files: UploadFiles, name: str, content: bytes, file_format: str
) -> None:
    path = upload_files.raw(name, content)

    with pytest.raises(ReaderError) as caught:
        read_all(path, file_format, PEOPLE)

    assert caught.value.code == "empty_file"


def test_parquet_without_rows_is_empty(upload_files: UploadFiles) -> None:
    schema = pa.schema(
        [
            ("name", pa.string()),
            ("age", pa.int64()),
            ("score", pa.float64()),
            ("active", pa.bool_()),
        ]
    )
    path = upload_files.parquet("none.parquet", schema.empty_table())

    with pytest.raises(ReaderError) as caught:
        read_rows(path, file_format="parquet", columns=PEOPLE)

    assert caught.value.code == "empty_file"


def test_corrupt_and_truncated_parquet_are_refused(upload_files: UploadFiles) -> None:
    good = upload_files.parquet(
        "good.parquet",
        {"name": ["a"] * 100, "age": [1] * 100, "score": [1.0] * 100, "active": [True] * 100},
    )
    garbage = upload_files.raw("garbage.parquet", b"PAR1" + os.urandom(2000) + b"PAR1")
    truncated = upload_files.raw("truncated.parquet", good.read_bytes()[: good.stat().st_size // 2])

    for path in (garbage, truncated):
        with pytest.raises(ReaderError, match="not a readable Parquet file") as caught:
            read_rows(path, file_format="parquet", columns=PEOPLE)
        assert caught.value.code == "corrupt_file"


def test_a_malformed_csv_line_fails_the_file_with_its_line_number(
    upload_files: UploadFiles,
) -> None:
    path = upload_files.raw("ragged.csv", "name,age,score,active\na,1,1,true\nb,2,2,true,extra\n")

    with pytest.raises(ReaderError, match="Expected 4 fields in line 3, saw 5") as caught:
        read_all(path, "csv", PEOPLE)

    assert caught.value.code == "corrupt_file"


def test_a_first_row_longer_than_the_header_is_refused_up_front(upload_files: UploadFiles) -> None:
    """pandas would quietly make the extra leading value an index and shift every column."""
    path = upload_files.raw("shifted.csv", "name,age,score,active\n0,a,1,1,true\n")

    with pytest.raises(
        ReaderError, match="Line 2 of the file has 5 values but the header has 4 columns"
    ):
        read_rows(path, file_format="csv", columns=PEOPLE)


def test_a_header_that_is_not_utf8_is_refused(upload_files: UploadFiles) -> None:
    path = upload_files.raw("latin1.csv", b"n\xe4me,age,score,active\na,1,1,true\n")

    with pytest.raises(ReaderError, match="header of the file is not valid UTF-8") as caught:
        read_rows(path, file_format="csv", columns=PEOPLE)

    assert caught.value.code == "corrupt_file"


def test_a_path_with_glob_characters_is_read(upload_files: UploadFiles) -> None:
    """`datasets` treats data_files as glob patterns; the reader must not read nothing."""
    path = upload_files.csv(
        "we[i]rd*/people.csv", ["name", "age", "score", "active"], [["a", "1", "1", "true"]]
    )

    assert [row.data for row in read_all(path, "csv", PEOPLE)] == [
        {"name": "a", "age": 1, "score": 1.0, "active": True}
    ]


def test_max_rows_fails_a_longer_file(upload_files: UploadFiles) -> None:
    rows = [["a", str(index), "1", "true"] for index in range(12)]
    csv_path = upload_files.csv("long.csv", ["name", "age", "score", "active"], rows)
    parquet_path = upload_files.parquet(
        "long.parquet",
        {"name": ["a"] * 12, "age": list(range(12)), "score": [1.0] * 12, "active": [True] * 12},
    )

    with pytest.raises(ReaderError, match="more than 10 rows") as from_csv:
        read_all(csv_path, "csv", PEOPLE, max_rows=10)
    with pytest.raises(ReaderError, match="more than 10 rows") as from_parquet:
        read_rows(parquet_path, file_format="parquet", columns=PEOPLE, max_rows=10)

    assert from_csv.value.code == from_parquet.value.code == "too_large"
    assert len(read_all(csv_path, "csv", PEOPLE, max_rows=12)) == 12


def test_image_columns_need_a_zip_and_a_zip_needs_an_image_column(
    upload_files: UploadFiles,
) -> None:
    path = upload_files.csv("pictures.csv", ["image", "label", "quality"], [["a.png", "cat", "1"]])

    with pytest.raises(ReaderError, match="upload a ZIP of images") as csv_error:
        read_rows(path, file_format="csv", columns=PICTURES)
    with pytest.raises(ReaderError, match="exactly one image column") as zip_error:
        read_rows(path, file_format="zip", columns=PEOPLE)

    assert csv_error.value.code == "unsupported_format"
    assert zip_error.value.code == "schema_mismatch"


def test_a_bad_column_spec_is_a_programming_error(upload_files: UploadFiles) -> None:
    path = upload_files.csv("x.csv", ["a"], [["1"]])

    with pytest.raises(ValueError, match="bad column spec"):
        read_rows(path, file_format="csv", columns=[{"name": "a", "dtype": "int32"}])
    with pytest.raises(ValueError, match="duplicate"):
        read_rows(path, file_format="csv", columns=[{"name": "a", "dtype": "string"}] * 2)


# --- format detection -----------------------------------------------------------------------


DETECTED = {
    "csv": [
        ("people.csv", b"name,age\n1,2\n"),
        ("PEOPLE.CSV", b"\xef\xbb\xbfname,age\n"),
        ("one-column.csv", b"name\nAda\n"),
    ],
    "tsv": [("people.tsv", b"name\tage\n")],
    "jsonl": [
        ("people.jsonl", b'{"name": "Ada"}\n{"name": "Bo"}\n'),
        ("people.ndjson", b'{"name": "Ada"}'),
        ("people.json", b'{"name": "Ada"}\n'),
        ("long-first-line.jsonl", b'{"name": "' + b"x" * 100),  # cut off by the head
    ],
    "parquet": [("people.parquet", b"PAR1\x15\x04")],
    "zip": [("images.zip", b"PK\x03\x04\x14\x00")],
}


@pytest.mark.parametrize(
    ("filename", "head", "expected"),
    [(name, head, expected) for expected, cases in DETECTED.items() for name, head in cases],
)
def test_detect_format_by_extension_and_content(filename: str, head: bytes, expected: str) -> None:
    assert detect_format(filename, head) == expected


REFUSALS = {
    "format_mismatch": [
        ("data.parquet", b"name,age\n1,2\n", "named .parquet but is a text file"),
        ("data.zip", b"PAR1\x15\x04", "named .zip but is a Parquet file"),
        ("data.jsonl", b'[{"a": 1}]', "is a JSON array"),
        ("data.jsonl", b"a,b\n1,2\n", "JSON object on its first line"),
        ("data.jsonl", b'{"a": 1,\n', "JSON object on its first line"),
        ("data.csv", b'{"a": 1}\n', "name it .jsonl"),
        ("data.csv", b"a\tb\tc\n1\t2\t3\n", "name it .tsv"),
        ("data.tsv", b"a,b,c\n1,2,3\n", "name it .csv"),
        ("data.csv", gzip.compress(b"a,b\n1,2\n"), "gzip-compressed"),
        ("data.csv", "a,b\n".encode("utf-16"), "UTF-16"),
        ("data.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "single image"),
        ("data.csv", b"a,b\x00\x01\x02", "binary file"),
    ],
    "unsupported_format": [
        ("data.xlsx", b"PK\x03\x04", "'.xlsx' files are not supported"),
        ("data", b"a,b\n", "without an extension"),
    ],
    "empty_file": [("data.csv", b"", "empty"), ("data.csv", b"\n \n\t\n", "blank")],
}


@pytest.mark.parametrize(
    ("filename", "head", "code", "fragment"),
    [
        (name, head, code, fragment)
        for code, cases in REFUSALS.items()
        for name, head, fragment in cases
    ],
)
def test_detect_format_refuses_what_it_cannot_read(
    filename: str, head: bytes, code: str, fragment: str
) -> None:
    with pytest.raises(ReaderError) as caught:
        detect_format(filename, head)

    assert caught.value.code == code
    assert fragment in caught.value.detail


def test_a_csv_that_is_really_a_zip_is_a_mismatch(upload_files: UploadFiles) -> None:
    path = upload_files.zip("data.csv", {"metadata.csv": "file_name\n"})

    with pytest.raises(ReaderError, match=r"named \.csv but is a ZIP archive") as caught:
        detect_format(path.name, path.read_bytes()[:65536])

    assert caught.value.code == "format_mismatch"


# --- ZIP of images --------------------------------------------------------------------------------


def test_zip_rows_carry_checked_images_stored_once_by_content(
    upload_files: UploadFiles, tmp_path: Path
) -> None:
    red = upload_files.image("PNG", (8, 6), "red")
    photo = upload_files.image("JPEG", (20, 10), "blue")
    path = upload_files.image_zip(
        "pictures.zip",
        "file_name,label,quality\ncat.png,cat,5\nphotos/dog.jpg,dog,4\ncopy of cat.png,cat,5\n",
        {"cat.png": red, "photos/dog.jpg": photo, "copy of cat.png": red},
    )
    image_dir = tmp_path / "images"

    rows = read_all(path, "zip", PICTURES, image_dir=image_dir)

    red_sha, photo_sha = hashlib.sha256(red).hexdigest(), hashlib.sha256(photo).hexdigest()
    assert [row.errors for row in rows] == [[], [], []]
    assert rows[0].data == {
        "image": {
            "path": "cat.png",
            "sha256": red_sha,
            "width": 8,
            "height": 6,
            "format": "png",
            "stored_path": f"{red_sha}.png",
        },
        "label": "cat",
        "quality": 5,
    }
    assert rows[1].data is not None
    assert rows[1].data["image"] | {"sha256": "-"} == {
        "path": "photos/dog.jpg",
        "sha256": "-",
        "width": 20,
        "height": 10,
        "format": "jpeg",
        "stored_path": f"{photo_sha}.jpg",
    }
    assert sorted(p.name for p in image_dir.iterdir()) == sorted(
        [f"{red_sha}.png", f"{photo_sha}.jpg"]
    )
    assert (image_dir / f"{red_sha}.png").read_bytes() == red
    # The image counts by its bytes, not its name: a renamed copy is a duplicate row.
    assert (
        rows[2].content_hash
        == rows[0].content_hash
        == json_hash({"image": red_sha, "label": "cat", "quality": 5})
    )


@pytest.mark.parametrize(("image_format", "stored_as"), [("WEBP", "webp"), ("GIF", "gif")])
def test_webp_and_gif_are_accepted(
    upload_files: UploadFiles, tmp_path: Path, image_format: str, stored_as: str
) -> None:
    path = upload_files.image_zip(
        "pictures.zip",
        "file_name,label,quality\npic.img,x,1\n".replace(".img", f".{stored_as}"),
        {f"pic.{stored_as}": upload_files.image(image_format)},
    )

    (row,) = read_all(path, "zip", PICTURES, image_dir=tmp_path / "images")

    assert row.data is not None and row.data["image"]["format"] == stored_as


def test_zip_metadata_may_sit_in_a_folder(upload_files: UploadFiles) -> None:
    path = upload_files.image_zip(
        "pictures.zip",
        "file_name,label,quality\ncat.png,cat,1\n",
        {"cat.png": upload_files.image()},
        folder="train/",
    )

    (row,) = read_all(path, "zip", PICTURES)

    assert row.data is not None
    assert row.data["image"]["path"] == "train/cat.png"
    assert row.data["image"]["stored_path"] is None  # validation only: no image_dir given


def test_bad_images_are_row_errors_and_are_not_stored(
    upload_files: UploadFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = upload_files.image("JPEG", (64, 64), "green")
    metadata = "\n".join(
        [
            "file_name,label,quality",
            "ghost.png,a,1",
            "text.png,b,2",
            "bitmap.png,c,3",
            "cut.jpg,d,4",
            "../escape.png,e,5",
            ",f,6",
            "ok.png,,x",
            "photos,g,8",
        ]
    )
    path = upload_files.image_zip(
        "bad.zip",
        metadata + "\n",
        {
            "text.png": b"hello, I am not a picture",
            "bitmap.png": upload_files.image("BMP"),
            "cut.jpg": photo[: len(photo) // 2],
            "ok.png": upload_files.image(),
            "photos/x.png": upload_files.image(),
        },
    )
    image_dir = tmp_path / "images"

    rows = read_all(path, "zip", PICTURES, image_dir=image_dir)

    assert [row.errors for row in rows] == [
        ["image 'ghost.png' is not in the ZIP"],
        ["image 'text.png' is not a JPEG, PNG, WebP or GIF image (or its header is damaged)"],
        ["image 'bitmap.png' is not a JPEG, PNG, WebP or GIF image (or its header is damaged)"],
        ["image 'cut.jpg' could not be decoded (OSError)"],
        ["image '../escape.png' points outside the ZIP"],
        ["column 'file_name' is empty"],
        ["column 'label' is empty", "column 'quality' expected int64, got 'x'"],
        ["image 'photos' is not in the ZIP"],
    ]
    assert not image_dir.exists() or not any(image_dir.iterdir())


def test_image_size_and_pixel_caps(
    upload_files: UploadFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = upload_files.image("PNG", (40, 30))
    path = upload_files.image_zip(
        "caps.zip", "file_name,label,quality\nbig.png,a,1\n", {"big.png": big}
    )

    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 1000)
    (too_many_pixels,) = read_all(path, "zip", PICTURES)
    monkeypatch.setattr(zip_images, "MAX_IMAGE_BYTES", 10)
    (too_many_bytes,) = read_all(path, "zip", PICTURES)

    assert too_many_pixels.errors == ["image 'big.png' is 40x30 pixels; the limit is 1,000 pixels"]
    assert too_many_bytes.errors == [f"image 'big.png' is {len(big):,} bytes; the limit is 10"]


@pytest.mark.parametrize(
    ("member", "fragment"),
    [
        ("../evil.png", "points outside the archive"),
        ("images/../../evil.png", "points outside the archive"),
        ("/etc/evil.png", "has an absolute path"),
        ("C:/evil.png", "has an absolute path"),
        ("images\\..\\evil.png", "backslash"),
    ],
)
def test_zip_members_with_unsafe_paths_are_refused(
    upload_files: UploadFiles, member: str, fragment: str
) -> None:
    path = upload_files.zip(
        "unsafe.zip",
        {"metadata.csv": "file_name,label,quality\nevil.png,a,1\n", member: upload_files.image()},
    )

    assert zip_refusal(path, match=fragment) == "corrupt_file"


def test_zip_symlink_members_are_refused(upload_files: UploadFiles) -> None:
    path = upload_files.path("links.zip")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.csv", "file_name,label,quality\nlink.png,a,1\n")
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")

    with pytest.raises(ReaderError, match="is a symbolic link"):
        read_rows(path, file_format="zip", columns=PICTURES)


def test_zip_with_other_files_than_images_is_refused(upload_files: UploadFiles) -> None:
    path = upload_files.image_zip(
        "mixed.zip",
        "file_name,label,quality\ncat.png,a,1\n",
        {
            "cat.png": upload_files.image(),
            "run.sh": b"#!/bin/sh\n",
            "__MACOSX/._cat.png": b"junk",
            ".DS_Store": b"junk",
        },
    )

    assert zip_refusal(path, match=r"also holds 'run\.sh'") == "unsupported_format"


def test_macos_junk_in_a_zip_is_ignored(upload_files: UploadFiles) -> None:
    path = upload_files.image_zip(
        "mac.zip",
        "file_name,label,quality\ncat.png,a,1\n",
        {"cat.png": upload_files.image(), "__MACOSX/._cat.png": b"junk", ".DS_Store": b"junk"},
    )

    assert [row.errors for row in read_all(path, "zip", PICTURES)] == [[]]


def test_zip_declaring_a_huge_unpacked_size_is_refused(upload_files: UploadFiles) -> None:
    path = two_image_zip(upload_files, "bomb.zip")
    upload_files.forge_declared_sizes(path, 0xF000_0000)  # 3 entries x 3.75 GiB

    assert zip_refusal(path, match="would unpack to") == "too_large"


def test_zip_with_too_many_members_is_refused(
    upload_files: UploadFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zip_images, "MAX_ZIP_MEMBERS", 2)
    path = two_image_zip(upload_files, "many.zip")

    assert zip_refusal(path, match="holds 3 entries") == "too_large"


def test_zip_entry_count_is_checked_before_the_directory_is_parsed(
    upload_files: UploadFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The end record is read first: a small file listing millions of entries never gets a
    ZipInfo built for each."""
    monkeypatch.setattr(zip_images, "MAX_ZIP_MEMBERS", 10)
    path = upload_files.image_zip(
        "lying.zip", "file_name,label,quality\na.png,a,1\n", {"a.png": upload_files.image()}
    )
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, data.rfind(b"PK\x05\x06") + 10, 0xFFFE)  # total entries
    path.write_bytes(bytes(data))

    with pytest.raises(ReaderError, match="holds 65,534 entries"):
        read_rows(path, file_format="zip", columns=PICTURES)


def test_zip64_entry_counts_are_read(upload_files: UploadFiles) -> None:
    path = upload_files.path("many-entries.zip")
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(0x10000):  # one more than the classic end record can count
            archive.writestr(f"d{index}/", b"")

    assert zip_images._declared_zip_entries(path) == 0x10000
    assert zip_images._declared_zip_entries(upload_files.raw("not.zip", b"PK\x03\x04")) is None


def test_zip_metadata_problems(upload_files: UploadFiles) -> None:
    no_metadata = upload_files.zip("none.zip", {"a.png": upload_files.image()})
    two = upload_files.zip(
        "two.zip", {"metadata.csv": "file_name\n", "x/metadata.csv": "file_name\n"}
    )
    wrong_columns = upload_files.image_zip(
        "cols.zip", "file_name,label\na.png,a\n", {"a.png": upload_files.image()}
    )
    no_rows = upload_files.image_zip(
        "rows.zip", "file_name,label,quality\n", {"a.png": upload_files.image()}
    )
    broken = upload_files.raw("broken.zip", b"PK\x03\x04" + b"\x00" * 100)

    with pytest.raises(ReaderError, match=r"has no metadata\.csv") as missing:
        read_rows(no_metadata, file_format="zip", columns=PICTURES)
    with pytest.raises(ReaderError, match=r"more than one metadata\.csv"):
        read_rows(two, file_format="zip", columns=PICTURES)
    with pytest.raises(
        ReaderError, match=r"columns of metadata\.csv do not match.*missing 'quality'"
    ) as columns:
        read_rows(wrong_columns, file_format="zip", columns=PICTURES)
    with pytest.raises(ReaderError, match=r"metadata\.csv has no data rows") as empty:
        read_all(no_rows, "zip", PICTURES)
    with pytest.raises(ReaderError, match="not a readable ZIP") as corrupt:
        read_rows(broken, file_format="zip", columns=PICTURES)

    assert (missing.value.code, columns.value.code) == ("schema_mismatch", "schema_mismatch")
    assert (empty.value.code, corrupt.value.code) == ("empty_file", "corrupt_file")


# --- features, batches, memory ---------------------------------------------------------------


def test_features_for_maps_dtypes_to_values_and_images() -> None:
    features = features_for([*PICTURES, {"name": "ok", "dtype": "bool"}])

    assert features == datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.Value("string"),
            "quality": datasets.Value("int64"),
            "ok": datasets.Value("bool"),
        }
    )


def test_rows_come_in_batches_of_batch_size(upload_files: UploadFiles) -> None:
    path = upload_files.csv(
        "twelve.csv",
        ["name", "age", "score", "active"],
        [["a", str(n), "1", "true"] for n in range(12)],
    )

    batches = list(read_rows(path, file_format="csv", columns=PEOPLE, batch_size=5))

    assert [len(batch.rows) for batch in batches] == [5, 5, 2]
    assert [batch.rows_read for batch in batches] == [5, 10, 12]
    assert [row.row_number for batch in batches for row in batch.rows] == list(range(1, 13))
    assert [row.data["age"] for batch in batches for row in batch.accepted if row.data] == list(
        range(12)
    )
    progress = [batch.progress or 0 for batch in batches]
    assert progress == sorted(progress) and progress[-1] <= 1


def test_parquet_progress_is_exact(upload_files: UploadFiles) -> None:
    path = upload_files.parquet(
        "ten.parquet",
        {"name": ["a"] * 10, "age": list(range(10)), "score": [1.0] * 10, "active": [True] * 10},
    )

    batches = list(read_rows(path, file_format="parquet", columns=PEOPLE, batch_size=4))

    assert [batch.progress for batch in batches] == [0.4, 0.8, 1.0]


def run_python(script: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_a_large_csv_streams_in_batches_with_bounded_memory(
    upload_files: UploadFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    """200k rows in a fresh process, so its peak RSS is the reader's alone."""
    rows = 200_000
    path = upload_files.csv(
        "large.csv",
        ["name", "age", "score", "active"],
        (
            [f"contributor number {n} wrote this row", str(n % 90), f"{n / 7:.6f}", "true"]
            for n in range(rows)
        ),
    )

    result = run_python(
        f"""
        import json, time
        from pathlib import Path
        import datasets, pandas, pyarrow  # imported first: measure the reading, not the imports
        from datasets_app.integrations.readers import read_rows

        def peak_rss_kb():  # VmHWM: this process's peak RSS (ru_maxrss carries the parent's)
            status = Path("/proc/self/status").read_text()
            return int(status.split("VmHWM:")[1].split()[0])

        columns = {PEOPLE!r}
        path = Path({str(path)!r})
        baseline = peak_rss_kb()
        started = time.perf_counter()
        sizes, accepted = [], 0
        reader = read_rows(path, file_format="csv", columns=columns, batch_size=5000)
        for batch in reader:
            sizes.append(len(batch.rows))
            accepted += len(batch.accepted)
        seconds = time.perf_counter() - started
        peak = peak_rss_kb()
        print(json.dumps({{"sizes": sizes, "accepted": accepted, "seconds": seconds,
                          "baseline_mb": baseline / 1024, "peak_mb": peak / 1024}}))
        """,
        timeout=240,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["sizes"] == [5000] * 40
    assert report["accepted"] == rows
    growth = report["peak_mb"] - report["baseline_mb"]
    with capsys.disabled():
        print(
            f"\n[readers] {rows:,} CSV rows in {report['seconds']:.1f}s = "
            f"{rows / report['seconds']:,.0f} rows/s; peak RSS {report['peak_mb']:.0f} MB, "
            f"{growth:.0f} MB above the imports"
        )
    assert growth < 300


def test_a_reader_left_open_does_not_hang_the_process_at_exit(upload_files: UploadFiles) -> None:
    """Readers left open are closed by an atexit hook, before module teardown (a suspended
    Parquet scan finalised during teardown could hang forever; that needs a multi-million-row
    file to reproduce, so this only checks that the hook closes cleanly)."""
    path = upload_files.parquet(
        "open.parquet",
        pa.table(
            {
                "name": ["a"] * 50_000,
                "age": list(range(50_000)),
                "score": [1.0] * 50_000,
                "active": [True] * 50_000,
            }
        ),
    )

    result = run_python(
        f"""
        from pathlib import Path
        from datasets_app.integrations.readers import read_rows
        path, columns = Path({str(path)!r}), {PEOPLE!r}
        READER = read_rows(path, file_format="parquet", columns=columns, batch_size=100)
        next(READER)
        print("left open")
        """,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "left open" in result.stdout


def test_importing_the_readers_leaves_datasets_and_pyarrow_for_later() -> None:
    """Pages import detect_format and the dtypes; they should not pay for `datasets`."""
    result = run_python(
        """
        import sys
        import datasets_app.integrations.readers
        print(sorted({"datasets", "pyarrow", "pandas"} & set(sys.modules)))
        """,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- shards -------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_shards_read_their_rows_and_together_the_whole_file(
    upload_files: UploadFiles, file_format: str
) -> None:
    rows = [{"name": f"n{i}", "age": str(i), "score": "1.5", "active": "yes"} for i in range(25)]
    rows[7]["age"] = "seven"  # a row error keeps its number in its shard
    if file_format == "csv":
        path = upload_files.csv("p.csv", list(rows[0]), [list(r.values()) for r in rows])
    elif file_format == "jsonl":
        lines = [json.dumps(r) for r in rows]
        lines.insert(3, "")  # blank lines are not rows, in any shard
        path = upload_files.raw("p.jsonl", "\n".join(lines) + "\n")
    else:
        import pyarrow.parquet as pq

        path = upload_files.path("p.parquet")
        pq.write_table(pa.Table.from_pylist(rows), path)
    whole = read_all(path, file_format, PEOPLE, batch_size=4)
    ranges = [(0, 10), (10, 20), (20, None)]
    shards = [
        read_all(path, file_format, PEOPLE, batch_size=4, start_row=start, stop_row=stop)
        for start, stop in ranges
    ]
    assert [[r.row_number for r in shard] for shard in shards] == [
        list(range(1, 11)), list(range(11, 21)), list(range(21, 26))
    ]  # fmt: skip
    assert [r for shard in shards for r in shard] == whole
    assert read_all(path, file_format, PEOPLE, start_row=30) == []
