"""The one input checker shared by every metric.

Each check reads a tensor at most once (one ``aminmax`` per tensor covers NaN,
inf and the value range), because on large batches validation passes cost as
much as a cheap metric such as PSNR.
"""
from __future__ import annotations

import torch
from torch import Tensor

# Interpolating models overshoot by rounding error; anything beyond this is a
# real range error (for example [-1, 1] inputs passed as [0, 1]).
_RANGE_TOLERANCE = 1e-5


def check_image(
    x: Tensor, name: str = "x", data_range: float = 1.0, min_size: int = 1, *, values: bool = True
) -> None:
    """Raise a clear error unless ``x`` is a finite float ``(N, C, H, W)`` tensor in ``[0, data_range]``.

    ``values=False`` checks everything but the values, for a caller that runs
    :func:`check_values` per image while the image is in cache.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor in [0, data_range], got dtype {x.dtype}; "
            f"convert 8-bit images with x.float() / 255"
        )
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty, got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if min(height, width) < min_size:
        raise ValueError(
            f"{name} is {height}x{width} pixels (H x W); this metric needs at least "
            f"{min_size}x{min_size} after cropping"
        )
    if not isinstance(data_range, (int, float)) or not data_range > 0:
        raise ValueError(f"data_range must be a positive number, got {data_range!r}")
    if values:
        check_values(x, name, data_range)


def check_values(x: Tensor, name: str, data_range: float) -> None:
    """NaN, inf and the range ``[0, data_range]`` in one read of ``x``."""
    low, high = (float(v) for v in torch.aminmax(x.detach()))
    if low != low or high != high:  # NaN compares unequal to itself
        raise ValueError(f"{name} contains NaN")
    if low in (float("inf"), float("-inf")) or high in (float("inf"), float("-inf")):
        raise ValueError(f"{name} contains inf")
    slack = _RANGE_TOLERANCE * data_range
    if low < -slack or high > data_range + slack:
        raise ValueError(
            f"{name} has values in [{low:.4g}, {high:.4g}], outside [0, data_range={data_range:g}]; "
            f"rescale the input (a [-1, 1] image becomes [0, 1] with (x + 1) / 2) or pass data_range"
        )


def check_pair(x: Tensor, y: Tensor, data_range: float = 1.0, min_size: int = 1, *, values: bool = True) -> None:
    """Check two images that a full-reference metric compares."""
    check_image(x, "x", data_range, min_size, values=values)
    check_image(y, "y", data_range, min_size, values=values)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.dtype != y.dtype or x.device != y.device:
        raise TypeError(
            f"x and y must share dtype and device, got {x.dtype} on {x.device} and {y.dtype} on {y.device}"
        )


def check_choice(name: str, value: object, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def reduce(values: Tensor, reduction: str) -> Tensor:
    """Apply ``reduction`` ('mean' or 'none') to per-image values of shape (N,)."""
    if reduction == "mean":
        return values.mean()
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
