"""iqa: image-quality assessment for generative models.

The metrics are pure PyTorch functions on ``(N, C, H, W)`` tensors in
``[0, data_range]`` (default 1.0) whose defaults reproduce each metric's
official implementation; ``iqa.list_metrics()`` lists them with their
conventions.
"""
from .metrics import (
    GMSDLoss,
    LPIPSLoss,
    MSSSIMLoss,
    PSNRLoss,
    SSIMLoss,
    fid,
    frechet_distance,
    get_metric,
    gmsd,
    inception_features,
    kid,
    list_metrics,
    lpips,
    ms_ssim,
    niqe,
    piqe,
    psnr,
    rred,
    ssim,
    wnism,
)
from . import rr
from .resize import imresize

__version__ = "0.1.0"

__all__ = [
    "__version__", "list_metrics", "get_metric",
    "psnr", "ssim", "ms_ssim", "gmsd", "lpips", "niqe", "piqe", "wnism", "rred", "imresize", "rr",
    "fid", "kid", "frechet_distance", "inception_features",
    "PSNRLoss", "SSIMLoss", "MSSSIMLoss", "GMSDLoss", "LPIPSLoss",
]
