"""MATLAB-compatible ``imresize`` (bicubic), the resize every SR paper made its LR images with.

MATLAB's bicubic uses Keys' cubic kernel with ``a = -0.5`` (PyTorch's
``interpolate`` uses ``a = -0.75``), widens the kernel by ``1/scale`` when
shrinking (antialiasing), maps output sample ``i`` (1-based) to input
coordinate ``i / scale + 0.5 * (1 - 1 / scale)``, mirrors at the borders
(``[1:n, n:-1:1]``), and resizes the dimension with the smaller scale first.
This follows ``imresize.m`` (its ``contributions`` function) step by step;
tests compare it with BasicSR's independent port.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def cubic(distance: Tensor) -> Tensor:
    """Keys' cubic convolution kernel with ``a = -0.5``."""
    d = distance.abs()
    d2, d3 = d * d, d * d * d
    near = 1.5 * d3 - 2.5 * d2 + 1
    far = -0.5 * d3 + 2.5 * d2 - 4 * d + 2
    return torch.where(d <= 1, near, torch.where(d <= 2, far, torch.zeros_like(d)))


def contributions(in_length: int, out_length: int, scale: float, antialiasing: bool, device=None):
    """Indices ``(out, taps)`` and weights ``(out, taps)`` of one resized dimension, as ``imresize.m``."""
    kernel_width = 4.0
    shrink = antialiasing and scale < 1
    if shrink:
        kernel_width /= scale
    x = torch.arange(1, out_length + 1, dtype=torch.float64, device=device)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - kernel_width / 2)
    taps = math.ceil(kernel_width) + 2
    indices = left.unsqueeze(1) + torch.arange(taps, dtype=torch.float64, device=device)
    distance = u.unsqueeze(1) - indices
    weights = scale * cubic(distance * scale) if shrink else cubic(distance)
    weights = weights / weights.sum(dim=1, keepdim=True)
    # Mirror out-of-range indices (MATLAB's aux = [1:n, n:-1:1]); 0-based from here.
    mirror = torch.cat([torch.arange(in_length), torch.arange(in_length - 1, -1, -1)]).to(device)
    indices = mirror[torch.remainder(indices.long() - 1, 2 * in_length)]
    # Drop tap columns that are zero for every output, as imresize.m does.
    used = (weights != 0).any(dim=0)
    return indices[:, used], weights[:, used]


def _resize_dim(x: Tensor, dim: int, out_length: int, scale: float, antialiasing: bool) -> Tensor:
    indices, weights = contributions(x.shape[dim], out_length, scale, antialiasing, x.device)
    gathered = x.index_select(dim, indices.flatten())
    shape = list(x.shape)
    shape[dim : dim + 1] = [out_length, indices.shape[1]]
    gathered = gathered.view(shape)
    weight_shape = [1] * len(shape)
    weight_shape[dim : dim + 2] = list(weights.shape)
    return (gathered * weights.to(x.dtype).view(weight_shape)).sum(dim=dim + 1)


def imresize(
    x: Tensor,
    scale: float | None = None,
    *,
    size: tuple[int, int] | None = None,
    antialiasing: bool = True,
) -> Tensor:
    """Resize ``(..., H, W)`` float images like MATLAB ``imresize(x, scale)`` with 'bicubic'.

    Give ``scale`` (output ``ceil(H * scale) x ceil(W * scale)``) or ``size``
    ``(H_out, W_out)``. Values are not clamped or rounded (MATLAB does both only
    for integer images): for the SR convention of 8-bit LR images, round the
    result yourself, e.g. ``(imresize(hr, 1/4) * 255).round().clamp(0, 255) / 255``.

    Example:
        >>> import torch
        >>> from iqa import imresize
        >>> imresize(torch.rand(1, 3, 64, 48), 0.25).shape
        torch.Size([1, 3, 16, 12])
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError(f"imresize needs a floating-point tensor, got {getattr(x, 'dtype', type(x).__name__)}")
    if x.ndim < 2:
        raise ValueError(f"imresize needs at least 2 dimensions (H, W), got shape {tuple(x.shape)}")
    if (scale is None) == (size is None):
        raise ValueError("give exactly one of scale and size")
    height, width = x.shape[-2:]
    if size is not None:
        out_h, out_w = size
        scales = (out_h / height, out_w / width)
    else:
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        out_h, out_w = math.ceil(height * scale), math.ceil(width * scale)
        scales = (scale, scale)
    if min(out_h, out_w) < 1:
        raise ValueError(f"resizing {height}x{width} by {scale} leaves no pixels")
    order = sorted(range(2), key=lambda axis: scales[axis])  # smaller scale first; rows on a tie
    for axis in order:
        dim = x.ndim - 2 + axis
        x = _resize_dim(x, dim, (out_h, out_w)[axis], scales[axis], antialiasing)
    return x
