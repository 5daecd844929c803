"""Choosing the device: one rule for every command."""
from __future__ import annotations

import os

import torch


def resolve_device(spec: str) -> torch.device:
    """``auto`` is CUDA when present, else CPU; ``cuda`` without an index is ``cuda:LOCAL_RANK`` under torchrun.

    Raises ``ValueError`` for a malformed name or a CUDA device on a machine without CUDA.
    """
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N; got {spec!r}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {spec!r} asked for, but CUDA is not available here; use --device cpu or auto")
        if device.index is None:  # one GPU per torchrun process
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    return device
