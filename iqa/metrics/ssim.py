"""SSIM and MS-SSIM with the defaults of Wang's official MATLAB code.

References
----------
* Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality
  assessment: from error visibility to structural similarity", IEEE TIP 13(4),
  2004, doi:10.1109/TIP.2003.819861. Official code ``ssim_index.m``: 11x11
  Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, 'valid' filtering, mean
  of the SSIM map; its 2009 revision ``ssim.m`` adds the automatic downsampling
  by ``f = max(1, round(min(H, W) / 256))`` that ``downsample=True`` enables.
* Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity for
  image quality assessment", Asilomar 2003, doi:10.1109/ACSSC.2003.1292216.
  Official code ``msssim.m``: 5 scales, weights 0.0448, 0.2856, 0.3001,
  0.2363, 0.1333, 2x2 average with 'symmetric' padding between scales.

Checked against scikit-image's ``structural_similarity`` with Wang's settings
(``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``) and piq's
``multi_scale_ssim`` (see tests/test_ssim.py).
"""
from __future__ import annotations

import warnings

import torch
from torch import Tensor

from ._color import prepare
from ._filters import BAND_ELEMENTS, band_rows_for, filter_valid, gaussian_taps, matlab_box_downsample, row_bands
from ._validate import check_pair, reduce

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ssim(
    x: Tensor,
    y: Tensor,
    *,
    data_range: float = 1.0,
    color: str = "gray",
    crop_border: int = 0,
    quantize: int | None = 8,
    downsample: bool = False,
    kernel_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    reduction: str = "mean",
) -> Tensor:
    """Structural similarity, as Wang's ``ssim_index.m`` computes it by default.

    Args:
        x, y: ``(N, C, H, W)`` images in ``[0, data_range]``.
        color: ``"gray"`` (MATLAB ``rgb2gray``, the official input), ``"y"``
            (BT.601 luma, the SR-paper convention) or ``"rgb"`` (mean over channels).
        crop_border: pixels removed from each side before scoring.
        quantize: round converted luminance to this bit depth's grid as MATLAB
            does for integer images (``None``: keep full precision).
        downsample: Wang's 2009 automatic downsampling (``ssim.m``); off by default,
            as in ``ssim_index.m``. piq's default turns it on.
        reduction: ``"mean"`` over the batch or ``"none"`` for a ``(N,)`` tensor.

    Returns:
        SSIM in ``[-1, 1]``, 1 for identical images.

    Example:
        >>> import torch, iqa
        >>> x = torch.rand(1, 3, 64, 64)
        >>> float(iqa.ssim(x, x))
        1.0
    """
    scale_ssim, _ = _prepared_components(
        x, y, data_range, color, crop_border, quantize, downsample, kernel_size, sigma, k1, k2
    )
    return reduce(scale_ssim.mean(dim=1), reduction)


def ms_ssim(
    x: Tensor,
    y: Tensor,
    *,
    data_range: float = 1.0,
    color: str = "gray",
    crop_border: int = 0,
    quantize: int | None = 8,
    weights: tuple[float, ...] = MS_SSIM_WEIGHTS,
    kernel_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    reduction: str = "mean",
) -> Tensor:
    """Multi-scale SSIM, as Wang's ``msssim.m`` computes it (method 'product').

    ``prod_j cs_j ** w_j`` over the first scales times ``ssim_M ** w_M`` at the
    coarsest. A negative contrast-structure term (possible for anticorrelated
    images, where MATLAB returns a complex number) is clamped to 0, as piq does.
    The image must keep at least ``kernel_size`` pixels at the coarsest scale:
    176x176 with the defaults.

    Example:
        >>> import torch, iqa
        >>> x = torch.rand(1, 1, 192, 192)
        >>> float(iqa.ms_ssim(x, x))
        1.0
    """
    levels = len(weights)
    check_pair(x, y, data_range)
    x = prepare(x, color, crop_border, data_range, quantize)
    y = prepare(y, color, crop_border, data_range, quantize)
    needed = kernel_size * 2 ** (levels - 1)
    if min(x.shape[-2:]) < needed:
        raise ValueError(
            f"ms_ssim with {levels} scales and a {kernel_size}-pixel window needs images of at least "
            f"{needed}x{needed} after cropping, got {tuple(x.shape[-2:])}"
        )
    taps = gaussian_taps(kernel_size, sigma)
    factors = []
    for level in range(levels):
        if level > 0:
            x = matlab_box_downsample(x, 2, "symmetric")
            y = matlab_box_downsample(y, 2, "symmetric")
        scale_ssim, scale_cs = ssim_components(x, y, taps, (k1 * data_range) ** 2, (k2 * data_range) ** 2)
        factors.append(scale_ssim if level == levels - 1 else scale_cs)
    exponents = torch.tensor(weights, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    per_channel = torch.prod(torch.relu(torch.stack(factors)) ** exponents, dim=0)
    return reduce(per_channel.mean(dim=1), reduction)


def _prepared_components(x, y, data_range, color, crop_border, quantize, downsample, kernel_size, sigma, k1, k2):
    check_pair(x, y, data_range)
    x = prepare(x, color, crop_border, data_range, quantize)
    y = prepare(y, color, crop_border, data_range, quantize)
    if downsample:
        factor = max(1, int(min(x.shape[-2:]) / 256 + 0.5))  # MATLAB round
        x = matlab_box_downsample(x, factor, "symmetric")
        y = matlab_box_downsample(y, factor, "symmetric")
    if min(x.shape[-2:]) < kernel_size:
        raise ValueError(
            f"ssim needs images of at least {kernel_size}x{kernel_size} (the window) after cropping "
            f"and downsampling, got {tuple(x.shape[-2:])}"
        )
    return ssim_components(x, y, gaussian_taps(kernel_size, sigma), (k1 * data_range) ** 2, (k2 * data_range) ** 2)


def ssim_components(x: Tensor, y: Tensor, taps: list[float], c1: float, c2: float) -> tuple[Tensor, Tensor]:
    """Per-image, per-channel means of the SSIM map and the contrast-structure map, each ``(N, C)``.

    Works through pieces sized to stay in cache: bands of rows of one image, or
    several whole images when they are small (the coarse MS-SSIM scales). The
    filtering is memory-bound, and a piece that fits in L2 runs about twice as
    fast as whole-batch tensors; it also means the five filtered statistics of
    a large image never exist at full size at once.
    """
    batch, channels, height, width = x.shape
    halo = len(taps) - 1
    ssim_sums = x.new_zeros(batch, channels)
    cs_sums = x.new_zeros(batch, channels)
    images_per_piece = max(1, BAND_ELEMENTS // (4 * channels * height * width))
    band_rows = band_rows_for(4 * channels * width, BAND_ELEMENTS) if images_per_piece == 1 else height
    for first in range(0, batch, images_per_piece):
        images = slice(first, first + images_per_piece)
        for start, stop in row_bands(height, halo, band_rows):
            band_ssim, band_cs = _BAND_KERNEL.run(x[images, :, start:stop], y[images, :, start:stop], taps, c1, c2)
            ssim_sums[images] += band_ssim
            cs_sums[images] += band_cs
    count = (height - halo) * (width - halo)
    return ssim_sums / count, cs_sums / count


def _band_sums(xb: Tensor, yb: Tensor, taps: list[float], c1: float, c2: float) -> tuple[Tensor, Tensor]:
    """Sums over one band of the SSIM and contrast-structure maps, per channel.

    Four filtered maps suffice, not five: the contrast term only needs
    ``sigma_x^2 + sigma_y^2``, so ``x^2 + y^2`` is filtered as one map.
    """
    moments = filter_valid(torch.stack([xb, yb, xb * xb + yb * yb, xb * yb]), taps)
    mu_x, mu_y, squares, xy = moments.unbind(0)
    mu_xy = mu_x * mu_y
    mu_sq = mu_x * mu_x + mu_y * mu_y
    cs_map = (2 * (xy - mu_xy) + c2) / (squares - mu_sq + c2)
    luminance = (2 * mu_xy + c1) / (mu_sq + c1)
    return (luminance * cs_map).sum(dim=(-2, -1)), cs_map.sum(dim=(-2, -1))


def _band_sums_no_grad(xb: Tensor, yb: Tensor, taps: list[float], c1: float, c2: float) -> tuple[Tensor, Tensor]:
    """:func:`_band_sums` rewritten in place, for when no gradient is needed: the same
    arithmetic with one temporary instead of a dozen, which matters in a memory-bound loop."""
    stack = xb.new_empty((4, *xb.shape))
    stack[0].copy_(xb)
    stack[1].copy_(yb)
    torch.mul(xb, xb, out=stack[2]).addcmul_(yb, yb)
    torch.mul(xb, yb, out=stack[3])
    mu_x, mu_y, squares, xy = filter_valid(stack, taps).unbind(0)
    mu_xy = mu_x * mu_y
    mu_sq = mu_x.square_().add_(mu_y.square_())
    cs_map = xy.sub_(mu_xy).mul_(2).add_(c2).div_(squares.sub_(mu_sq).add_(c2))
    ssim_map = mu_xy.mul_(2).add_(c1).div_(mu_sq.add_(c1)).mul_(cs_map)
    return ssim_map.sum(dim=(-2, -1)), cs_map.sum(dim=(-2, -1))


class _Kernel:
    """The band kernel: eager (in place when no gradient is needed), or through ``torch.compile``
    once :func:`use_compiled_kernels` asks.

    Compiling fuses the band's ~35 elementwise passes into a few loops: several
    times faster per image on CPU, for a one-time compile of 10-30 s per band
    shape (inductor caches it on disk for later processes). So it pays off for
    hundreds of images, not for ten; ``iqa score`` decides by workload.
    """

    def __init__(self, function, no_grad_function):
        self.function = function
        self.no_grad_function = no_grad_function
        self.compiled = None

    def run(self, x: Tensor, y: Tensor, *rest):
        if self.compiled is not None:
            try:
                return self.compiled(x, y, *rest)
            except Exception as error:  # e.g. no C++ compiler: say so once, then stay eager
                warnings.warn(f"torch.compile failed ({type(error).__name__}: {error}); SSIM runs eagerly")
                self.compiled = None
        if x.requires_grad or y.requires_grad:
            return self.function(x, y, *rest)
        return self.no_grad_function(x, y, *rest)


_BAND_KERNEL = _Kernel(_band_sums, _band_sums_no_grad)


def use_compiled_kernels(enabled: bool = True) -> None:
    """Run the SSIM/MS-SSIM band kernel through ``torch.compile`` (values equal to the eager path to ~1e-7)."""
    _BAND_KERNEL.compiled = torch.compile(_band_sums) if enabled else None
