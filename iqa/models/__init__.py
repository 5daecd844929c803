"""The model zoo: ``load(name_or_path)`` returns an ``nn.Module`` mapping ``(N, 3, h, w)`` in ``[0, 1]``
to ``(N, 3, scale*h, scale*w)``; every model carries its integer ``scale``.

Bundled checkpoints live in ``iqa/models/zoo/NAME/`` (``weights.safetensors`` +
``card.json``), shipped as package data so they are found from an editable
install and from a wheel alike. A checkpoint file is self-describing: its
safetensors metadata names the architecture and its constructor options, so
loading builds the module and copies tensors in; nothing is unpickled.
"""
from __future__ import annotations

import difflib
import json
from importlib import resources
from pathlib import Path

from torch import nn

from .autoencoder import AutoencoderSR
from .bicubic import Bicubic
from .srgan import Discriminator, SRResNet
from .stylegan_lite import StyleSRGenerator

# architecture name (as `iqa train-sr --model` spells it) -> generator class
ARCHITECTURES = {"srgan": SRResNet, "stylegan-lite": StyleSRGenerator, "autoencoder": AutoencoderSR}
BICUBIC = {f"bicubic-x{s}": s for s in (2, 3, 4)}
WEIGHTS_FILE, CARD_FILE = "weights.safetensors", "card.json"


def build(architecture: str, **config) -> nn.Module:
    """A freshly initialised generator; ``config`` holds its constructor options (``scale``, ``channels``, ...)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    model = ARCHITECTURES[architecture](**config)
    model.architecture, model.config = architecture, dict(config)
    return model


def zoo_dir() -> Path:
    return Path(str(resources.files(__name__).joinpath("zoo")))


def _bundled() -> dict[str, Path]:
    root = zoo_dir()
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / WEIGHTS_FILE).is_file()}


def list_models() -> list[str]:
    """Names that ``load`` accepts: the bicubic baselines and every bundled checkpoint."""
    return sorted([*BICUBIC, *_bundled()])


def card(name: str) -> dict:
    """The model card of a zoo name (bicubic baselines get a generated one)."""
    if name in BICUBIC:
        return {"name": name, "architecture": "bicubic", "scale": BICUBIC[name], "params": 0,
                "description": "MATLAB-compatible bicubic upscaling (iqa.imresize): the baseline every SR paper reports."}
    path = _bundled().get(name)
    if path is None:
        raise KeyError(_unknown(name))
    return json.loads((path / CARD_FILE).read_text()) if (path / CARD_FILE).is_file() else {"name": name}


def save_weights(model: nn.Module, path: str | Path, extra_metadata: dict[str, str] | None = None) -> None:
    """Write a generator made by ``build`` as a self-describing safetensors file."""
    from ..train.checkpoint import atomic_save_file

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    metadata = {"architecture": model.architecture, "config": json.dumps(model.config), **(extra_metadata or {})}
    atomic_save_file(state, Path(path), metadata)


def load_weights(path: str | Path) -> nn.Module:
    """Build the generator a checkpoint file describes and load its tensors (strictly: every key must match)."""
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            state = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as error:  # safetensors raises its own error types for corrupt headers
        raise ValueError(f"{path}: not a readable safetensors checkpoint ({error})") from None
    if "architecture" not in metadata or "config" not in metadata:
        raise ValueError(f"{path}: safetensors metadata lacks 'architecture'/'config'; not an iqa model checkpoint")
    model = build(metadata["architecture"], **json.loads(metadata["config"]))
    model.load_state_dict(state, strict=True)
    return model


def _unknown(name: str) -> str:
    known = list_models()
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    return f"unknown model {name!r}{hint} (known: {', '.join(known)}; or give a checkpoint directory or .safetensors file)"


def load(name_or_path: str | Path, device=None) -> nn.Module:
    """A ready-to-run model in eval mode.

    ``name_or_path`` is a zoo name (``list_models()``), a checkpoint directory
    holding ``weights.safetensors``, or a ``.safetensors`` file.

    Example:
        >>> import torch, iqa.models
        >>> iqa.models.load("bicubic-x4")(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 3, 32, 32])
    """
    name = str(name_or_path)
    if name in BICUBIC:
        model: nn.Module = Bicubic(BICUBIC[name])
    elif name in _bundled():
        model = load_weights(_bundled()[name] / WEIGHTS_FILE)
    elif Path(name).is_dir() and (Path(name) / WEIGHTS_FILE).is_file():
        model = load_weights(Path(name) / WEIGHTS_FILE)
    elif Path(name).is_file():
        model = load_weights(name)
    else:
        raise KeyError(_unknown(name))
    return model.to(device).eval() if device is not None else model.eval()


__all__ = ["ARCHITECTURES", "Discriminator", "build", "card", "list_models", "load", "load_weights", "save_weights"]
