"""Solidity sources (``src/``) and their committed build artefacts (``build/``).

The artefacts are written by ``npm run compile-contracts`` (``scripts/compile_contracts.js``,
solc-js pinned in package.json); ``node scripts/compile_contracts.js --check`` proves in CI that
they match the sources. Python reads them here and never compiles Solidity itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, TypedDict, cast

BUILD_DIR = Path(__file__).resolve().parent / "build"

# A contract name as solc allows it; anything else (a path, "..") is refused before touching disk.
_CONTRACT_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


class CompilerInfo(TypedDict):
    name: str
    version: str
    settings: dict[str, Any]


class ContractArtifact(TypedDict):
    contractName: str
    sourceName: str
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-prefixed creation code
    compiler: CompilerInfo
    sourceSha256: str


def load_artifact(name: str) -> ContractArtifact:
    """The build artefact of contract ``name`` (e.g. ``"DataBountyToken"``); a fresh dict each call,
    so callers may change it freely."""
    if not _CONTRACT_NAME.fullmatch(name):
        raise ValueError(f"not a contract name: {name!r}")
    path = BUILD_DIR / f"{name}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no build artefact for contract {name!r} at {path}: run `npm run compile-contracts`"
        ) from None
    return cast(ContractArtifact, json.loads(text))
