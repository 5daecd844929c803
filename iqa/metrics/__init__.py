"""Metric functions (pure, differentiable where the registry says so) and their registry."""
from .fid import fid, frechet_distance, inception_features, kid
from .gmsd import gmsd
from .losses import GMSDLoss, LPIPSLoss, MSSSIMLoss, PSNRLoss, SSIMLoss
from .lpips import lpips
from .niqe import niqe
from .piqe import piqe
from .psnr import psnr
from .registry import METRICS, MetricSpec, get_metric, list_metrics
from .rred import rred
from .ssim import ms_ssim, ssim
from .wnism import wnism

__all__ = [
    "METRICS", "MetricSpec", "get_metric", "list_metrics",
    "psnr", "ssim", "ms_ssim", "gmsd", "lpips", "niqe", "piqe", "wnism", "rred",
    "fid", "kid", "frechet_distance", "inception_features",
    "PSNRLoss", "SSIMLoss", "MSSSIMLoss", "GMSDLoss", "LPIPSLoss",
]
