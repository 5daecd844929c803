"""Run an SR model on a large image tile by tile, so memory stays bounded by the tile size."""
from __future__ import annotations

import torch
from torch import Tensor, nn


@torch.no_grad()
def upscale(model: nn.Module, lr: Tensor, tile: int | None = 256, overlap: int = 16) -> Tensor:
    """``model(lr)`` for ``(N, 3, h, w)`` in ``[0, 1]``, computed in ``tile x tile`` LR tiles.

    Each tile is run with ``overlap`` extra LR pixels of context on every side
    and only its centre is kept, so seams vanish whenever the model's receptive
    field fits in the overlap. Tile origins are multiples of 8, so models that
    downsample internally (the autoencoder) see the same grid as on the whole
    image. A model with an image-global style (stylegan-lite: ``model.style``)
    gets the whole image's style on every tile; only its eval noise differs per tile.
    ``tile`` None or 0 runs the whole image at once.
    """
    scale = model.scale
    height, width = lr.shape[-2:]
    if not tile or (height <= tile and width <= tile):
        return model(lr)
    if tile % 8 or overlap % 8 or tile <= 0 or overlap < 0:
        raise ValueError(f"tile and overlap must be multiples of 8 (tile > 0), got tile={tile}, overlap={overlap}")
    style = {"style": model.style(lr)} if hasattr(model, "style") else {}
    out = lr.new_empty(lr.shape[0], 3, height * scale, width * scale)
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            bottom, right = min(top + tile, height), min(left + tile, width)
            context_top, context_left = max(top - overlap, 0), max(left - overlap, 0)
            piece = model(lr[..., context_top : min(bottom + overlap, height), context_left : min(right + overlap, width)], **style)
            y0, x0 = (top - context_top) * scale, (left - context_left) * scale
            out[..., top * scale : bottom * scale, left * scale : right * scale] = piece[
                ..., y0 : y0 + (bottom - top) * scale, x0 : x0 + (right - left) * scale
            ]
    return out
