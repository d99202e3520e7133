"""Device and precision choice: ``auto`` is CUDA in bfloat16 when present, else CPU in float32."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DeviceChoice:
    """Where a model runs and in which dtype."""

    device: torch.device
    dtype: torch.dtype


def select_device(preference: str = "auto") -> DeviceChoice:
    """Resolve ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` to a device and dtype.

    ``auto`` takes CUDA (bfloat16: half the memory, tensor cores) only when
    ``torch.cuda.is_available()``; asking for CUDA explicitly without one is an error, not a
    silent fallback, so a misconfigured GPU host is noticed.
    """
    wanted = (preference or "auto").strip().lower()
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    if wanted == "cpu":
        return DeviceChoice(torch.device("cpu"), torch.float32)
    if wanted.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {preference!r} requested but CUDA is not available on this machine")
        return DeviceChoice(torch.device(wanted), torch.bfloat16)
    raise ValueError(f"unknown device {preference!r}; use auto, cpu, cuda or cuda:N")
