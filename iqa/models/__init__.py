"""The model zoo: ``load(name_or_path)`` returns an ``nn.Module`` mapping ``(N, 3, h, w)`` in ``[0, 1]``
to ``(N, 3, scale*h, scale*w)``; every model carries its integer ``scale``."""
from __future__ import annotations

import difflib

from torch import nn

from .bicubic import Bicubic

BUILTIN = {f"bicubic-x{s}": (lambda s=s: Bicubic(s)) for s in (2, 3, 4)}


def list_models() -> list[str]:
    return sorted(BUILTIN)


def load(name_or_path: str, device=None) -> nn.Module:
    """A ready-to-run model in eval mode."""
    if name_or_path not in BUILTIN:
        close = difflib.get_close_matches(name_or_path, list(BUILTIN), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"unknown model {name_or_path!r}{hint} (known: {', '.join(list_models())})")
    model = BUILTIN[name_or_path]()
    return model.to(device).eval() if device is not None else model.eval()
