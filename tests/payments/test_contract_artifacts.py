"""The committed contract artefacts are exactly what the pinned solc-js makes of the sources."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from payments.contracts import BUILD_DIR, load_artifact

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "compile_contracts.js"


def run_check(*extra: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; the contract build needs it")
    return subprocess.run(
        [node, str(SCRIPT), "--check", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_committed_artifacts_match_a_fresh_compile() -> None:
    result = run_check()
    assert result.returncode == 0, result.stderr


def test_check_names_a_tampered_artifact(tmp_path: Path) -> None:
    build = tmp_path / "build"
    shutil.copytree(BUILD_DIR, build)
    artefact = build / "DataBountyToken.json"
    text = artefact.read_text()
    # Flip one hex digit of the creation code: a plausible hand edit, still valid JSON.
    index = text.index('"bytecode": "0x') + len('"bytecode": "0x') + 10
    flipped = "0" if text[index] != "0" else "1"
    artefact.write_text(text[:index] + flipped + text[index + 1 :])

    result = run_check("--build-dir", str(build))

    assert result.returncode == 1
    assert f"differs from a fresh compile: {artefact}" in result.stderr


def test_check_names_missing_and_stale_artifacts(tmp_path: Path) -> None:
    (tmp_path / "OldToken.json").write_text("{}\n")

    result = run_check("--build-dir", str(tmp_path))

    assert result.returncode == 1
    assert f"missing: {tmp_path / 'DataBountyToken.json'}" in result.stderr
    assert f"stale (no contract of that name in the sources): {tmp_path / 'OldToken.json'}" in (
        result.stderr
    )


def test_artifact_records_its_source_and_compiler() -> None:
    artefact = load_artifact("DataBountyToken")

    source = ROOT / artefact["sourceName"]
    assert artefact["sourceSha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    # PUSH1..PUSH16 (0x60-0x6f), as creation code starts: not an empty "0x"
    assert artefact["bytecode"][:3] == "0x6" and len(artefact["bytecode"]) > 1000
    assert artefact["compiler"]["name"] == "solc-js"
    assert artefact["compiler"]["version"].startswith("0.8.30+")
    assert artefact["compiler"]["settings"] == {
        "evmVersion": "cancun",
        "optimizer": {"enabled": True, "runs": 200},
    }
    functions = {entry["name"] for entry in artefact["abi"] if entry["type"] == "function"}
    assert {"transfer", "balanceOf", "decimals", "mint", "owner"} <= functions
    # EIP-3009, which x402's EVM "exact" scheme settles through
    assert {"transferWithAuthorization", "receiveWithAuthorization", "authorizationState"} <= (
        functions
    )


def test_load_artifact_refuses_paths() -> None:
    with pytest.raises(ValueError, match="not a contract name"):
        load_artifact("../build/DataBountyToken")
    with pytest.raises(FileNotFoundError, match="compile-contracts"):
        load_artifact("NoSuchContract")
