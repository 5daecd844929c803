"""Peak signal-to-noise ratio.

``10 * log10(data_range**2 / MSE)`` with the MSE taken over every channel and
pixel of each image (``color="rgb"``, the default, as scikit-image's
``peak_signal_noise_ratio`` and MATLAB's ``psnr`` compute it). ``color="y",
crop_border=scale`` is the super-resolution convention (BT.601 luma of 8-bit
images, as MATLAB ``rgb2ycbcr`` rounds it). Identical images give ``inf``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._color import prepare
from ._validate import check_pair, check_values, reduce


def psnr(
    x: Tensor,
    y: Tensor,
    *,
    data_range: float = 1.0,
    color: str = "rgb",
    crop_border: int = 0,
    quantize: int | None = 8,
    reduction: str = "mean",
) -> Tensor:
    """PSNR in dB of ``(N, C, H, W)`` images in ``[0, data_range]``; higher is better.

    ``reduction="mean"`` averages the per-image PSNR values (not the MSEs), as
    SR papers report it. ``quantize`` only applies when ``color`` converts.

    Example:
        >>> import torch, iqa
        >>> x = torch.full((1, 3, 8, 8), 0.5)
        >>> round(float(iqa.psnr(x, x + 0.1)), 4)
        20.0
    """
    # Without a color conversion the values are checked per image inside _mse, while in cache:
    # PSNR is pure memory bandwidth, and a separate validation pass would double its cost.
    check_later = color == "rgb"
    check_pair(x, y, data_range, values=not check_later)
    x = prepare(x, color, crop_border, data_range, quantize)
    y = prepare(y, color, crop_border, data_range, quantize)
    return reduce(10 * torch.log10(data_range**2 / _mse(x, y, data_range if check_later else None)), reduction)


def _mse(x: Tensor, y: Tensor, check_range: float | None) -> Tensor:
    """Per-image mean squared error, one image at a time; values checked against ``check_range`` if given.

    A whole-batch difference is fresh memory on every call (a page fault per
    4 KiB costs more than the arithmetic); per image the allocator reuses one
    buffer. ``mean()`` sums in cascade and stays accurate in float32, where
    ``linalg.vector_norm`` does not (2e-4 relative error on a 512x512 RGB image).
    """
    errors = []
    for index, (x_image, y_image) in enumerate(zip(x, y)):
        if check_range is not None:
            check_values(x_image, f"x[{index}]", check_range)
            check_values(y_image, f"y[{index}]", check_range)
        difference = x_image - y_image
        squared = difference.square() if difference.requires_grad else difference.square_()
        errors.append(squared.mean())
    return torch.stack(errors)
