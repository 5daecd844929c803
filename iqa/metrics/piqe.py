"""PIQE, the perception-based image quality evaluator, as MATLAB's ``piqe``.

N. Venkatanath, D. Praneeth, M. C. Bh, S. S. Channappayya, S. S. Medasani,
"Blind image quality evaluation using perception based features", National
Conference on Communications (NCC) 2015, doi:10.1109/NCC.2015.7084843.
Reference implementation: ``piqe.m`` of MATLAB's Image Processing Toolbox
(R2018b+), which this module follows step by step:

1. Pad the image at its bottom/right by replication to whole 16x16 blocks;
   MATLAB ``rgb2gray``; ``round(255 * im2double(I))``.
2. MSCN coefficients with the 7x7 Gaussian (sigma 7/6, 'replicate').
3. Per block: variance (``var``, normalized by n-1). A block is active when
   its variance exceeds 0.1. An active block is *impaired* (noticeable
   artifact) when any 6-pixel segment along one of its four edges has a
   standard deviation below 0.1, and *noisy* when its deviation ``s`` exceeds
   twice ``|s - r| / max(s, r)``, ``r`` the center/surround deviation ratio.
   The center is the block's columns 8 and 9 (1-based); the surround is what
   remains after ``piqe.m`` deletes column 8 and then column 9 of the already
   shortened block, i.e. original columns 8 and 10 are left out (reproduced).
4. ``score = (sum over active blocks of impaired * (1 - var) + noisy * var + 1)
   / (active blocks + 1) * 100``, in [0, 100], lower is better.

Checked against pyiqa's ``piqe`` (a port of ``piqe.m``) in tests/test_piqe.py,
equal to 1e-12 where pyiqa follows ``piqe.m``: it rescales by the image
maximum (``round(255 * I / max(I))``) and pads by the size remainder rather
than to whole blocks, so the tests use white-peaked images with sides that are
multiples of 16, and check the padding against ``numpy.pad(mode="edge")``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ._nss import nss_luminance, mscn, split_blocks
from ._validate import reduce

BLOCK_SIZE = 16
ACTIVITY_THRESHOLD = 0.1
IMPAIRED_THRESHOLD = 0.1
SEGMENT_LENGTH = 6
_CENTER_COLUMNS = [7, 8]  # 0-based: piqe.m's Block(:, 8) and Block(:, 9)
_SURROUND_COLUMNS = [c for c in range(BLOCK_SIZE) if c not in (7, 9)]  # see the module docstring


def piqe(
    x: Tensor,
    *,
    data_range: float = 1.0,
    color: str = "gray",
    crop_border: int = 0,
    quantize: int | None = 8,
    reduction: str = "mean",
) -> Tensor:
    """PIQE of ``(N, C, H, W)`` images in ``[0, data_range]``: 0 (best) to 100 (worst).

    Args:
        color: ``"gray"`` (MATLAB ``rgb2gray``, the official input), ``"y"``
            (BT.601 luma) or ``"rgb"`` (each channel scored, then the mean).
        crop_border: pixels removed from each side before scoring.
        quantize: the luminance is rounded to this bit depth's grid, as
            ``piqe.m``'s ``round(255 * im2double(I))`` (``None``: no rounding).
        reduction: ``"mean"`` over the batch or ``"none"`` for a ``(N,)`` tensor.

    Computed in float64 for every block of every image at once; the result
    has ``x``'s dtype. Not differentiable (thresholds). A uniform image scores
    100, as in MATLAB.

    Example:
        >>> import torch, iqa
        >>> float(iqa.piqe(torch.full((1, 1, 32, 32), 0.5)))
        100.0
    """
    luminance = nss_luminance(x, data_range, color, crop_border, quantize, min_size=1, metric="PIQE")
    scores = piqe_scores(luminance)
    return reduce(scores.view(x.shape[0], -1).mean(dim=1).to(x.dtype), reduction)


def piqe_scores(luminance: Tensor) -> Tensor:
    """PIQE of ``(M, H, W)`` float64 luminance on the 0-255 scale -> ``(M,)``."""
    height, width = luminance.shape[-2:]
    pad_rows, pad_cols = -height % BLOCK_SIZE, -width % BLOCK_SIZE
    padded = F.pad(luminance.unsqueeze(1), (0, pad_cols, 0, pad_rows), mode="replicate").squeeze(1)
    blocks = split_blocks(mscn(padded)[0], BLOCK_SIZE)
    variance = blocks.var(dim=(-2, -1))
    active = variance > ACTIVITY_THRESHOLD
    distortion = torch.where(_impaired(blocks), 1 - variance, 0) + torch.where(_noisy(blocks, variance), variance, 0)
    total = torch.where(active, distortion, 0).sum(dim=1)
    return (total + 1) / (active.sum(dim=1) + 1) * 100


def _impaired(blocks: Tensor) -> Tensor:
    """Noticeable-distortion criterion: some edge segment is nearly constant."""
    edges = torch.stack([blocks[..., 0, :], blocks[..., :, -1], blocks[..., -1, :], blocks[..., :, 0]], dim=-2)
    segments = edges.unfold(-1, SEGMENT_LENGTH, 1)  # (M, B, 4 edges, 11 segments, 6)
    return (segments.std(dim=-1) < IMPAIRED_THRESHOLD).flatten(-2).any(dim=-1)


def _noisy(blocks: Tensor, variance: Tensor) -> Tensor:
    """Noise criterion: the block deviation against its center/surround deviation ratio."""
    sigma = variance.sqrt()
    center = blocks[..., _CENTER_COLUMNS].flatten(-2).std(dim=-1)
    surround = blocks[..., _SURROUND_COLUMNS].flatten(-2).std(dim=-1)
    ratio = torch.nan_to_num(center / surround, nan=0.0, posinf=torch.inf)
    beta = (sigma - ratio).abs() / torch.maximum(sigma, ratio)
    return sigma > 2 * beta
