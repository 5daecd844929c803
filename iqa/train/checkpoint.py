"""Training checkpoints as safetensors: tensors by flat key, everything else as JSON metadata.

A training state is a nested structure of dicts/lists holding tensors and
plain values (model and optimizer ``state_dict``s, scheduler state, RNG
state, the step). ``flatten`` splits it into ``{path: tensor}`` plus a JSON
skeleton in which each tensor is replaced by its path; ``unflatten`` reverses
that. Nothing is pickled, so loading a checkpoint cannot run code.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor

from ..io.atomic import atomic_write

_TENSOR = "__tensor__"


def flatten(tree, prefix: str = "", tensors: dict[str, Tensor] | None = None):
    """``(skeleton, tensors)``: the JSON-able skeleton of ``tree`` and its tensors by path."""
    tensors = {} if tensors is None else tensors
    if isinstance(tree, Tensor):
        tensors[prefix] = tree.detach().cpu().contiguous()
        return {_TENSOR: prefix}, tensors
    if isinstance(tree, dict):
        # JSON keys are strings: remember which were ints (optimizer state is keyed by param index).
        items = {f"{type(k).__name__}:{k}": flatten(v, f"{prefix}/{k}", tensors)[0] for k, v in tree.items()}
        return {"__dict__": items}, tensors
    if isinstance(tree, (list, tuple)):
        return [flatten(v, f"{prefix}/{i}", tensors)[0] for i, v in enumerate(tree)], tensors
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree, tensors
    raise TypeError(f"cannot store {type(tree).__name__} at {prefix!r} in a safetensors checkpoint")


def unflatten(skeleton, tensors: dict[str, Tensor]):
    if isinstance(skeleton, dict) and _TENSOR in skeleton:
        return tensors[skeleton[_TENSOR]]
    if isinstance(skeleton, dict):
        out = {}
        for key, value in skeleton["__dict__"].items():
            kind, _, name = key.partition(":")
            out[int(name) if kind == "int" else name] = unflatten(value, tensors)
        return out
    if isinstance(skeleton, list):
        return [unflatten(v, tensors) for v in skeleton]
    return skeleton


def atomic_save_file(tensors: dict[str, Tensor], path: Path, metadata: dict[str, str]) -> None:
    """Write a safetensors file so that a crash leaves either the old file or the new one, never half of one."""
    from safetensors.torch import save_file

    atomic_write(path, lambda temporary: save_file(tensors, str(temporary), metadata=metadata))


def save_state(state: dict, path: Path) -> None:
    skeleton, tensors = flatten(state)
    atomic_save_file(tensors, path, {"skeleton": json.dumps(skeleton)})


def load_state(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        skeleton = json.loads(f.metadata()["skeleton"])
        tensors = {key: f.get_tensor(key) for key in f.keys()}
    return unflatten(skeleton, tensors)


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
