"""Gradient magnitude similarity deviation, as Xue's official ``GMSD.m``.

W. Xue, L. Zhang, X. Mou, A. C. Bovik, "Gradient magnitude similarity
deviation: a highly efficient perceptual image quality index", IEEE TIP 23(2),
2014, doi:10.1109/TIP.2013.2293423.

``GMSD.m`` takes MATLAB ``rgb2gray`` luminance in 0-255, averages 2x2 blocks
with ``conv2(.., 'same')`` (zero padding) and keeps every second sample,
filters with Prewitt kernels ``[1 0 -1]/3`` (zero padding), and returns the
standard deviation (``std2``, normalized by N-1) of the similarity map
``(2 g1 g2 + T) / (g1^2 + g2^2 + T)`` with ``T = 170`` for 0-255 data.
Checked against piq's ``gmsd`` on one-channel input (tests/test_gmsd.py).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ._color import prepare
from ._filters import matlab_box_downsample
from ._validate import check_pair, reduce

GMSD_T = 170.0  # for images in [0, 255]


def gmsd(
    x: Tensor,
    y: Tensor,
    *,
    data_range: float = 1.0,
    color: str = "gray",
    crop_border: int = 0,
    quantize: int | None = 8,
    t: float = GMSD_T,
    reduction: str = "mean",
) -> Tensor:
    """GMSD of ``(N, C, H, W)`` images in ``[0, data_range]``; 0 for identical images, lower is better.

    ``t`` is the stability constant on the 0-255 scale (rescaled to
    ``data_range``). With ``color="rgb"`` the channels are scored separately
    and averaged.

    Example:
        >>> import torch, iqa
        >>> x = torch.rand(1, 3, 32, 32)
        >>> float(iqa.gmsd(x, x))
        0.0
    """
    check_pair(x, y, data_range, min_size=2)
    x = prepare(x, color, crop_border, data_range, quantize)
    y = prepare(y, color, crop_border, data_range, quantize)
    gx = _prewitt_magnitude(matlab_box_downsample(x, 2, "zeros"))
    gy = _prewitt_magnitude(matlab_box_downsample(y, 2, "zeros"))
    t_scaled = t * (data_range / 255.0) ** 2
    quality = (2 * gx * gy + t_scaled) / (gx * gx + gy * gy + t_scaled)
    return reduce(quality.flatten(2).std(dim=2).mean(dim=1), reduction)


def _prewitt_magnitude(x: Tensor) -> Tensor:
    """Gradient magnitude as ``conv2(.., [1 0 -1; 1 0 -1; 1 0 -1]/3, 'same')`` and its transpose.

    The Prewitt kernels are separable (a 3-tap box times a central difference),
    so shifted adds on the zero-padded image replace a one-channel ``conv2d``,
    the slowest convolution path on CPU. The sign of a gradient does not
    matter for its magnitude, so convolution versus correlation is moot.
    """
    height, width = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))  # conv2 'same' pads with zeros
    rows_box = padded[..., :height, :] + padded[..., 1 : height + 1, :] + padded[..., 2:, :]
    cols_box = padded[..., :, :width] + padded[..., :, 1 : width + 1] + padded[..., :, 2:]
    grad_x = rows_box[..., :width] - rows_box[..., 2:]
    grad_y = cols_box[..., :height, :] - cols_box[..., 2:, :]
    return torch.sqrt(grad_x * grad_x + grad_y * grad_y) / 3
