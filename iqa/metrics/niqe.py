"""NIQE, the "completely blind" natural image quality evaluator, as the official LIVE release.

A. Mittal, R. Soundararajan, A. C. Bovik, "Making a 'completely blind' image
quality analyzer", IEEE Signal Processing Letters 20(3), 2013,
doi:10.1109/LSP.2012.2227726. Official code: ``niqe_release.zip``
(``computequality.m``, ``computefeature.m``, ``estimateaggdparam.m``,
``estimatemodelparam.m``) with the pristine model ``modelparameters.mat``,
shipped here as ``iqa/data/niqe_pris_params.npz``.

What ``computequality.m`` does, and this module reproduces:

1. MATLAB ``rgb2gray`` of the 8-bit image (so rounded luminance), as double on
   the 0-255 scale; the image is cropped at its bottom/right to whole 96x96
   blocks (the remainder is ignored).
2. At each of two scales: MSCN coefficients with the 7x7 Gaussian window
   (sigma 7/6, 'replicate' padding); per block (96x96, then 48x48) an AGGD fit
   of the coefficients (2 features) and of their products with the
   neighbours along 4 orientations (4 features each), the neighbour found by
   ``circshift`` inside the block (so it wraps around at the block edge).
   The second scale is ``imresize(im, 0.5)`` (bicubic, antialiased) of the
   unrounded first-scale image.
3. A multivariate Gaussian of the 36 block features (``nanmean``, and
   ``nancov`` over the blocks without NaN), and the distance
   ``sqrt(d' * pinv((cov_pris + cov_dist) / 2) * d)`` to the pristine model.

One deliberate detail: MSCN coefficients of pixels that equal their local mean
exactly are exactly 0 here (see ``_nss.mscn``); other implementations keep a
+-1e-13 rounding residue whose random sign the AGGD fit counts, which moves
NIQE by up to ~2% on photographs with large flat areas.

Checked in tests/test_niqe.py against pyiqa's ``niqe`` (a port of BasicSR's,
itself checked against the MATLAB release: MATLAB R2021a gives 5.72957338 on
BasicSR's ``tests/data/baboon.png``, Y channel), to 2e-6 relative once pyiqa's
float32 Gaussian window is made float64; the MSCN filtering against
``scipy.ndimage.correlate``; the shape search against MATLAB's brute-force
``min``. Published MATLAB values on TID2013 images (pyiqa's ResultsCalibra:
I03 15.7536, I04 3.6549, I06 3.2355, I08 3.1840, I19 8.6352) could not be
checked offline: the images are not available here.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping

import torch
from torch import Tensor

from ..resize import imresize
from ._filters import gaussian_taps
from ._nss import MSCN_SIGMA, MSCN_WINDOW, fit_aggd, nss_luminance, mscn, split_blocks
from ._validate import reduce

BLOCK_SIZE = 96
FEATURES_PER_SCALE = 18
SHARPNESS_THRESHOLD = 0.75  # estimatemodelparam.m's sh_th in the paper's model
PARAM_KEYS = ("mu_pris_param", "cov_pris_param")
# circshift offsets of computefeature.m: horizontal, vertical, main and anti-diagonal neighbours.
_NEIGHBOUR_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
# Values processed at once by the per-block statistics and by the resize: small enough that
# temporaries stay in cache and below the allocator's mmap threshold (fresh mmapped buffers
# cost a page fault per 4 KiB, which tripled the time of the feature step).
_BLOCK_CHUNK_VALUES = 1 << 17
_RESIZE_CHUNK_VALUES = 1 << 19


def niqe(
    x: Tensor,
    *,
    data_range: float = 1.0,
    color: str = "gray",
    crop_border: int = 0,
    quantize: int | None = 8,
    params: str | os.PathLike | Mapping | None = None,
    reduction: str = "mean",
) -> Tensor:
    """NIQE of ``(N, C, H, W)`` images in ``[0, data_range]``; lower is better.

    Args:
        x: images of at least 96x96 pixels after ``crop_border``.
        color: ``"gray"`` (MATLAB ``rgb2gray``, the official input), ``"y"``
            (BT.601 luma, the SR-paper convention of BasicSR/pyiqa) or
            ``"rgb"`` (each channel scored, then the mean).
        crop_border: pixels removed from each side before scoring.
        quantize: round the luminance to this bit depth's grid as the official
            code sees an 8-bit image (``None``: keep full precision).
        params: the pristine model: ``None`` for the published one, or a path
            to an ``.npz`` (as written by ``iqa niqe-fit``) or a mapping with
            ``mu_pris_param`` (36,) and ``cov_pris_param`` (36, 36).
        reduction: ``"mean"`` over the batch or ``"none"`` for a ``(N,)`` tensor.

    The computation runs in float64 (as MATLAB does) with every block of every
    image at once; the result has ``x``'s dtype. Not differentiable (the AGGD
    shape is a grid search). An image with no block free of NaN features (a
    constant image) gives NaN, as the official code does.

    Example (a sharp photograph scores low, white noise high):
        >>> import torch, iqa
        >>> from iqa.data import sample_images
        >>> photo = sample_images("valid")["astronaut"]  # (1, 3, 512, 512)
        >>> round(float(iqa.niqe(photo)), 2)
        3.07
        >>> noise = torch.rand(1, 3, 128, 160, generator=torch.Generator().manual_seed(0))
        >>> round(float(iqa.niqe(noise)), 1)
        48.2
    """
    mu_pris, cov_pris = load_niqe_params(params, x.device)
    luminance = nss_luminance(x, data_range, color, crop_border, quantize, min_size=BLOCK_SIZE, metric="NIQE")
    features, _ = niqe_features(luminance)
    scores = mvg_distance(features, mu_pris, cov_pris)
    per_image = scores.view(x.shape[0], -1).mean(dim=1)
    return reduce(per_image.to(x.dtype), reduction)


def niqe_features(luminance: Tensor, block_size: int = BLOCK_SIZE) -> tuple[Tensor, Tensor]:
    """The 36 NIQE features and the sharpness of every block.

    Args:
        luminance: ``(M, H, W)`` float64 images on the 0-255 scale, at least
            ``block_size`` pixels each way.

    Returns:
        ``(M, B, 36)`` features (18 per scale) and ``(M, B)`` block sharpness
        (mean local deviation at the first scale, ``computemean.m``), ``B`` the
        number of whole blocks.
    """
    rows = luminance.shape[-2] // block_size * block_size
    cols = luminance.shape[-1] // block_size * block_size
    image = luminance[..., :rows, :cols]
    coefficients, sigma = mscn(image)
    sharpness = split_blocks(sigma, block_size).mean(dim=(-2, -1))
    fine = _block_features(split_blocks(coefficients, block_size))
    images_per_chunk = max(1, _RESIZE_CHUNK_VALUES // (rows * cols))
    half = torch.cat([imresize(part, 0.5) for part in image.split(images_per_chunk)])
    coarse = _block_features(split_blocks(mscn(half)[0], block_size // 2))
    return torch.cat([fine, coarse], dim=-1), sharpness


def _block_features(blocks: Tensor) -> Tensor:
    """``computefeature.m`` for ``(M, B, s, s)`` MSCN blocks -> ``(M, B, 18)``."""
    count, per_image, size, _ = blocks.shape
    flat = blocks.reshape(count * per_image, size, size)
    chunk = max(1, _BLOCK_CHUNK_VALUES // (size * size))
    features = [_chunk_features(part) for part in flat.split(chunk)]
    return torch.cat(features).view(count, per_image, FEATURES_PER_SCALE)


def _chunk_features(blocks: Tensor) -> Tensor:
    alpha, beta_left, beta_right = fit_aggd(blocks.flatten(1))
    columns = [alpha, (beta_left + beta_right) / 2]
    for shift in _NEIGHBOUR_SHIFTS:
        pairs = blocks * torch.roll(blocks, shift, dims=(-2, -1))
        alpha, beta_left, beta_right = fit_aggd(pairs.flatten(1))
        mean = (beta_right - beta_left) * torch.exp(torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha))
        columns += [alpha, mean, beta_left, beta_right]
    return torch.stack(columns, dim=-1)


def nan_mean_cov(features: Tensor) -> tuple[Tensor, Tensor]:
    """MATLAB ``nanmean`` and ``nancov`` over the blocks of ``(M, B, F)`` features.

    The mean skips NaN entries column by column; the covariance uses only the
    blocks without any NaN, normalized by ``n - 1`` (by 1 for a single block,
    as MATLAB's ``cov``).
    """
    valid = ~features.isnan()
    filled = torch.where(valid, features, torch.zeros_like(features))
    mean = filled.sum(dim=1) / valid.sum(dim=1)
    complete = valid.all(dim=-1, keepdim=True)
    count = complete.sum(dim=1, keepdim=True)
    complete_mean = torch.where(complete, filled, torch.zeros_like(filled)).sum(dim=1, keepdim=True) / count
    centered = torch.where(complete, filled - complete_mean, torch.zeros_like(filled))
    cov = centered.transpose(1, 2) @ centered / (count - 1).clamp(min=1)
    return mean, cov


def mvg_distance(features: Tensor, mu_pris: Tensor, cov_pris: Tensor) -> Tensor:
    """NIQE of each image from its ``(M, B, 36)`` block features (Eq. 10 of the paper) -> ``(M,)``."""
    mu_dist, cov_dist = nan_mean_cov(features)
    inverse = torch.linalg.pinv((cov_pris + cov_dist) / 2)
    difference = (mu_pris - mu_dist).unsqueeze(-1)
    return torch.sqrt((difference.transpose(1, 2) @ inverse @ difference).flatten())


def fit_niqe_params(
    images: Iterable[Tensor],
    *,
    data_range: float = 1.0,
    color: str = "gray",
    crop_border: int = 0,
    quantize: int | None = 8,
    sharpness_threshold: float = SHARPNESS_THRESHOLD,
) -> dict:
    """Fit a pristine NIQE model to images of undistorted content, as ``estimatemodelparam.m``.

    Every image is split into 96x96 blocks; a block is kept when its sharpness
    (mean local deviation) exceeds ``sharpness_threshold`` times the sharpest
    block of its image (0.75 in the paper). The mean and covariance of the
    kept blocks' 36 features form the model.

    Args:
        images: ``(N, C, H, W)`` tensors (sizes may differ between tensors) in
            ``[0, data_range]``, at least 96x96 after cropping.

    Returns:
        ``{"mu_pris_param": (1, 36), "cov_pris_param": (36, 36), "gaussian_window": (7, 7),
        "block_count": (), "image_count": ()}`` float64 numpy arrays: the keys of
        the published model plus the counts. ``save_niqe_params`` writes it and
        ``niqe(..., params=...)`` uses it.
    """
    selected, image_count = [], 0
    for x in images:
        selected.append(
            sharp_block_features(
                x, data_range=data_range, color=color, crop_border=crop_border, quantize=quantize,
                sharpness_threshold=sharpness_threshold,
            )
        )
        image_count += x.shape[0]
    return niqe_model(selected, image_count)


def sharp_block_features(
    x: Tensor,
    *,
    data_range: float = 1.0,
    color: str = "gray",
    crop_border: int = 0,
    quantize: int | None = 8,
    sharpness_threshold: float = SHARPNESS_THRESHOLD,
) -> Tensor:
    """The ``(K, 36)`` features of the blocks of ``x`` that ``fit_niqe_params`` keeps."""
    if not 0 <= sharpness_threshold <= 1:
        raise ValueError(f"sharpness_threshold must be in [0, 1], got {sharpness_threshold!r}")
    luminance = nss_luminance(x, data_range, color, crop_border, quantize, min_size=BLOCK_SIZE, metric="NIQE")
    features, sharpness = niqe_features(luminance)
    keep = sharpness > sharpness_threshold * sharpness.amax(dim=1, keepdim=True)
    return features[keep]


def niqe_model(block_features: list[Tensor], image_count: int) -> dict:
    """The model ``fit_niqe_params`` returns, from the kept blocks' features of every image."""
    rows = torch.cat(block_features) if block_features else torch.empty(0, 2 * FEATURES_PER_SCALE)
    complete = int((~rows.isnan().any(dim=1)).sum())
    if complete < 2:
        raise ValueError(
            f"a NIQE model needs at least 2 sharp 96x96 blocks without NaN features; {image_count} image(s) "
            f"gave {complete} (give more or larger pristine images)"
        )
    mean, cov = nan_mean_cov(rows.unsqueeze(0))
    return {
        "mu_pris_param": mean.cpu().numpy().reshape(1, -1),
        "cov_pris_param": cov[0].cpu().numpy(),
        "gaussian_window": _gaussian_window(),
        "block_count": torch.tensor(float(complete)).numpy(),
        "image_count": torch.tensor(float(image_count)).numpy(),
    }


def save_niqe_params(path: str | os.PathLike, params: Mapping) -> None:
    """Write a NIQE model (the mapping ``fit_niqe_params`` returns) to an ``.npz`` file."""
    import numpy as np

    from ..io.atomic import atomic_write

    arrays = {key: np.asarray(value, dtype=np.float64) for key, value in params.items()}

    def write(temporary) -> None:
        with open(temporary, "wb") as handle:  # np.savez on a handle does not append ".npz" to the name
            np.savez(handle, **arrays)

    atomic_write(path, write)


def load_niqe_params(
    params: str | os.PathLike | Mapping | None = None, device: torch.device | str = "cpu"
) -> tuple[Tensor, Tensor]:
    """``(mu (36,), cov (36, 36))`` float64 tensors on ``device`` of the published or a given model."""
    if params is None:
        mean, cov = _published_params()
    elif isinstance(params, (str, os.PathLike)):
        mean, cov = _read_params_file(os.fspath(params))
    elif isinstance(params, Mapping):
        mean, cov = _params_from_mapping(params, "params")
    else:
        raise TypeError(f"params must be None, a path to an .npz file or a mapping, got {type(params).__name__}")
    return mean.to(device), cov.to(device)


@functools.lru_cache(maxsize=1)
def _published_params() -> tuple[Tensor, Tensor]:
    from importlib.resources import files

    return _read_params_file(str(files("iqa.data").joinpath("niqe_pris_params.npz")))


def _read_params_file(path: str) -> tuple[Tensor, Tensor]:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:
            return _params_from_mapping({key: archive[key] for key in archive.files}, path)
    except FileNotFoundError:
        raise FileNotFoundError(f"NIQE parameter file not found: {path}") from None
    except (OSError, ValueError):  # numpy's message for a non-npz file talks about pickles; ours says what to give
        raise ValueError(
            f"{path} is not a NIQE model: give an .npz with mu_pris_param and cov_pris_param, as `iqa niqe-fit` writes"
        ) from None


def _params_from_mapping(params: Mapping, source: str) -> tuple[Tensor, Tensor]:
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise ValueError(f"{source} lacks {', '.join(missing)} (has: {', '.join(sorted(map(str, params)))})")
    mean = torch.as_tensor(params["mu_pris_param"], dtype=torch.float64)
    cov = torch.as_tensor(params["cov_pris_param"], dtype=torch.float64)
    features = 2 * FEATURES_PER_SCALE
    if mean.numel() != features or cov.shape != (features, features):
        raise ValueError(
            f"{source}: mu_pris_param must have {features} values and cov_pris_param shape "
            f"({features}, {features}), got {tuple(mean.shape)} and {tuple(cov.shape)}"
        )
    mean = mean.flatten()
    if not (mean.isfinite().all() and cov.isfinite().all()):
        raise ValueError(f"{source}: the NIQE model contains NaN or inf")
    return mean, cov


def _gaussian_window():
    taps = torch.tensor(gaussian_taps(MSCN_WINDOW, MSCN_SIGMA), dtype=torch.float64)
    return torch.outer(taps, taps).numpy()
