"""Windows, separable filtering and MATLAB-style downsampling shared by the metrics.

Filtering is written as in-place shifted adds over row bands rather than as
``conv2d``: a one-channel convolution is the slowest path of PyTorch's CPU
backends, and processing a band of rows at a time keeps the working set in
cache and bounds the memory a 12-megapixel image needs.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def gaussian_taps(size: int, sigma: float) -> list[float]:
    """Normalized 1-D Gaussian weights; their outer product is MATLAB's ``fspecial('gaussian', size, sigma)``."""
    center = (size - 1) / 2
    weights = [math.exp(-((i - center) ** 2) / (2 * sigma**2)) for i in range(size)]
    total = sum(weights)
    return [w / total for w in weights]


def filter_valid(stack: Tensor, taps: list[float]) -> Tensor:
    """Separable correlation of the last two dims with ``taps``, 'valid' region only."""
    return _filter_rows(_filter_cols(stack, taps), taps)


def _filter_cols(stack: Tensor, taps: list[float]) -> Tensor:
    width = stack.shape[-1] - len(taps) + 1
    out = stack[..., :width] * taps[0]
    for offset, weight in enumerate(taps[1:], start=1):
        out.add_(stack[..., offset : offset + width], alpha=weight)
    return out


def _filter_rows(stack: Tensor, taps: list[float]) -> Tensor:
    height = stack.shape[-2] - len(taps) + 1
    out = stack[..., :height, :] * taps[0]
    for offset, weight in enumerate(taps[1:], start=1):
        out.add_(stack[..., offset : offset + height, :], alpha=weight)
    return out


def row_bands(height: int, halo: int, band_rows: int):
    """Yield ``(start, stop)`` input row ranges whose 'valid' outputs tile ``height - halo`` rows."""
    out_rows = height - halo
    for start in range(0, out_rows, band_rows):
        yield start, min(start + band_rows, out_rows) + halo


# Values in one cache-sized piece of work (1 MB of float32: half the L2 of the machines measured).
BAND_ELEMENTS = 1 << 18


def band_rows_for(per_row_elements: int, budget_elements: int = BAND_ELEMENTS, minimum: int = 16) -> int:
    """Rows per band so that one band's working set stays near ``budget_elements`` values."""
    return max(minimum, budget_elements // max(per_row_elements, 1))


def symmetric_pad_index(size: int, before: int, after: int, device: torch.device) -> Tensor:
    """Indices of MATLAB 'symmetric' padding (the edge sample is repeated)."""
    index = torch.arange(-before, size + after, device=device)
    index = torch.where(index < 0, -index - 1, index)
    return torch.where(index >= size, 2 * size - index - 1, index)


def matlab_box_downsample(x: Tensor, factor: int, padding: str) -> Tensor:
    """``imfilter(x, ones(f)/f^2, padding, 'same')`` then ``x(1:f:end, 1:f:end)``.

    ``padding`` is ``"symmetric"`` (``imfilter``, as in Wang's ssim.m and msssim.m)
    or ``"zeros"`` (``conv2(..., 'same')``, as in Xue's GMSD.m). MATLAB centers an
    even box at ``floor((f+1)/2)``, so output ``k`` averages input rows
    ``k*f - c + 1 .. k*f - c + f`` (0-based), ``c = floor((f + 1) / 2)``.
    """
    if factor == 1:
        return x
    before = (factor + 1) // 2 - 1
    height, width = x.shape[-2:]
    # MATLAB keeps ceil(size / f) samples; pad just enough for the last window.
    after_h = max(0, -(-height // factor) * factor - height - before)
    after_w = max(0, -(-width // factor) * factor - width - before)
    if padding == "symmetric":
        if before or after_h:
            x = x.index_select(-2, symmetric_pad_index(height, before, after_h, x.device))
        if before or after_w:
            x = x.index_select(-1, symmetric_pad_index(width, before, after_w, x.device))
    elif padding == "zeros":
        if before or after_h or after_w:
            x = F.pad(x, (before, after_w, before, after_h))
    else:
        raise ValueError(f"padding must be 'symmetric' or 'zeros', got {padding!r}")
    if factor == 2:
        return _halve(x)
    return F.avg_pool2d(x, factor, stride=factor)


def _halve(x: Tensor) -> Tensor:
    """2x2 block means by strided adds: several times faster than ``avg_pool2d`` on CPU."""
    height, width = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    # Rows first: whole contiguous rows vectorize; the strided column step then reads half the data.
    rows = x[..., 0:height:2, :width] + x[..., 1:height:2, :width]
    return (rows[..., 0::2] + rows[..., 1::2]).mul_(0.25)
