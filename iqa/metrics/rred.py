"""RRED: reduced-reference entropic differencing of Soundararajan & Bovik.

R. Soundararajan and A. C. Bovik, "RRED indices: reduced reference entropic
differencing for image quality assessment", IEEE Trans. Image Processing
21(2):517-526, 2012, doi:10.1109/TIP.2011.2166082.

Both sides decompose the 8-bit luminance with a 4-scale, 6-orientation spatial
steerable pyramid (MATLAB ``buildSpyr(im, 4, 'sp5Filters', 'reflect1')``, here
``pyrtools.SteerablePyramidSpace(order=5)``) and take one subband (the
authors' subband 16 by default: second scale, fourth orientation). The subband
is modeled as a Gaussian scale mixture over non-overlapping 3x3 blocks: with
``C_U`` the covariance of all 3x3 neighborhoods (negative eigenvalues zeroed,
trace kept) and ``u`` a block, the local variance is ``s^2 = u' C_U^-1 u / 9``
and the block's entropy in neural noise ``sigma_N^2 = 0.1`` is
``h = sum_k [log2(s^2 lambda_k + sigma_N^2) + log(2 pi e)]`` over the positive
eigenvalues of ``C_U``. The scaled entropy ``log2(1 + s^2) * h`` of each block
is the information compared (these formulas, including the natural-log
constant, are the authors' ``extract_red_info.m``).

RRED = sum |scaled entropies of reference - of distorted| / (number of
coefficients in the cropped subband). 0 is the best value.

Side information (the paper's RRED^M_16 family): the block entropies are summed
over windows before they are sent, which shrinks the side information from the
full subband down to one number:

* ``grid=G`` (the default, ``G = 8``): the block map is split into G x G regions
  of (nearly) equal size, so the side information is G*G float32 values
  whatever the image size: 64 numbers, 256 bytes. ``grid=1`` is the paper's
  single-number RRED^1_16.
* ``window=k``: non-overlapping k x k windows of blocks (the authors' commented
  ``filter2(ones(k), ., 'valid')`` then every k-th value); ``window=1`` is the
  full subband, the authors' released default (N/36 numbers for an N-pixel
  image: 7 kB for 512x512).

Checked against: the authors' MATLAB release (``extract_red_info.m``,
``compute_rred.m``), read, not run: no MATLAB here; the pyramid is pyrtools, the
Python port of the matlabPyrTools they call.
"""
from __future__ import annotations

import math

import numpy as np
from torch import Tensor

from ._color import convention
from ._rr import Features, rr_luminance, pyrtools, score_each, to_float32
from ._validate import reduce

_LEVELS, _ORIENTATIONS = 4, 6
_BLOCK = 3
_DEFAULT_GRID = 8
_MIN_SIZE = 32


def _subband_position(subband: int) -> tuple[int, int]:
    """(scale, orientation), 0-based, of the authors' subband number.

    Their ``ind2wtree`` lists the pyramid coarse to fine: 1 is the lowpass
    residual, 2-7 the coarsest scale's orientations in reverse, ..., 26 the
    highpass residual.
    """
    last = _LEVELS * _ORIENTATIONS + 1
    if not isinstance(subband, int) or not 2 <= subband <= last:
        raise ValueError(f"subband must be an oriented subband number in 2..{last}, got {subband!r}")
    position = last + 2 - subband  # 1-based row of buildSpyr's index: 1 highpass, 2.. fine to coarse
    return (position - 2) // _ORIENTATIONS, (position - 2) % _ORIENTATIONS


def _subband(luminance: np.ndarray, subband: int) -> np.ndarray:
    """One band of ``buildSpyr(im, 4, 'sp5Filters', 'reflect1')``, with pyrtools' filters and convolution.

    The path to one band (lowpass, downsample per scale, one band filter) is the
    steps ``pyrtools.pyramids.SteerablePyramidSpace`` takes, without the other
    bands: 8x faster, equal to it (tests).
    """
    tools = pyrtools()
    level, orientation = _subband_position(subband)
    filters = tools.steerable_filters(f"sp{_ORIENTATIONS - 1}_filters")
    lowpass = tools.corrDn(luminance, filters["lo0filt"], "reflect1")
    for _ in range(level):
        lowpass = tools.corrDn(lowpass, filters["lofilt"], "reflect1", step=(2, 2))
    size = math.isqrt(filters["bfilts"].shape[0])
    # The band filters are stored as MATLAB column-major vectors: reshape, then transpose.
    band_filter = filters["bfilts"][:, orientation].reshape(size, size).T
    return tools.corrDn(lowpass, band_filter, "reflect1")


def _scaled_entropies(band: np.ndarray, sigma_nsq: float) -> np.ndarray:
    """The scaled entropy ``log2(1 + s^2) h`` of each non-overlapping 3x3 block of ``band``."""
    rows, cols = (size // _BLOCK for size in band.shape)
    band = band[: rows * _BLOCK, : cols * _BLOCK]
    neighborhoods = np.lib.stride_tricks.sliding_window_view(band, (_BLOCK, _BLOCK)).reshape(-1, _BLOCK**2)
    covariance = np.cov(neighborhoods, rowvar=False, bias=True)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    # Zero the negative eigenvalues (rounding) and rescale so the total variance is unchanged.
    positive = np.clip(eigenvalues, 0, None)
    if positive.sum() > 0:
        positive *= eigenvalues.sum() / positive.sum()
    blocks = band.reshape(rows, _BLOCK, cols, _BLOCK).transpose(0, 2, 1, 3).reshape(rows, cols, _BLOCK**2)
    # u' C^-1 u through the eigenbasis; a pseudo-inverse where C is singular (flat images),
    # where the authors' inv() would give inf.
    projections = blocks @ eigenvectors
    inverse = np.divide(1.0, positive, out=np.zeros_like(positive), where=positive > 0)
    variance = (projections**2 @ inverse) / _BLOCK**2
    kept = positive[positive > 0]
    entropy = (np.log2(variance[..., None] * kept + sigma_nsq) + np.log(2 * np.pi * np.e)).sum(axis=-1)
    return np.log2(1 + variance) * entropy


def _window_sums(entropies: np.ndarray, window: int | None, grid: int | None) -> np.ndarray:
    rows, cols = entropies.shape
    if window is not None:
        if rows < window or cols < window:
            raise ValueError(f"window={window} is larger than the subband's {rows}x{cols} blocks; use a smaller window")
        trimmed = entropies[: rows // window * window, : cols // window * window]
        return trimmed.reshape(rows // window, window, cols // window, window).sum(axis=(1, 3))
    if rows < grid or cols < grid:
        raise ValueError(f"grid={grid} needs at least {grid}x{grid} blocks; the subband has {rows}x{cols}")
    row_edges = np.linspace(0, rows, grid + 1).round().astype(int)
    col_edges = np.linspace(0, cols, grid + 1).round().astype(int)
    row_sums = np.add.reduceat(entropies, row_edges[:-1], axis=0)
    return np.add.reduceat(row_sums, col_edges[:-1], axis=1)


def _information(luminance: np.ndarray, options: dict) -> tuple[np.ndarray, int]:
    """The pooled scaled entropies as float32 values, and the coefficient count they are divided by."""
    band = _subband(luminance, options["subband"])
    entropies = _scaled_entropies(band, options["sigma_nsq"])
    pooled = _window_sums(entropies, options["window"], options["grid"])
    return np.asarray(to_float32(pooled)).reshape(pooled.shape), entropies.size * _BLOCK**2


def rred_options(
    *, color: str = "gray", crop_border: int = 0, quantize: int | None = 8, subband: int = 16,
    sigma_nsq: float = 0.1, window: int | None = None, grid: int | None = None,
) -> dict:
    """The checked options as the features record them, pooling resolved (see ``rred_features``)."""
    if window is not None and grid is not None:
        raise ValueError(f"pass window or grid, not both; got window={window!r}, grid={grid!r}")
    for name, value in (("window", window), ("grid", grid)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if window is None and grid is None:
        grid = _DEFAULT_GRID
    _subband_position(subband)
    if not isinstance(sigma_nsq, (int, float)) or not sigma_nsq > 0:
        raise ValueError(f"sigma_nsq must be a positive number, got {sigma_nsq!r}")
    return {"color": color, "crop_border": crop_border, "quantize": quantize, "subband": subband,
            "sigma_nsq": float(sigma_nsq), "window": window, "grid": grid}


def rred_features(
    ref: Tensor,
    *,
    data_range: float = 1.0,
    color: str = "gray",
    crop_border: int = 0,
    quantize: int | None = 8,
    subband: int = 16,
    sigma_nsq: float = 0.1,
    window: int | None = None,
    grid: int | None = None,
) -> list[Features]:
    """RRED side information of each reference image in ``ref`` ``(N, C, H, W)`` in ``[0, data_range]``.

    ``color``/``crop_border``/``quantize``: the luminance convention (default:
    MATLAB ``rgb2gray`` of the 8-bit image). ``subband``: the authors'
    numbering (16: second scale, fourth orientation). Pool with ``grid=G``
    (G*G numbers; ``grid=8`` when neither is given) or ``window=k``
    (``window=1``: the full subband); see the module docstring. Values are
    sent as float32: ``nbytes() = 4 * count``.
    """
    options = rred_options(color=color, crop_border=crop_border, quantize=quantize, subband=subband,
                           sigma_nsq=sigma_nsq, window=window, grid=grid)
    window, grid = options["window"], options["grid"]
    pooling = f"window={window}" if window is not None else f"grid={grid}"
    records = []
    for luminance in rr_luminance(ref, metric='rred', data_range=data_range, color=color, crop_border=crop_border,
                                   quantize=quantize, min_size=_MIN_SIZE):
        pooled, _ = _information(luminance, options)
        records.append(Features(
            metric="rred", options=options,
            convention=convention(color, crop_border, quantize, subband=subband, pooling=pooling),
            image_size=tuple(ref.shape[-2:]), payload={"shape": list(pooled.shape), "entropy": pooled.ravel().tolist()},
            payload_bits=32 * pooled.size,
        ))
    return records


def _distortion(record: Features, luminance: np.ndarray) -> float:
    pooled, coefficients = _information(luminance, record.options)
    sent = np.asarray(record.payload["entropy"], dtype=np.float64).reshape(record.payload["shape"])
    if sent.shape != pooled.shape:
        raise ValueError(f"the features hold {sent.shape} values but the distorted image gives {pooled.shape}")
    return float(np.abs(sent - pooled).sum() / coefficients)


def rred(
    features: Features | list[Features],
    x: Tensor,
    *,
    data_range: float = 1.0,
    reduction: str = "mean",
) -> Tensor:
    """RRED of the distorted images ``x`` ``(N, C, H, W)`` in ``[0, data_range]`` given the reference features.

    ``features``: one ``Features`` per image (from ``iqa.rr.extract(ref, "rred")``);
    the convention, subband and pooling come from them. Returns ``(N,)`` float64
    with ``reduction="none"``; 0 is the best value. Not differentiable.

    Example:
        >>> import iqa.rr
        >>> from iqa.data import sample_images
        >>> ref = sample_images("valid")["astronaut"][..., :128, :128]
        >>> features = iqa.rr.extract(ref, "rred")
        >>> features.nbytes(), float(rred(features, ref))
        (256, 0.0)
    """
    return reduce(score_each(features, x, "rred", data_range, _MIN_SIZE, _distortion), reduction)

