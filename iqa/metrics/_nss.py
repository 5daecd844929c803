"""Natural-scene-statistics building blocks shared by NIQE and PIQE.

* MSCN coefficients (mean-subtracted, contrast-normalized luminance) exactly as
  the LIVE code computes them: ``imfilter(im, fspecial('gaussian', 7, 7/6),
  'replicate')`` for the local mean and deviation, and ``(im - mu) / (sigma + 1)``
  on a 0-255 scale.
* Non-overlapping square blocks of a batch of maps, all blocks of all images in
  one tensor so that the per-block statistics run as single batched reductions.
* The moment-matching fit of an asymmetric generalized Gaussian (AGGD) of
  ``estimateaggdparam.m``, with the shape searched on the grid ``0.2:0.001:10``.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from ._color import luminance_255
from ._filters import band_rows_for, filter_valid, gaussian_taps, row_bands
from ._validate import check_choice

NSS_COLORS = ("gray", "y", "rgb")
MSCN_WINDOW = 7
MSCN_SIGMA = 7 / 6
MSCN_C = 1.0  # the stabilizing constant for images on the 0-255 scale
# Far above float64 rounding of a 49-tap mean of 0-255 values (~1e-12), far below any real contrast.
_ROUNDING_NOISE = 1e-9
# Values filtered at once by mscn (a band of rows of every image).
_BAND_VALUES = 1 << 19

# estimateaggdparam.m: gam = 0.2:0.001:10 (9801 shapes).
_SHAPE_START, _SHAPE_STEP, _SHAPE_COUNT = 0.2, 0.001, 9801


def mscn(image: Tensor) -> tuple[Tensor, Tensor]:
    """MSCN coefficients and local deviation of ``(M, H, W)`` images on the 0-255 scale.

    The 7x7 Gaussian (sigma 7/6) filter uses MATLAB 'replicate' padding, so
    both outputs have the input's size. Rows are filtered in cache-sized bands.
    """
    taps = gaussian_taps(MSCN_WINDOW, MSCN_SIGMA)
    halo = MSCN_WINDOW - 1
    padded = F.pad(image.unsqueeze(1), (halo // 2,) * 4, mode="replicate").squeeze(1)
    coefficients, sigma = torch.empty_like(image), torch.empty_like(image)
    band_rows = band_rows_for(2 * padded.shape[0] * padded.shape[-1], _BAND_VALUES)
    for start, stop in row_bands(padded.shape[-2], halo, band_rows):
        band = padded[:, start:stop]
        mean, mean_sq = filter_valid(torch.stack([band, band * band]), taps).unbind(0)
        rows = slice(start, stop - halo)
        torch.sqrt((mean_sq - mean * mean).abs(), out=sigma[:, rows])
        centered = image[:, rows] - mean
        # Where a pixel equals its local mean exactly (flat or symmetric neighbourhoods, frequent
        # in 8-bit images), rounding leaves +-1e-13 of either sign; the AGGD fit counts signs, so
        # snap those to the exact 0 of exact arithmetic. This makes the score independent of the
        # summation order (CPU, GPU and MATLAB's imfilter all round differently).
        centered.masked_fill_(centered.abs() < _ROUNDING_NOISE, 0.0)
        torch.div(centered, sigma[:, rows] + MSCN_C, out=coefficients[:, rows])
    return coefficients, sigma


def split_blocks(maps: Tensor, size: int) -> Tensor:
    """``(M, H, W)`` maps with ``H, W`` multiples of ``size`` -> ``(M, blocks, size, size)``, row-major block order."""
    count, height, width = maps.shape
    grid = maps.view(count, height // size, size, width // size, size)
    return grid.permute(0, 1, 3, 2, 4).reshape(count, -1, size, size)


@functools.lru_cache(maxsize=8)
def _shape_grid(dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """The AGGD shape grid and its moment ratio ``Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))``."""
    shapes = _SHAPE_START + _SHAPE_STEP * torch.arange(_SHAPE_COUNT, dtype=torch.float64, device=device)
    ratios = torch.exp(2 * torch.lgamma(2 / shapes) - torch.lgamma(1 / shapes) - torch.lgamma(3 / shapes))
    return shapes.to(dtype), ratios.to(dtype)


def _nearest_shape(target: Tensor) -> Tensor:
    """``gam(argmin((r_gam - target).^2))`` for every element of ``target``.

    The moment ratio increases strictly along the grid, so the nearest grid
    point is one of the two neighbours that ``searchsorted`` finds; ties go to
    the lower index, as MATLAB's ``min`` returns the first minimum. A NaN
    target gives the first grid shape, as MATLAB's ``min`` does on an all-NaN
    vector (the block's other features are NaN and drop it from the covariance).
    """
    shapes, ratios = _shape_grid(target.dtype, target.device)
    upper = torch.searchsorted(ratios, target.contiguous()).clamp(1, _SHAPE_COUNT - 1)
    lower = upper - 1
    take_lower = (ratios[lower] - target) ** 2 <= (ratios[upper] - target) ** 2
    index = torch.where(take_lower, lower, upper)
    index = torch.where(target.isnan(), torch.zeros_like(index), index)
    return shapes[index]


def fit_aggd(samples: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Shape ``alpha`` and left/right scales of an AGGD fitted to each row of ``samples`` (``(..., n)``).

    As ``estimateaggdparam.m``: left/right deviations over the strictly
    negative/positive samples (NaN when a side is empty), the generalized
    Gaussian ratio ``mean|x|^2 / mean(x^2)`` corrected for asymmetry, the
    shape from the grid, then ``beta = std * sqrt(Gamma(1/a) / Gamma(3/a))``.
    """
    negative = samples.clamp(max=0)
    positive = samples.clamp(min=0)
    left_sq = (negative * negative).sum(-1)
    right_sq = (positive * positive).sum(-1)
    left_std = torch.sqrt(left_sq / (samples < 0).sum(-1))
    right_std = torch.sqrt(right_sq / (samples > 0).sum(-1))
    count = samples.shape[-1]
    abs_mean = (positive.sum(-1) - negative.sum(-1)) / count
    ratio = abs_mean * abs_mean / ((left_sq + right_sq) / count)
    skew = left_std / right_std
    corrected = ratio * (skew**3 + 1) * (skew + 1) / (skew**2 + 1) ** 2
    alpha = _nearest_shape(corrected)
    scale = torch.exp(0.5 * (torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)))
    return alpha, left_std * scale, right_std * scale


def nss_luminance(
    x: Tensor, data_range: float, color: str, crop_border: int, quantize: int | None, *, min_size: int, metric: str
) -> Tensor:
    """``(N*C, H, W)``: :func:`luminance_255` with ``color="rgb"`` keeping every channel as a separate image."""
    check_choice("color", color, NSS_COLORS)
    luminance = luminance_255(x, data_range=data_range, color=color, crop_border=crop_border, quantize=quantize,
                              min_size=min_size, metric=metric)
    return luminance.flatten(0, 1)


