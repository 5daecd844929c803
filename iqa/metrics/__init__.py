"""Metric functions (pure, differentiable where the registry says so) and their registry."""
from .gmsd import gmsd
from .losses import GMSDLoss, MSSSIMLoss, PSNRLoss, SSIMLoss
from .niqe import niqe
from .piqe import piqe
from .psnr import psnr
from .registry import METRICS, MetricSpec, get_metric, list_metrics
from .rred import rred
from .ssim import ms_ssim, ssim
from .wnism import wnism

__all__ = [
    "METRICS", "MetricSpec", "get_metric", "list_metrics",
    "psnr", "ssim", "ms_ssim", "gmsd", "niqe", "piqe", "wnism", "rred",
    "PSNRLoss", "SSIMLoss", "MSSSIMLoss", "GMSDLoss",
]
