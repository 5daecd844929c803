"""Layers shared by the SR architectures."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1)


class PixelShuffleUpsampler(nn.Sequential):
    """Sub-pixel convolution (Shi et al. 2016, doi:10.1109/CVPR.2016.207) straight to RGB.

    One LR-resolution convolution predicts all ``scale**2`` sub-pixel phases of
    each output channel; every convolution thus runs at LR resolution, which is
    what keeps these models trainable on two CPU cores.
    """

    def __init__(self, channels: int, scale: int, out_channels: int = 3):
        super().__init__(nn.Conv2d(channels, out_channels * scale * scale, 3, padding=1), nn.PixelShuffle(scale))


def upsampled_input(lr: Tensor, scale: int) -> Tensor:
    """The cheap interpolated image the networks add their output to, so they learn only the residual detail."""
    return F.interpolate(lr, scale_factor=scale, mode="bilinear", align_corners=False)
