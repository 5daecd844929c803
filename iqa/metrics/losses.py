"""Loss wrappers: each stores its options and calls the metric function, the one source of truth."""
from __future__ import annotations

import inspect
from typing import Callable

from torch import Tensor, nn

from .gmsd import gmsd
from .lpips import lpips
from .psnr import psnr
from .ssim import ms_ssim, ssim


class _MetricLoss(nn.Module):
    metric: Callable

    def __init__(self, **options):
        super().__init__()
        # Fail now on a misspelt option rather than at the first forward pass.
        inspect.signature(type(self).metric).bind(None, None, **options)
        self.options = options

    def score(self, x: Tensor, y: Tensor) -> Tensor:
        return type(self).metric(x, y, **self.options)


class SSIMLoss(_MetricLoss):
    """``1 - ssim``. ``quantize=None`` trains on unrounded luminance."""

    metric = ssim

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return 1 - self.score(x, y)


class MSSSIMLoss(_MetricLoss):
    """``1 - ms_ssim``."""

    metric = ms_ssim

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return 1 - self.score(x, y)


class GMSDLoss(_MetricLoss):
    """``gmsd`` itself (0 is best)."""

    metric = gmsd

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.score(x, y)


class PSNRLoss(_MetricLoss):
    """``-psnr``."""

    metric = psnr

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return -self.score(x, y)


class LPIPSLoss(_MetricLoss):
    """``lpips`` itself (0 is best), on ``[0, 1]`` images; the perceptual loss of SR training."""

    metric = lpips

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.score(x, y)
