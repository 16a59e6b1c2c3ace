"""Offline checks of a .pkpass (WALLET.md A7): manifest, openssl signature and chain, pass.json."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any


def unpack(content: bytes, directory: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        files = {name: bundle.read(name) for name in bundle.namelist()}
    for name, data in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def manifest_problems(files: dict[str, bytes]) -> list[str]:
    manifest = json.loads(files["manifest.json"])
    listed = set(manifest)
    present = set(files) - {"manifest.json", "signature"}
    problems = [f"not in manifest: {n}" for n in present - listed] + [f"missing file: {n}" for n in listed - present]
    problems += [
        f"hash of {name}"
        for name in listed & present
        if hashlib.sha1(files[name]).hexdigest() != manifest[name]  # noqa: S324
    ]
    return problems


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)


def verify(directory: Path, root_pem: Path) -> subprocess.CompletedProcess[str]:
    return openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", "signature", "-content", "manifest.json",
                   "-CAfile", str(root_pem), "-purpose", "any", "-out", "/dev/null", cwd=directory)  # fmt: skip


def pass_json(files: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(files["pass.json"])
