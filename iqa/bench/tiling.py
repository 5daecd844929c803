"""Upscaling in overlapping tiles, so that device memory stays bounded on large images."""
from __future__ import annotations

from torch import Tensor, nn


def upscale_tiled(model: nn.Module, lr: Tensor, tile: int | None = 256, overlap: int = 16) -> Tensor:
    """``model(lr)`` for ``(N, C, h, w)`` ``lr``, computed in ``tile x tile`` LR pieces; ``(N, C', s*h, s*w)``.

    ``s`` is ``model.scale``. Each piece is read with ``overlap`` extra LR pixels
    on every side (where the image has them) and only its centre is kept, so the
    result equals the untiled output whenever the model's receptive field radius
    is at most ``overlap`` LR pixels. Tile origins are multiples of ``tile``, so
    with multiples of 8 (the defaults) models that downsample internally see the
    same grid as on the whole image. ``tile`` None or 0, or an image no larger
    than one tile, runs the model once on the whole image.
    """
    if overlap < 0:
        raise ValueError(f"overlap must be non-negative, got {overlap}")
    height, width = lr.shape[-2:]
    if not tile or (height <= tile and width <= tile):
        return model(lr)
    scale = model.scale
    output = None
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            bottom, right = min(top + tile, height), min(left + tile, width)
            top_in, left_in = max(top - overlap, 0), max(left - overlap, 0)
            piece = model(lr[..., top_in : min(bottom + overlap, height), left_in : min(right + overlap, width)])
            if output is None:
                output = piece.new_empty(*piece.shape[:2], height * scale, width * scale)
            rows = slice((top - top_in) * scale, (bottom - top_in) * scale)
            cols = slice((left - left_in) * scale, (right - left_in) * scale)
            output[..., top * scale : bottom * scale, left * scale : right * scale] = piece[..., rows, cols]
    return output
