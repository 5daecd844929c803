"""Color conventions: the named transforms every metric's ``color`` option selects.

* ``"rgb"``: every channel as given (no conversion, no rounding).
* ``"gray"``: MATLAB ``rgb2gray`` luminance, coefficients from ``inv`` of the NTSC
  YIQ matrix exactly as ``rgb2gray.m`` computes them.
* ``"y"``: ITU-R BT.601 luma in the studio range 16-235 (MATLAB ``rgb2ycbcr``),
  the convention of super-resolution papers.

MATLAB returns ``uint8`` from both conversions when given a ``uint8`` image, so
the official metric code sees luminance rounded to integers. ``quantize=8``
reproduces that: the converted channel is rounded (half away from zero, as
MATLAB rounds) to the 8-bit grid. The rounding uses a straight-through
gradient, so the functions stay usable as losses.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._validate import check_image

COLORS = ("rgb", "gray", "y")

# rgb2gray.m: coef = T(1,:) with T = inv([1 .956 .621; 1 -.272 -.647; 1 -1.106 1.703]).
MATLAB_GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)
# rgb2ycbcr.m, Y row, for RGB in [0, 1] giving Y in [16, 235].
BT601_Y = (65.481, 128.553, 24.966)
BT601_Y_OFFSET = 16.0


def quantize_to_bits(x: Tensor, data_range: float, bits: int | None, *, inplace: bool = False) -> Tensor:
    """Round ``x`` in ``[0, data_range]`` to the integer grid of a ``bits``-bit image.

    MATLAB's ``round`` (half away from zero) on non-negative values, with a
    straight-through gradient when ``x`` requires one. ``inplace=True`` lets a
    caller that owns ``x`` round it without a full-size temporary.
    """
    if bits is None:
        return x
    if bits not in (8, 16):
        raise ValueError(f"quantize must be 8, 16 or None, got {bits!r}")
    levels = float(2**bits - 1)
    scaled = x.mul_(levels / data_range) if inplace and not x.requires_grad else x * (levels / data_range)
    if scaled.requires_grad:
        rounded = scaled + (torch.floor(scaled + 0.5) - scaled).detach()
        return rounded * (data_range / levels)
    return scaled.add_(0.5).floor_().mul_(data_range / levels)


def convert_color(x: Tensor, color: str, data_range: float = 1.0, quantize: int | None = 8) -> Tensor:
    """Convert ``(N, C, H, W)`` in ``[0, data_range]`` to the named color convention.

    A one-channel input is already luminance and is returned unchanged for
    ``"gray"`` and ``"y"``; ``"gray"``/``"y"`` on other channel counts than 1 or 3
    is an error. ``quantize`` only applies to converted channels.
    """
    if color == "rgb":
        return x
    if color not in COLORS:
        raise ValueError(f"color must be one of {', '.join(map(repr, COLORS))}; got {color!r}")
    channels = x.shape[1]
    if channels == 1:
        return x
    if channels != 3:
        raise ValueError(f"color={color!r} needs 1 or 3 channels, got {channels} (shape {tuple(x.shape)})")
    # One image at a time: the float64 temporaries of a whole batch would be fresh memory
    # (a page fault per 4 KiB) on every call; per image they are reused and stay in cache.
    return torch.cat([_luminance(x[index : index + 1], color, data_range, quantize) for index in range(len(x))])


def _luminance(x: Tensor, color: str, data_range: float, quantize: int | None) -> Tensor:
    # Rounded luminance is computed in float64, as MATLAB does, so that values near a rounding
    # boundary land on the same integer whatever the input dtype or summation order.
    dtype = torch.float64 if quantize is not None else x.dtype
    if color == "gray":
        weights, offset = MATLAB_GRAY, 0.0
    else:
        weights, offset = [weight / 255.0 for weight in BT601_Y], BT601_Y_OFFSET / 255.0 * data_range
    # In-place adds of weighted channels: several times faster than einsum on CPU.
    total = x[:, 0:1].to(dtype) * weights[0]
    for channel in (1, 2):
        total.add_(x[:, channel : channel + 1].to(dtype), alpha=weights[channel])
    if offset:
        total.add_(offset)
    return quantize_to_bits(total, data_range, quantize, inplace=True).to(x.dtype)


def crop(x: Tensor, border: int) -> Tensor:
    """Remove ``border`` pixels from every side (the SR evaluation convention)."""
    if not isinstance(border, int) or border < 0:
        raise ValueError(f"crop_border must be a non-negative integer, got {border!r}")
    if border == 0:
        return x
    height, width = x.shape[-2:]
    if 2 * border >= min(height, width):
        raise ValueError(f"crop_border={border} leaves nothing of a {height}x{width} image")
    return x[..., border:-border, border:-border]


def prepare(x: Tensor, color: str, crop_border: int, data_range: float, quantize: int | None) -> Tensor:
    """The shared front end of every metric: color conversion, then border crop."""
    return crop(convert_color(x, color, data_range, quantize), crop_border)


def luminance_255(
    x: Tensor, *, data_range: float, color: str, crop_border: int, quantize: int | None, min_size: int, metric: str
) -> Tensor:
    """``(N, C, H, W)`` float64 on the 0-255 scale, rounded to ``quantize`` bits: the input of the
    natural-scene-statistics metrics (NIQE, PIQE, WNISM, RRED), whose official codes read an 8-bit
    file into a double matrix and whose constants assume that scale. One-channel inputs are rounded
    too (after a color conversion, which already rounds, it is a no-op). Not differentiable."""
    check_image(x, "x", data_range)
    image = quantize_to_bits(prepare(x.detach(), color, crop_border, data_range, quantize), data_range, quantize)
    height, width = image.shape[-2:]
    if min(height, width) < min_size:
        raise ValueError(
            f"{metric} needs images of at least {min_size}x{min_size} pixels after cropping, got {height}x{width}"
        )
    return image.to(torch.float64) * (255.0 / data_range)


def convention(color: str, crop_border: int, quantize: int | str | None, **extra: object) -> str:
    """A compact label that says which convention produced a value, e.g. ``gray/u8,crop=0``.

    ``quantize`` is a bit depth, or a label such as ``"8+u16"`` for a run over mixed files;
    it only shows for converted colors (``rgb`` is never rounded; ``n/a`` has no color option).
    """
    label = color if color in ("rgb", "n/a") or quantize is None else f"{color}/u{quantize}"
    parts = [label, f"crop={crop_border}"] + [f"{key}={value}" for key, value in extra.items()]
    return ",".join(parts)
